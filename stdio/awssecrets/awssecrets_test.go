package awssecrets_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/mcplambda/mcplambda/stdio/awssecrets"
)

// fakeAWS speaks the JSON protocol of SSM (AmazonSSM.GetParameter) and
// Secrets Manager (secretsmanager.GetSecretValue) for a fixed set of
// values. It is a fake because nothing real can run offline; the clients
// talking to it are the real AWS SDK ones, so requests, signing and error
// decoding are exercised for real.
type fakeAWS struct {
	params  map[string]string
	secrets map[string]string

	mu    sync.Mutex
	calls []string // X-Amz-Target and the name asked for
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "unsigned request", http.StatusForbidden)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Name           string
		WithDecryption bool
		SecretId       string
	}
	json.Unmarshal(body, &in)
	f.mu.Lock()
	f.calls = append(f.calls, target+" "+in.Name+in.SecretId)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(typ, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	switch target {
	case "AmazonSSM.GetParameter":
		v, ok := f.params[in.Name]
		if !ok {
			fail("ParameterNotFound", "")
			return
		}
		if !in.WithDecryption {
			v = "ENCRYPTED"
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1}})
	case "secretsmanager.GetSecretValue":
		v, ok := f.secrets[in.SecretId]
		if !ok {
			fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + in.SecretId, "Name": in.SecretId, "SecretString": v})
	default:
		fail("UnknownOperationException", target)
	}
}

func newResolver(t *testing.T, f *fakeAWS) *awssecrets.Resolver {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   srv.Client(),
	}
	return awssecrets.NewResolver(cfg)
}

func TestResolveEnv(t *testing.T) {
	t.Parallel()
	f := &fakeAWS{
		params: map[string]string{"/prod/api-key": "p4ram", "arn:aws:ssm:us-east-1:123456789012:parameter/x": "by-arn"},
		secrets: map[string]string{
			"prod/plain": "s3cret",
			"prod/db":    `{"user":"admin","password":"hunter2","port":5432}`,
		},
	}
	r := newResolver(t, f)
	tests := []struct {
		name    string
		env     []string
		want    []string
		wantErr string // substring
	}{
		{"no references", []string{"A=1", "B=ssm", "C="}, []string{"A=1", "B=ssm", "C="}, ""},
		{"ssm", []string{"KEY=ssm:/prod/api-key", "X=y"}, []string{"KEY=p4ram", "X=y"}, ""},
		{"ssm arn", []string{"KEY=ssm:arn:aws:ssm:us-east-1:123456789012:parameter/x"}, []string{"KEY=by-arn"}, ""},
		{"secret string", []string{"S=secretsmanager:prod/plain"}, []string{"S=s3cret"}, ""},
		{"secret json key", []string{"P=secretsmanager:prod/db#password", "N=secretsmanager:prod/db#port"}, []string{"P=hunter2", "N=5432"}, ""},
		{"missing parameter", []string{"KEY=ssm:/nope"}, nil, "environment variable KEY"},
		{"missing secret", []string{"S=secretsmanager:nope"}, nil, "ResourceNotFoundException"},
		{"missing key", []string{"S=secretsmanager:prod/db#nokey"}, nil, `no key "nokey"`},
		{"not json", []string{"S=secretsmanager:prod/plain#k"}, nil, "not a JSON object"},
		{"empty name", []string{"S=ssm:"}, nil, "empty parameter name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.ResolveEnv(context.Background(), tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveEnv(%q) error = %v, want one containing %q", tt.env, err, tt.wantErr)
				}
				for _, secret := range []string{"hunter2", "s3cret", "p4ram"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("ResolveEnv(%q) error %q reveals a secret", tt.env, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveEnv(%q) error = %v", tt.env, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResolveEnv(%q) mismatch (-want +got):\n%s", tt.env, diff)
			}
		})
	}
}

// TestResolveEnvDefaultConfig checks the package-level ResolveEnv, which
// loads the default configuration: the endpoint comes from
// AWS_ENDPOINT_URL_SSM, as it would from the function's environment.
func TestResolveEnvDefaultConfig(t *testing.T) {
	f := &fakeAWS{params: map[string]string{"/a": "resolved"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	got, err := awssecrets.ResolveEnv(context.Background(), []string{"A=ssm:/a", "B=plain"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A=resolved", "B=plain"}, got); diff != "" {
		t.Errorf("ResolveEnv mismatch (-want +got):\n%s", diff)
	}
	// No reference: no AWS call at all.
	f.calls = nil
	if _, err := awssecrets.ResolveEnv(context.Background(), []string{"B=plain"}); err != nil || len(f.calls) != 0 {
		t.Errorf("ResolveEnv without references: err %v, calls %q; want no calls", err, f.calls)
	}
}
