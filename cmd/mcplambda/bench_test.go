package main

// Performance measurements for the README. Run them with
//
//	go test -run XXX -bench . ./cmd/mcplambda/
//
// They report medians and percentiles with b.ReportMetric; nothing here
// asserts on time.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/lambdatest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// percentile returns the q-quantile (0 < q <= 1) of samples, by the
// nearest-rank method. It sorts samples.
func percentile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	i := int(math.Ceil(q*float64(len(samples)))) - 1
	return samples[max(i, 0)]
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// toolsCallBody is the first request of the cold-start measurement: a
// stateless server answers a tools/call without an initialize first.
const toolsCallBody = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_current_time","arguments":{"timezone":"UTC"}}}`

func newToolsCall(url string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(toolsCallBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	return req
}

// coldStarts are the functions whose cold start is measured, and what
// their first invocation is: the no-op aws-lambda-go function (the baseline)
// echoes {}; examples/time answers a tools/call through a function URL. The
// baseline runs first so that time can report the ratio.
var coldStarts = []struct {
	name  string
	first func(ctx context.Context, f *lambdatest.Function) error
}{
	{"noop", func(ctx context.Context, f *lambdatest.Function) error {
		resp, err := f.Invoke(ctx, []byte(`{}`))
		if err != nil {
			return err
		}
		if resp.FunctionError != "" {
			return fmt.Errorf("invoke: %s %s", resp.FunctionError, resp.Payload)
		}
		return nil
	}},
	{"time", func(ctx context.Context, f *lambdatest.Function) error {
		rec := httptest.NewRecorder()
		lambdatest.NewFrontDoor(f, lambdatest.FunctionURL, nil).ServeHTTP(rec, newToolsCall("http://127.0.0.1/mcp").WithContext(ctx))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"result"`) {
			return fmt.Errorf("tools/call = %d %s", rec.Code, rec.Body)
		}
		return nil
	}},
}

// BenchmarkColdStart measures a cold start under the emulator: from
// NewFunction (the bootstrap is exec'd by the first invocation) to the
// first response, for a no-op aws-lambda-go function and for examples/time
// (a tools/call through a function URL). ns/op is the mean; cold-ms is the
// median, init-ms the median Init Duration of the REPORT (exec to the
// runtime's first /next). time reports x-noop, the ratio of its median to
// the no-op's in the same run.
func BenchmarkColdStart(b *testing.B) {
	medians := map[string]time.Duration{}
	for _, cs := range coldStarts {
		b.Run(cs.name, func(b *testing.B) {
			bin := binary(b, cs.name)
			ctx := context.Background()
			var cold, inits []time.Duration
			b.ResetTimer()
			for range b.N {
				reports := make(chan lambdatest.Report, 1)
				start := time.Now()
				f, err := lambdatest.NewFunction(bin, &lambdatest.Options{
					FunctionName: cs.name,
					Stdout:       io.Discard,
					Stderr:       io.Discard,
					OnReport:     func(r lambdatest.Report) { reports <- r },
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := cs.first(ctx, f); err != nil {
					b.Fatal(err)
				}
				cold = append(cold, time.Since(start))
				b.StopTimer()
				inits = append(inits, (<-reports).InitDuration)
				f.Close()
				b.StartTimer()
			}
			medians[cs.name] = percentile(cold, 0.5)
			b.ReportMetric(msf(medians[cs.name]), "cold-ms")
			b.ReportMetric(msf(percentile(inits, 0.5)), "init-ms")
			if base := medians["noop"]; cs.name != "noop" && base > 0 {
				b.ReportMetric(float64(medians[cs.name])/float64(base), "x-noop")
			}
		})
	}
}

// BenchmarkDevColdStart measures the same cold starts end to end, as a
// user meets them: from the exec of "mcplambda dev" to the first response
// on its listener (an Invoke API call for the no-op function, a tools/call
// on /mcp for examples/time). It includes dev's own start; time reports
// x-noop as BenchmarkColdStart does.
func BenchmarkDevColdStart(b *testing.B) {
	medians := map[string]time.Duration{}
	for _, name := range []string{"noop", "time"} {
		b.Run(name, func(b *testing.B) {
			bin := binary(b, name)
			binary(b, "mcplambda")
			var cold []time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				p := startDev(b, "--addr", "127.0.0.1:0", bin)
				var req *http.Request
				if name == "time" {
					req = newToolsCall(p.mcpURL)
				} else {
					req = httptest.NewRequest(http.MethodPost, p.invokeURL+"/2015-03-31/functions/noop/invocations", strings.NewReader(`{}`))
				}
				req.RequestURI = ""
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				cold = append(cold, time.Since(start))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("first request = %d %s", resp.StatusCode, body)
				}
				b.StopTimer()
				p.stop(b, os.Interrupt)
				b.StartTimer()
			}
			medians[name] = percentile(cold, 0.5)
			b.ReportMetric(msf(medians[name]), "cold-ms")
			if base := medians["noop"]; name != "noop" && base > 0 {
				b.ReportMetric(float64(medians[name])/float64(base), "x-noop")
			}
		})
	}
}

// minCalls is the number of calls an instance has served, at least, when
// BenchmarkWarmCall reads its memory.
const minCalls = 1000

// BenchmarkWarmCall measures a warm tools/call round trip through
// "mcplambda dev" with go-sdk's client, behind each front door: p50-ms and
// p99-ms over b.N sequential calls (use -benchtime 1000x for exactly 1000),
// then the instance's resident memory after at least 1000 calls: rss-MB
// (VmRSS, from /proc) and maxrss-MB (the REPORT's Max Memory Used, VmHWM).
// fn-p50-ms is the median REPORT Duration of the timed calls: the part of
// the round trip spent in the instance, from the runtime's receipt of the
// event to the end of its response. native is the baseline without Lambda:
// the same binary serving HTTP itself (mcplambda.Start outside Lambda),
// with the same client.
func BenchmarkWarmCall(b *testing.B) {
	for _, door := range []string{"url", "httpapi", "rest", "native"} {
		b.Run(door, func(b *testing.B) {
			ctx := context.Background()
			var p *devProcess
			marker := "MCPLAMBDA_BENCH_MARKER=" + rand.Text()
			if door == "native" {
				p = startNative(b, binary(b, "time"))
			} else {
				p = startDev(b, "--addr", "127.0.0.1:0", "--front", door, "--env", marker, binary(b, "time"))
			}
			cs := p.connect(b, ctx)
			params := &mcp.CallToolParams{Name: "get_current_time", Arguments: map[string]any{"timezone": "UTC"}}
			call := func() {
				res, err := cs.CallTool(ctx, params)
				if err != nil || res.IsError {
					b.Fatalf("CallTool = %v, %v", res, err)
				}
			}
			for range 10 { // warm up
				call()
			}
			calls := 10
			samples := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				call()
				samples = append(samples, time.Since(start))
			}
			b.StopTimer()
			calls += b.N
			b.ReportMetric(msf(percentile(samples, 0.5)), "p50-ms")
			b.ReportMetric(msf(percentile(samples, 0.99)), "p99-ms")

			for ; calls < minCalls; calls++ {
				call()
			}
			if door == "native" {
				if rss, err := rssMB(p.cmd.Process.Pid); err == nil {
					b.ReportMetric(rss, "rss-MB")
				}
				return
			}
			if pids := processesWithEnv(b, marker); len(pids) == 1 {
				if rss, err := rssMB(pids[0]); err == nil {
					b.ReportMetric(rss, "rss-MB")
				}
			}
			// Wait for the last REPORT lines: those of the handshake, the
			// warm-up, the timed calls and the rest up to minCalls.
			reports := p.reports(b, calls)
			for n := 0; n != len(reports); {
				n = len(reports)
				time.Sleep(100 * time.Millisecond)
				reports = p.reports(b, calls)
			}
			if peak, err := strconv.Atoi(reports[len(reports)-1][reportMaxMem]); err == nil {
				b.ReportMetric(float64(peak), "maxrss-MB")
			}
			// The function's share of the round trip: the REPORT Duration
			// of the timed calls.
			var fn []time.Duration
			timed := reports[len(reports)-calls+10:][:b.N]
			for _, r := range timed {
				if ms, err := strconv.ParseFloat(r[reportDuration], 64); err == nil {
					fn = append(fn, time.Duration(ms*float64(time.Millisecond)))
				}
			}
			b.ReportMetric(msf(percentile(fn, 0.5)), "fn-p50-ms")
		})
	}
}

// BenchmarkWarmHTTP measures the layers under BenchmarkWarmCall: warm
// round trips through "mcplambda dev" with plain HTTP POSTs instead of an
// MCP client. invoke/noop is the emulator's floor (the Invoke API, {} echoed
// by the no-op function); invoke/time adds MCP in the function (a
// tools/call as a direct invoke); url/time adds the function URL front door
// (the same tools/call POSTed to /mcp). p50-ms and p99-ms are over b.N
// sequential calls.
func BenchmarkWarmHTTP(b *testing.B) {
	for _, tt := range []struct{ name, bin, path, payload string }{
		{"invoke/noop", "noop", "/2015-03-31/functions/noop/invocations", `{}`},
		{"invoke/time", "time", "/2015-03-31/functions/time/invocations", toolsCallBody},
		{"url/time", "time", "/mcp", toolsCallBody},
	} {
		b.Run(tt.name, func(b *testing.B) {
			p := startDev(b, "--addr", "127.0.0.1:0", binary(b, tt.bin))
			url := p.invokeURL + tt.path
			call := func() {
				if status, body := post(b, url, "application/json, text/event-stream", tt.payload); status != http.StatusOK {
					b.Fatalf("POST %s = %d %s", tt.path, status, body)
				}
			}
			measureCalls(b, 10, call)
		})
	}
}

// BenchmarkStdioCall measures a warm tools/call through "mcplambda dev --
// COMMAND": the stdio adapter (no-code mode) as the bootstrap under the
// emulator, wrapping the Go stdio echo server, POSTed to the function URL
// front door. warm keeps one child per instance (the default);
// per-request starts, initializes and stops a child for every request, as
// the reference adapter does; both in the same run, so their ratio shows.
func BenchmarkStdioCall(b *testing.B) {
	const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}`
	for _, isolation := range []string{"warm", "per-request"} {
		b.Run(isolation, func(b *testing.B) {
			p := startDev(b, "--addr", "127.0.0.1:0", "--env", "MCPLAMBDA_ISOLATION="+isolation, "--", binary(b, "echoserver"))
			call := func() {
				if status, out := post(b, p.mcpURL, "application/json", body); status != http.StatusOK || !strings.Contains(string(out), "Echo: hello") {
					b.Fatalf("POST /mcp = %d %s", status, out)
				}
			}
			measureCalls(b, 5, call)
		})
	}
}

// measureCalls runs call warmup times, then b.N times, timing each, and
// reports the median and 99th percentile in milliseconds.
func measureCalls(b *testing.B, warmup int, call func()) {
	for range warmup {
		call()
	}
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		call()
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(msf(percentile(samples, 0.5)), "p50-ms")
	b.ReportMetric(msf(percentile(samples, 0.99)), "p99-ms")
}

// post POSTs the JSON body to url with the given Accept header and returns
// the status and the response body.
func post(b testing.TB, url, accept, body string) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// BenchmarkMemoryCPU runs "mcplambda dev --memory 128 ./examples/time" and
// "--memory 1769" and makes the same warm tools/call through each, 200
// times in a row, reading the REPORT lines: the mean Duration and Billed
// Duration of the warm calls, and their ratio between 128 MB (7.2% of a
// vCPU) and 1,769 MB (one vCPU). Where instances cannot be CPU-limited
// (no writable cgroup) dev says so, and the ratio is about 1.
func BenchmarkMemoryCPU(b *testing.B) {
	const calls = 200
	mean := map[int][2]float64{} // memory: mean duration, mean billed (ms)
	for b.Loop() {
		for _, memory := range []int{1769, 128} {
			p := startDev(b, "--addr", "127.0.0.1:0", "--json", "--memory", fmt.Sprint(memory), binary(b, "time"))
			for range 10 + calls {
				if status, out := post(b, p.mcpURL, "application/json", toolsCallBody); status != http.StatusOK {
					b.Fatalf("POST /mcp = %d %s", status, out)
				}
			}
			var reports []jsonReport
			deadline := time.Now().Add(10 * time.Second)
			for len(reports) < 10+calls && time.Now().Before(deadline) {
				reports = reports[:0]
				for line := range strings.SplitSeq(p.stderr.String(), "\n") {
					var r jsonReport
					if strings.HasPrefix(line, `{"requestId"`) && json.Unmarshal([]byte(line), &r) == nil {
						reports = append(reports, r)
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
			if len(reports) < 10+calls {
				b.Fatalf("%d REPORT lines, want %d", len(reports), 10+calls)
			}
			var d, billed float64
			for _, r := range reports[10:] { // warm calls after a warm-up
				d += r.DurationMS
				billed += r.BilledDurationMS
			}
			mean[memory] = [2]float64{d / calls, billed / calls}
			if strings.Contains(p.stderr.String(), "cannot limit") {
				b.Logf("--memory %d: %s", memory, p.stderr.String()[:strings.Index(p.stderr.String(), "\n")+1])
			}
			p.stop(b, os.Interrupt)
		}
	}
	b.ReportMetric(mean[128][0], "duration-ms-128MB")
	b.ReportMetric(mean[1769][0], "duration-ms-1769MB")
	b.ReportMetric(mean[128][1], "billed-ms-128MB")
	b.ReportMetric(mean[1769][1], "billed-ms-1769MB")
	b.ReportMetric(mean[128][1]/mean[1769][1], "billed-ratio")
	b.ReportMetric(mean[128][0]/mean[1769][0], "duration-ratio")
}
