package awssecrets_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/auth/authserver/awssecrets"
	"github.com/mcplambda/mcplambda/auth/authserver/internal/flowtest"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/state"
)

// secretsManager is an httptest server speaking the part of the Secrets
// Manager JSON protocol (awsJson1_1) that GetSecretValue uses, so that
// the real SDK client is tested end to end; the real service cannot run
// offline.
type secretsManager struct {
	mu       sync.Mutex
	versions []string // PEM keys, oldest first; the last is AWSCURRENT, the one before AWSPREVIOUS
}

func (sm *secretsManager) put(pem string) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	sm.versions = append(sm.versions, pem)
}

func (sm *secretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
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
	i := len(sm.versions) - 1
	if in.VersionStage == "AWSPREVIOUS" {
		i--
	}
	if in.SecretId != "mcp/as-key" || i < 0 {
		fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: "+in.VersionStage)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{
		"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mcp/as-key-AbCdEf", "Name": in.SecretId,
		"VersionId": "v" + string(rune('0'+i)), "VersionStages": []string{in.VersionStage}, "SecretString": sm.versions[i],
	})
}

func pemOf(t *testing.T, key any) string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestKeys: the current version signs; after a rotation the previous
// version stays published and its tokens keep verifying.
func TestKeys(t *testing.T) {
	sm := &secretsManager{}
	srv := httptest.NewServer(sm)
	defer srv.Close()
	client := secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sm.put(pemOf(t, ec))
	keys := awssecrets.Keys(client, "mcp/as-key")

	idp := authtest.NewIssuer(&authtest.IssuerOptions{ClientID: "as", ClientSecret: "s"})
	defer idp.Close()
	var h http.Handler
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer as.Close()
	resource := as.URL + "/mcp"
	server, err := authserver.New(as.URL, []string{resource}, authserver.Upstream{Issuer: idp.URL, ClientID: "as", ClientSecret: "s"},
		&authserver.Options{Keys: keys, KeyCacheTime: 1, Store: state.NewMemory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	h = server
	v, err := auth.NewJWTVerifier(as.URL, resource, &auth.JWTOptions{RequireAccessTokenType: true, MinRefreshInterval: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := flowtest.SignIn(t, as.URL, resource)

	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	sm.put(pemOf(t, rk))
	set, err := keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if set.Current.Algorithm != "RS256" || len(set.Previous) != 1 || set.Previous[0].Algorithm != "ES256" || set.Previous[0].Sign != nil {
		t.Fatalf("after rotation: current %s, previous %+v; want RS256, and the ES256 key published only", set.Current.Algorithm, set.Previous)
	}
	second := flowtest.SignIn(t, as.URL, resource)
	for name, tok := range map[string]string{"before rotation": first, "after rotation": second} {
		if _, err := v.Verify(context.Background(), tok, nil); err != nil {
			t.Errorf("token %s: %v", name, err)
		}
	}
}

// TestBadSecret: a secret that is not a PEM private key is an error that
// does not quote the secret.
func TestBadSecret(t *testing.T) {
	sm := &secretsManager{}
	sm.put("not-a-key-but-a-password-123")
	srv := httptest.NewServer(sm)
	defer srv.Close()
	client := secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	_, err := awssecrets.Keys(client, "mcp/as-key")(context.Background())
	if err == nil || strings.Contains(err.Error(), "password-123") {
		t.Errorf("Keys with a non-key secret = %v, want an error that does not quote the secret", err)
	}
}
