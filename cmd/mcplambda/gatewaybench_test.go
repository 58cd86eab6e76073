package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/lambdatest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkGatewayCall measures what a gateway adds to a warm tools/call
// of examples/time, made with go-sdk's client directly and through a
// gateway whose backend it is, interleaved in the same run:
//
//   - http: time served over local HTTP; the gateway served locally
//     ("mcplambda gateway --config") with time as an HTTP backend;
//   - lambda: time under "mcplambda dev" through its function URL front
//     door; the gateway under "mcplambda dev" through its function URL,
//     with time as a lambda: backend in the same emulator (the gateway
//     invokes it through the Invoke API with the AWS SDK).
//
// It reports the medians (direct-ms, gateway-ms) and their difference
// (added-ms).
//
//	go test -run XXX -bench GatewayCall -benchtime 500x ./cmd/mcplambda/
func BenchmarkGatewayCall(b *testing.B) {
	for _, target := range []string{"http", "lambda"} {
		b.Run(target, func(b *testing.B) {
			ctx := context.Background()
			var directURL, gatewayURL string
			switch target {
			case "http":
				backend := startNative(b, binary(b, "time"))
				directURL = backend.mcpURL
				gatewayURL = startGatewayNative(b, fmt.Sprintf(`{"mcpServers": {"time": {"url": %q}}}`, backend.mcpURL)).mcpURL
			case "lambda":
				directURL = startDev(b, "--addr", "127.0.0.1:0", binary(b, "time")).mcpURL
				gatewayURL = startDev(b, "--addr", "127.0.0.1:0", "--config", writeConfig(b, `{"mcpServers": {"time": {"url": "lambda:time"}}}`),
					"--function", "time="+binary(b, "time")).mcpURL
			}
			client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "v1"}, nil)
			direct, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: directURL}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer direct.Close()
			through, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gatewayURL}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer through.Close()
			call := func(cs *mcp.ClientSession, name string) time.Duration {
				start := time.Now()
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{"timezone": "UTC"}})
				if err != nil || res.IsError {
					b.Fatalf("CallTool(%s) = %v, %v", name, res, err)
				}
				return time.Since(start)
			}
			for range 20 { // warm both paths: instances, connections
				call(direct, "get_current_time")
				call(through, "time__get_current_time")
			}
			var d, g []time.Duration
			b.ResetTimer()
			for range b.N {
				d = append(d, call(direct, "get_current_time"))
				g = append(g, call(through, "time__get_current_time"))
			}
			b.StopTimer()
			dm, gm := percentile(d, 0.5), percentile(g, 0.5)
			b.ReportMetric(msf(dm), "direct-ms")
			b.ReportMetric(msf(gm), "gateway-ms")
			b.ReportMetric(msf(gm-dm), "added-ms")
		})
	}
}

// startGatewayNative runs "mcplambda gateway --config" with config on a
// free local port and waits for its ready line.
func startGatewayNative(tb testing.TB, config string) *devProcess {
	tb.Helper()
	cmd := exec.Command(binary(tb, "mcplambda"), "gateway", "--config", writeConfig(tb, config), "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API=")
	return start(tb, cmd, readyLines[:1])
}

// BenchmarkGatewayColdStart measures the cold start of a gateway with
// three backends under the emulator, against examples/time's in the same
// run: from NewFunction (the first invocation execs the bootstrap) to the
// response of a first tools/call through a function URL front door. The
// gateway's backends are running already, as they are in production: a
// warm examples/time function behind a local Invoke API (lambda:time,
// invoked with the AWS SDK), examples/conformance over local HTTP, and the
// Go stdio echo server, which the gateway starts. It reports the medians
// cold-ms and init-ms (the REPORT's Init Duration: the gateway connects to
// its backends and lists what they serve before it takes requests), and
// for the gateway x-plain, the ratio to the plain server's cold-ms.
//
//	go test -run XXX -bench GatewayColdStart -benchtime 20x ./cmd/mcplambda/
func BenchmarkGatewayColdStart(b *testing.B) {
	ctx := context.Background()
	timeFn, err := lambdatest.NewFunction(binary(b, "time"), &lambdatest.Options{FunctionName: "time", Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer timeFn.Close()
	invokeAPI := httptest.NewServer(lambdatest.NewInvokeAPI(timeFn))
	defer invokeAPI.Close()
	if _, err := timeFn.Invoke(ctx, []byte(toolsCallBody)); err != nil { // warm
		b.Fatal(err)
	}
	conformance := startNative(b, binary(b, "conformance"))
	config := writeConfig(b, fmt.Sprintf(`{"mcpServers": {
		"time": {"url": "lambda:time"},
		"conformance": {"url": %q},
		"echo": {"command": %q}
	}}`, conformance.mcpURL, binary(b, "echoserver")))

	type variant struct {
		name string
		bin  string
		opts lambdatest.Options
		tool string
	}
	variants := []variant{
		{name: "plain", bin: binary(b, "time"), tool: "get_current_time"},
		{name: "gateway-3-backends", bin: binary(b, "mcplambda"), tool: "time__get_current_time", opts: lambdatest.Options{
			Args: []string{"gateway", "--config", config},
			Env: []string{"AWS_ENDPOINT_URL_LAMBDA=" + invokeAPI.URL, "AWS_ACCESS_KEY_ID=mcplambda-local",
				"AWS_SECRET_ACCESS_KEY=mcplambda-local", "AWS_REGION=us-east-1"},
		}},
	}
	medians := map[string]time.Duration{}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			body := strings.Replace(toolsCallBody, "get_current_time", v.tool, 1)
			var cold, inits []time.Duration
			b.ResetTimer()
			for range b.N {
				reports := make(chan lambdatest.Report, 1)
				opts := v.opts
				opts.FunctionName, opts.Stdout, opts.Stderr = v.name, io.Discard, io.Discard
				opts.OnReport = func(r lambdatest.Report) { reports <- r }
				start := time.Now()
				f, err := lambdatest.NewFunction(v.bin, &opts)
				if err != nil {
					b.Fatal(err)
				}
				req := newToolsCall("http://127.0.0.1/mcp")
				req.Body = io.NopCloser(strings.NewReader(body))
				req.ContentLength = int64(len(body))
				rec := httptest.NewRecorder()
				lambdatest.NewFrontDoor(f, lambdatest.FunctionURL, nil).ServeHTTP(rec, req.WithContext(ctx))
				cold = append(cold, time.Since(start))
				b.StopTimer()
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"result"`) || strings.Contains(rec.Body.String(), `"isError":true`) {
					b.Fatalf("%s: tools/call = %d %s", v.name, rec.Code, rec.Body)
				}
				inits = append(inits, (<-reports).InitDuration)
				f.Close()
				b.StartTimer()
			}
			medians[v.name] = percentile(cold, 0.5)
			b.ReportMetric(msf(medians[v.name]), "cold-ms")
			b.ReportMetric(msf(percentile(inits, 0.5)), "init-ms")
			if base, ok := medians["plain"]; ok && v.name != "plain" {
				b.ReportMetric(float64(medians[v.name])/float64(base), "x-plain")
			}
		})
	}
}
