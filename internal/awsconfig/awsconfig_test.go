package awsconfig_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/awsconfig"
)

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		endpoint string
		want     bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.2:8080/", true},
		{"http://[::1]:9000", true},
		{"http://localhost:8080", true},
		{"https://LOCALHOST", true},
		{"", false},
		{"127.0.0.1:8080", false}, // no scheme
		{"https://lambda.eu-west-1.amazonaws.com", false},
		{"http://10.0.0.1:8080", false},
		{"http://localhost.example.com", false},
	}
	for _, tt := range tests {
		if got := awsconfig.IsLoopback(tt.endpoint); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.endpoint, got, tt.want)
		}
	}
}

// TestLoadLoopback: a loopback endpoint needs nothing from the machine,
// even with a broken configuration in the environment.
func TestLoadLoopback(t *testing.T) {
	t.Setenv("AWS_PROFILE", "does-not-exist")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/config")
	t.Setenv("AWS_REGION", "")
	ctx := context.Background()
	for _, tt := range []struct{ region, want string }{{"", awsconfig.LocalRegion}, {"eu-west-1", "eu-west-1"}} {
		cfg, err := awsconfig.Load(ctx, tt.region, "http://127.0.0.1:8080")
		if err != nil {
			t.Fatalf("Load(%q, loopback) = %v", tt.region, err)
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			t.Fatalf("Retrieve = %v", err)
		}
		got := []string{cfg.Region, creds.AccessKeyID}
		if diff := cmp.Diff([]string{tt.want, "mcplambda-local"}, got); diff != "" {
			t.Errorf("Load(%q, loopback) region, key (-want +got):\n%s", tt.region, diff)
		}
	}
}

func TestExplain(t *testing.T) {
	cause := errors.New("failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, http response error StatusCode: 403")
	imds := aws.NewCredentialsCache(ec2rolecreds.New())
	err := awsconfig.Explain(imds, cause)
	if !errors.Is(err, awsconfig.ErrNoCredentials) || !errors.Is(err, cause) {
		t.Errorf("Explain(instance role) = %v, want it to wrap ErrNoCredentials and the cause", err)
	}
	if msg := err.Error(); strings.Contains(msg, "IMDS") || strings.Contains(msg, "\n") || !strings.Contains(msg, "AWS_PROFILE") {
		t.Errorf("Explain(instance role) = %q, want one line naming AWS_PROFILE, without the IMDS details", msg)
	}
	static := aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("a", "b", ""))
	if err := awsconfig.Explain(static, cause); err != cause {
		t.Errorf("Explain(static) = %v, want the cause as is", err)
	}
	if err := awsconfig.Explain(imds, nil); err != nil {
		t.Errorf("Explain(nil) = %v, want nil", err)
	}
}

func ExampleLoad() {
	// The invoke endpoint of "mcplambda dev": no AWS configuration needed.
	cfg, err := awsconfig.Load(context.Background(), "", "http://127.0.0.1:8080")
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Region)
	// Output: us-east-1
}
