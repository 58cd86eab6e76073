package cdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// The tests synthesize stacks offline (jsii runs the CDK under Node.js; no
// AWS account or credentials) and check the CloudFormation templates. The
// function's zip is the real output of "mcplambda build ./examples/time",
// built once per run by TestMain; the stdio layer is "mcplambda build
// --layer" of a small function standing in for the mcplambda binary (the
// layer's contents do not change the template).

var (
	timeZip  string // mcplambda build ./examples/time
	layerZip string // mcplambda build --layer ./cmd/mcplambda/testdata/noop
	codeDir  string // a stdio server's code directory
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	// jsii starts node (JSII_NODE, else node from PATH) while the CDK
	// packages initialize, before this runs: scripts/test.sh puts the
	// Node 22 of internal/testtools first on PATH.
	dir, err := os.MkdirTemp("", "mcplambda-cdk-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := mcplambdaBuild(dir, "./examples/time"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := mcplambdaBuild(dir, "--layer", "./cmd/mcplambda/testdata/noop"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	timeZip = filepath.Join(dir, "time-arm64.zip") // mcplambda build names zips NAME-ARCH.zip
	layerZip = filepath.Join(dir, "mcplambda-stdio-layer-arm64.zip")
	codeDir = filepath.Join(dir, "code")
	if err := os.MkdirAll(codeDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.WriteFile(filepath.Join(codeDir, "server.js"), []byte("// a stdio MCP server\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// mcplambdaBuild runs "mcplambda build --out dir args..." in the root
// module (this module does not depend on it).
func mcplambdaBuild(dir string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"run", "./cmd/mcplambda", "build", "--out", dir}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mcplambda build %q: %v\n%s", args, err, stderr.String())
	}
	return nil
}

// synth is one synthesized stack: its template as assertions.Template and
// as JSON, and the cloud assembly directory.
type synth struct {
	template assertions.Template
	json     map[string]any
	outdir   string
	stack    string
}

// synthesize builds a stack with build and synthesizes it into a temporary
// cloud assembly.
func synthesize(t *testing.T, build func(stack awscdk.Stack)) *synth {
	t.Helper()
	outdir := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	stack := awscdk.NewStack(app, jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")},
	})
	build(stack)
	app.Synth(nil)
	tmpl := assertions.Template_FromStack(stack, nil)
	b, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &synth{template: tmpl, json: m, outdir: outdir, stack: "Test"}
}

// has checks with the CDK assertions package that the template holds a
// resource of type typ whose properties match props (objects match
// partially, as in assertions.Match_ObjectLike).
func (s *synth) has(t *testing.T, typ string, props map[string]any) {
	t.Helper()
	defer func() {
		t.Helper()
		if r := recover(); r != nil {
			t.Errorf("template: no %s with properties %v:\n%v", typ, props, firstLines(fmt.Sprint(r), 30))
		}
	}()
	s.template.HasResourceProperties(jsii.String(typ), props)
}

// count checks the number of resources of type typ.
func (s *synth) count(t *testing.T, typ string, want int) {
	t.Helper()
	if got := len(s.resources(typ)); got != want {
		t.Errorf("template: %d resources of type %s, want %d", got, typ, want)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// resource is one resource of the template.
type resource struct {
	ID         string
	Properties map[string]any
	Metadata   map[string]any
}

// resources returns the resources of type typ.
func (s *synth) resources(typ string) []resource {
	var rs []resource
	all, _ := s.json["Resources"].(map[string]any)
	for id, r := range all {
		r := r.(map[string]any)
		if r["Type"] != typ {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		meta, _ := r["Metadata"].(map[string]any)
		rs = append(rs, resource{ID: id, Properties: props, Metadata: meta})
	}
	return rs
}

// one returns the only resource of type typ.
func (s *synth) one(t *testing.T, typ string) resource {
	t.Helper()
	rs := s.resources(typ)
	if len(rs) != 1 {
		t.Fatalf("template: %d resources of type %s, want 1", len(rs), typ)
	}
	return rs[0]
}

// assetFile returns the bytes of the file asset whose S3 object key is
// key, as staged in the cloud assembly for upload.
func (s *synth) assetFile(t *testing.T, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.outdir, s.stack+".assets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Files map[string]struct {
			Source struct {
				Path      string `json:"path"`
				Packaging string `json:"packaging"`
			} `json:"source"`
			Destinations map[string]struct {
				ObjectKey string `json:"objectKey"`
			} `json:"destinations"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	for _, f := range manifest.Files {
		for _, d := range f.Destinations {
			if d.ObjectKey != key {
				continue
			}
			if f.Source.Packaging != "file" {
				t.Errorf("asset %s: packaging %q, want file (the zip uploaded as is)", key, f.Source.Packaging)
			}
			data, err := os.ReadFile(filepath.Join(s.outdir, f.Source.Path))
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatalf("asset manifest: no file asset with object key %s", key)
	return nil
}

// ref returns the {"Ref": id} of a resource.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }

// getAtt returns the {"Fn::GetAtt": [id, attr]} of a resource.
func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}
