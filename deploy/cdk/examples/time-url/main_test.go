package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestStack synthesizes the app offline: a function URL with AWS_IAM auth
// in front of a provided.al2023 function. (The construct's own tests check
// the rest, with a real zip; any file will do here.)
func TestStack(t *testing.T) {
	zip := filepath.Join(t.TempDir(), "time.zip")
	if err := os.WriteFile(zip, []byte("PK\x05\x06"+string(make([]byte, 18))), 0o644); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	tmpl := assertions.Template_FromStack(NewStack(app, "McpTimeUrl", zip), nil)
	for typ, props := range map[string]map[string]any{
		"AWS::Lambda::Url":      {"AuthType": "AWS_IAM"},
		"AWS::Lambda::Function": {"Runtime": "provided.al2023", "Architectures": []any{"arm64"}},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("template: no %s with %v: %v", typ, props, r)
				}
			}()
			tmpl.HasResourceProperties(jsii.String(typ), props)
		}()
	}
	tmpl.HasOutput(jsii.String("Endpoint"), map[string]any{})
}

// TestCLISynth runs this app under the pinned aws-cdk CLI
// (deploy/cdk/.tools/package.json), "cdk synth" as "cdk deploy" would,
// offline: the CLI must accept the cloud assembly this version of the CDK
// library writes (the 3.x CLI does not).
func TestCLISynth(t *testing.T) {
	cli, err := filepath.Abs("../../.tools/node_modules/.bin/cdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("MCPLAMBDA_REQUIRE_TOOLS") != "" {
			t.Fatalf("aws-cdk CLI not installed (scripts/install-test-tools.sh): %v", err)
		}
		t.Skipf("aws-cdk CLI not installed (scripts/install-test-tools.sh): %v", err)
	}
	zip := filepath.Join(t.TempDir(), "time.zip")
	if err := os.WriteFile(zip, []byte("PK\x05\x06"+string(make([]byte, 18))), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "synth", "--no-notices", "--no-version-reporting", "-o", out, "-c", "zip="+zip)
	// No AWS account: the stack is environment-agnostic, and the CLI must
	// not wait for credentials or metadata.
	cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true", "CDK_DISABLE_VERSION_CHECK=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cdk synth: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "AWS::Lambda::Url") {
		t.Errorf("cdk synth printed no AWS::Lambda::Url:\n%s", stdout.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "McpTimeUrl.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct{ Outputs map[string]any }
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	if _, ok := tmpl.Outputs["Endpoint"]; !ok {
		t.Errorf("McpTimeUrl.template.json: outputs %v, want Endpoint", tmpl.Outputs)
	}
}
