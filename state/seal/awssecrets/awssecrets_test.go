package awssecrets_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/mcplambda/mcplambda/state/seal"
	"github.com/mcplambda/mcplambda/state/seal/awssecrets"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// secretsManager is an httptest server speaking the part of the Secrets
// Manager JSON protocol (awsJson1_1) that GetSecretValue uses, so the
// real SDK client is tested end to end; the real service cannot run here.
type secretsManager struct {
	mu       sync.Mutex
	versions []smVersion // oldest first; the last is AWSCURRENT, the one before AWSPREVIOUS
	calls    int
}

type smVersion struct {
	id      string
	secret  string
	binary  []byte
	created time.Time
}

func (sm *secretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	sm.calls++
	fail := func(typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail("InvalidRequestException", "unexpected request")
		return
	}
	var in struct{ SecretId, VersionStage string }
	json.NewDecoder(r.Body).Decode(&in)
	if in.SecretId != "mcp/seal" {
		fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	i := len(sm.versions) - 1
	if in.VersionStage == "AWSPREVIOUS" {
		i--
	}
	if i < 0 {
		fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: "+in.VersionStage)
		return
	}
	v := sm.versions[i]
	out := map[string]any{
		"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:mcp/seal-AbCdEf", "Name": "mcp/seal",
		"VersionId": v.id, "VersionStages": []string{in.VersionStage},
		"CreatedDate": float64(v.created.Unix()),
	}
	if v.binary != nil {
		out["SecretBinary"] = base64.StdEncoding.EncodeToString(v.binary)
	} else {
		out["SecretString"] = v.secret
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func client(url string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String(url),
	}, func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
}

func b64(fill string) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(fill, 32)))
}

func TestRotation(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	sm := &secretsManager{versions: []smVersion{{id: "11111111-aaaa-bbbb-cccc-000000000001", secret: b64("a"), created: start}}}
	srv := httptest.NewServer(sm)
	defer srv.Close()
	now := start
	sealer := seal.New(awssecrets.Keys(client(srv.URL), "mcp/seal"), &seal.Options{
		TTL: time.Hour, Grace: 10 * time.Minute, KeyCacheTime: time.Minute, Now: func() time.Time { return now },
	})
	ctx := context.Background()
	req := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "t"}}
	old, err := sealer.Seal(ctx, req, []byte("old"))
	if err != nil {
		t.Fatal(err)
	}

	// Rotate (as binary this time); the sealer notices after KeyCacheTime.
	now = now.Add(2 * time.Minute)
	sm.mu.Lock()
	sm.versions = append(sm.versions, smVersion{id: "22222222-aaaa-bbbb-cccc-000000000002", binary: []byte(strings.Repeat("b", 32)), created: now})
	sm.mu.Unlock()
	fresh, err := sealer.Seal(ctx, req, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sealer.Open(ctx, req, old); err != nil || string(got) != "old" {
		t.Errorf("Open(state sealed before rotation) within grace = %q, %v", got, err)
	}
	if got, err := sealer.Open(ctx, req, fresh); err != nil || string(got) != "new" {
		t.Errorf("Open(state sealed after rotation) = %q, %v", got, err)
	}
	// A sealer that only ever saw the new key opens the new state too:
	// the current key is the same on every instance.
	other := seal.New(awssecrets.Keys(client(srv.URL), "mcp/seal"), &seal.Options{Now: func() time.Time { return now }})
	if _, err := other.Open(ctx, req, fresh); err != nil {
		t.Errorf("Open on another instance: %v", err)
	}

	now = now.Add(11 * time.Minute) // past the grace period
	if _, err := sealer.Open(ctx, req, old); !errors.Is(err, seal.ErrRejected) {
		t.Errorf("Open(old state) after the grace period: %v, want ErrRejected", err)
	}
	if _, err := sealer.Open(ctx, req, fresh); err != nil {
		t.Errorf("Open(new state) after the grace period: %v", err)
	}
}

func TestErrors(t *testing.T) {
	sm := &secretsManager{}
	srv := httptest.NewServer(sm)
	defer srv.Close()
	ctx := context.Background()

	_, err := awssecrets.Keys(client(srv.URL), "no/such/secret")(ctx)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), `"no/such/secret"`) {
		t.Errorf("missing secret: %v, want ResourceNotFoundException naming the secret", err)
	}
	sm.versions = []smVersion{{id: "v1", secret: "c2hvcnQ="}}
	if _, err := awssecrets.Keys(client(srv.URL), "mcp/seal")(ctx); err == nil || !strings.Contains(err.Error(), "want 32") {
		t.Errorf("short secret: %v, want a size error", err)
	}
	sm.versions = []smVersion{{id: "v1", secret: b64("a")}}
	ring, err := awssecrets.Keys(client(srv.URL), "mcp/seal")(ctx)
	if err != nil || len(ring.Previous) != 0 || ring.Current.ID != "v1" {
		t.Errorf("secret without AWSPREVIOUS = %+v, %v; want one current key", ring, err)
	}
}
