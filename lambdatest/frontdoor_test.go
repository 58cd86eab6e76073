package lambdatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/syncio"
)

// door is one front-door configuration under test.
type door struct {
	name   string
	door   FrontDoor
	stage  string
	prefix string // the stage prefix clients send
}

var doors = []door{
	{"function url", FunctionURL, "", ""},
	{"http api $default", HTTPAPI, "", ""},
	{"http api v1", HTTPAPI, "v1", "/v1"},
	{"rest api", RESTAPI, "", "/prod"},
}

// serveDoor starts an httptest server with the front door over httpecho.
func serveDoor(t *testing.T, d door, opts *FrontDoorOptions) *httptest.Server {
	t.Helper()
	f := newFunction(t, "httpecho", &Options{Region: "eu-west-1"})
	var o FrontDoorOptions
	if opts != nil {
		o = *opts
	}
	o.Stage = d.stage
	srv := httptest.NewServer(NewFrontDoor(f, d.door, &o))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	return resp, body
}

func TestFrontDoorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			srv := serveDoor(t, d, nil)
			req, _ := http.NewRequest("PUT", srv.URL+d.prefix+"/a/b%20c?x=1&x=2&status=201", strings.NewReader(`{"k":"v"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "test-agent")
			req.Header.Add("X-Test", "t1")
			req.Header.Add("X-Test", "t2")
			req.Header.Set("Cookie", "c1=v1; c2=v2")
			resp, body := do(t, req)

			if resp.StatusCode != 201 {
				t.Fatalf("status = %d (%s), want 201", resp.StatusCode, body)
			}
			gotHeaders := map[string][]string{
				"X-Echo":       resp.Header.Values("X-Echo"),
				"Set-Cookie":   resp.Header.Values("Set-Cookie"),
				"Content-Type": resp.Header.Values("Content-Type"),
			}
			wantHeaders := map[string][]string{
				"X-Echo":       {"yes"},
				"Set-Cookie":   {"a=1", "b=2; Path=/"},
				"Content-Type": {"application/json"},
			}
			if d.door == RESTAPI {
				gotHeaders["X-Multi"] = resp.Header.Values("X-Multi")
				wantHeaders["X-Multi"] = []string{"1", "2"}
			}
			if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
				t.Errorf("response headers (-want +got):\n%s", diff)
			}

			host := strings.TrimPrefix(srv.URL, "http://")
			if d.door == RESTAPI {
				var ev events.APIGatewayProxyRequest
				if err := json.Unmarshal(body, &ev); err != nil {
					t.Fatal(err)
				}
				got := []any{ev.Resource, ev.Path, ev.HTTPMethod, ev.Headers["X-Test"], ev.MultiValueHeaders["X-Test"],
					ev.Headers["Cookie"], ev.Headers["Host"], ev.QueryStringParameters, ev.MultiValueQueryStringParameters,
					ev.PathParameters, ev.Body, ev.IsBase64Encoded,
					ev.RequestContext.Stage, ev.RequestContext.Path, ev.RequestContext.ResourcePath, ev.RequestContext.HTTPMethod,
					ev.RequestContext.DomainName, ev.RequestContext.Identity.SourceIP, ev.RequestContext.Identity.UserAgent, ev.RequestContext.AccountID}
				want := []any{"/{proxy+}", "/a/b c", "PUT", "t2", []string{"t1", "t2"},
					"c1=v1; c2=v2", host, map[string]string{"x": "2", "status": "201"}, map[string][]string{"x": {"1", "2"}, "status": {"201"}},
					map[string]string{"proxy": "a/b c"}, `{"k":"v"}`, false,
					"prod", "/prod/a/b c", "/{proxy+}", "PUT",
					"a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", "127.0.0.1", "test-agent", "123456789012"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("REST event (-want +got):\n%s", diff)
				}
				return
			}
			// Payload 2.0 (LambdaFunctionURLRequest has the same shape).
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatal(err)
			}
			domain := "abcdefghijklmnopqrstuvwxyz234567.lambda-url.eu-west-1.on.aws"
			routeKey, stage, account := "", "", "anonymous"
			if d.door == HTTPAPI {
				domain = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
				routeKey, stage, account = "$default", "$default", "123456789012"
				if d.stage != "" {
					stage = d.stage
				}
			}
			_, hasCookieHeader := ev.Headers["cookie"]
			got := []any{ev.Version, ev.RouteKey, ev.RawPath, ev.RawQueryString, ev.Cookies, ev.Headers["x-test"],
				ev.Headers["content-type"], ev.Headers["host"], hasCookieHeader, ev.QueryStringParameters, ev.Body, ev.IsBase64Encoded,
				ev.RequestContext.HTTP, ev.RequestContext.DomainName, ev.RequestContext.Stage, ev.RequestContext.AccountID}
			want := []any{"2.0", routeKey, d.prefix + "/a/b%20c", "x=1&x=2&status=201", []string{"c1=v1", "c2=v2"}, "t1,t2",
				"application/json", host, false, map[string]string{"x": "1,2", "status": "201"}, `{"k":"v"}`, false,
				events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "PUT", Path: d.prefix + "/a/b c", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "test-agent"},
				domain, stage, account}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("2.0 event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFrontDoorBinaryBody(t *testing.T) {
	t.Parallel()
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			srv := serveDoor(t, d, nil)
			for _, body := range [][]byte{bin, []byte("plain text")} {
				req, _ := http.NewRequest("POST", srv.URL+d.prefix+"/upload?mode=body", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/octet-stream")
				resp, got := do(t, req)
				if resp.StatusCode != 200 || !bytes.Equal(got, body) {
					t.Errorf("status %d body %q, want 200 and the request body %q", resp.StatusCode, got, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
					t.Errorf("Content-Type = %q", ct)
				}
			}
		})
	}
}

func TestFrontDoorStatus(t *testing.T) {
	t.Parallel()
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			srv := serveDoor(t, d, nil)
			internal := `{"message":"Internal Server Error"}`
			raw := `{"hello":"world"}`
			rawStatus := 200
			if d.door == RESTAPI {
				internal = `{"message":"Internal server error"}`
				raw, rawStatus = internal, 502 // a REST API needs a proxy response
			}
			tests := []struct {
				path   string
				status int
				body   string
			}{
				{"/x?mode=error", 502, internal},
				{"/x?mode=raw", rawStatus, raw},
				{"/x?status=404&mode=big&n=3", 404, "xxx"},
				{"/x?mode=stream&chunks=a,b,c&status=202", 202, "abc"},
			}
			for _, tt := range tests {
				req, _ := http.NewRequest("GET", srv.URL+d.prefix+tt.path, nil)
				resp, body := do(t, req)
				if resp.StatusCode != tt.status || strings.TrimSpace(string(body)) != tt.body {
					t.Errorf("GET %s = %d %s, want %d %s", tt.path, resp.StatusCode, body, tt.status, tt.body)
				}
			}
		})
	}
}

func TestFrontDoorStage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d      door
		path   string
		status int
	}{
		{doors[2], "/a", 404},
		{doors[2], "/v1x/a", 404},
		{doors[2], "/v1", 200},
		{doors[3], "/a", 403},
		{doors[3], "/prod/", 200},
	}
	for _, tt := range tests {
		srv := serveDoor(t, tt.d, nil)
		req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
		if resp, body := do(t, req); resp.StatusCode != tt.status {
			t.Errorf("%s: GET %s = %d %s, want %d", tt.d.name, tt.path, resp.StatusCode, body, tt.status)
		}
	}
}

func TestFrontDoorLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d      door
		size   int
		ct     string
		status int
	}{
		{doors[0], MaxPayload + 1, "text/plain", 413},     // Function URL: 6 MB request
		{doors[1], 10*1024*1024 + 1, "text/plain", 413},   // HTTP API: 10 MB request
		{doors[3], 10*1024*1024 + 1, "text/plain", 413},   // REST API: 10 MB request
		{doors[1], 7 * 1024 * 1024, "text/plain", 413},    // within 10 MB, but the event exceeds Lambda's 6 MB
		{doors[0], 5 * 1024 * 1024, "image/png", 413},     // base64 makes the event exceed 6 MB
		{doors[0], 4 * 1024 * 1024, "text/plain", 200},    // fits
		{doors[0], 4 * 1024 * 1024, "image/png", 200},     // fits, base64-encoded
		{doors[3], 1024, "application/octet-stream", 200}, // small binary
	}
	for _, tt := range tests {
		srv := serveDoor(t, tt.d, nil)
		req, _ := http.NewRequest("POST", srv.URL+tt.d.prefix+"/x?mode=big&n=1", bytes.NewReader(bytes.Repeat([]byte("a"), tt.size)))
		req.Header.Set("Content-Type", tt.ct)
		if resp, body := do(t, req); resp.StatusCode != tt.status {
			t.Errorf("%s: POST %d bytes of %s = %d %.100s, want %d", tt.d.name, tt.size, tt.ct, resp.StatusCode, body, tt.status)
		}
	}

	// A buffered response over 6 MB is a function error: 502.
	srv := serveDoor(t, doors[0], nil)
	req, _ := http.NewRequest("GET", srv.URL+"/x?mode=big&n=7000000", nil)
	if resp, body := do(t, req); resp.StatusCode != 502 {
		t.Errorf("Function URL response of 7 MB = %d %.100s, want 502", resp.StatusCode, body)
	}
}

func TestFrontDoorTimeout(t *testing.T) {
	t.Parallel()
	for _, d := range doors[1:] {
		t.Run(d.name, func(t *testing.T) {
			g := newGate(t)
			srv := serveDoor(t, d, &FrontDoorOptions{Timeout: 100 * time.Millisecond})
			req, _ := http.NewRequest("GET", srv.URL+d.prefix+"/x?gate="+g.URL, nil)
			if resp, body := do(t, req); resp.StatusCode != http.StatusGatewayTimeout {
				t.Errorf("GET with a stuck function = %d %s, want 504", resp.StatusCode, body)
			}
		})
	}
}

func TestFrontDoorStreamsIncrementally(t *testing.T) {
	t.Parallel()
	for _, d := range []door{doors[0], doors[3]} {
		t.Run(d.name, func(t *testing.T) {
			g := newGate(t)
			srv := serveDoor(t, d, nil)
			resp, err := http.Get(srv.URL + d.prefix + "/x?mode=stream&chunks=one,two,three&gate=" + g.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("X-Echo") != "yes" {
				t.Fatalf("status %d headers %v, want 200 with the prelude's headers", resp.StatusCode, resp.Header)
			}
			// Each chunk reaches the client before the function may write
			// the next one.
			readN(t, resp.Body, "one")
			g.wait(t, 1)
			g.release <- struct{}{}
			readN(t, resp.Body, "two")
			g.wait(t, 1)
			g.release <- struct{}{}
			readN(t, resp.Body, "three")
		})
	}
}

func TestNewFrontDoorPanics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		door FrontDoor
		opts *FrontDoorOptions
	}{
		{FrontDoor("nlb"), nil},
		{HTTPAPI, &FrontDoorOptions{Stream: true}},
		{ALB, &FrontDoorOptions{Stream: true}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewFrontDoor(%s, %+v) did not panic", tc.door, tc.opts)
				}
			}()
			NewFrontDoor(&Function{}, tc.door, tc.opts)
		}()
	}
}

// A streamed response is written through by a function URL and a REST API
// in either mode; in buffered mode the front door warns that AWS would not
// stream it.
func TestFrontDoorStreamMode(t *testing.T) {
	t.Parallel()
	for _, d := range []door{doors[0], doors[3]} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s stream=%v", d.name, stream), func(t *testing.T) {
				log := new(syncio.Buffer)
				srv := serveDoor(t, d, &FrontDoorOptions{Stream: stream, Logger: slog.New(slog.NewTextHandler(log, nil))})
				req, _ := http.NewRequest("GET", srv.URL+d.prefix+"/x?mode=stream&chunks=a,b", nil)
				if resp, body := do(t, req); resp.StatusCode != 200 || string(body) != "ab" {
					t.Errorf("streamed GET = %d %q, want 200 ab", resp.StatusCode, body)
				}
				if warned := strings.Contains(log.String(), "this front door is buffered"); warned == stream {
					t.Errorf("warned about a buffered door: %v, want %v; log:\n%s", warned, !stream, log.String())
				}
			})
		}
	}
}

// TestFrontDoorALB checks both header modes of a load balancer's Lambda
// target group: the event the function gets, and the response the client
// gets, for each of the load balancer's own answers.
func TestFrontDoorALB(t *testing.T) {
	for _, mode := range []FrontDoor{ALB, ALBMultiValue} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			multi := mode == ALBMultiValue
			d := door{string(mode), mode, "", ""}
			srv := serveDoor(t, d, &FrontDoorOptions{Timeout: 5 * time.Second})

			req, _ := http.NewRequest("PUT", srv.URL+"/a/b%20c?x=1&x=2&enc=a%20b&status=201", strings.NewReader(`{"k":"v"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Add("X-Test", "t1")
			req.Header.Add("X-Test", "t2")
			req.Header.Set("Cookie", "c1=v1; c2=v2")
			resp, body := do(t, req)
			if resp.StatusCode != 201 {
				t.Fatalf("PUT = %d %s, want 201", resp.StatusCode, body)
			}
			wantCookies := []string{"b=2; Path=/"} // one value per name
			if multi {
				wantCookies = []string{"a=1", "b=2; Path=/"}
			}
			if diff := cmp.Diff(map[string][]string{"X-Echo": {"yes"}, "Set-Cookie": wantCookies},
				map[string][]string{"X-Echo": resp.Header.Values("X-Echo"), "Set-Cookie": resp.Header.Values("Set-Cookie")}); diff != "" {
				t.Errorf("response headers (-want +got):\n%s", diff)
			}
			var ev events.ALBTargetGroupRequest
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatal(err)
			}
			host := strings.TrimPrefix(srv.URL, "http://")
			want := events.ALBTargetGroupRequest{
				HTTPMethod: "PUT", Path: "/a/b%20c", Body: `{"k":"v"}`,
				RequestContext: events.ALBTargetGroupRequestContext{ELB: events.ELBContext{
					TargetGroupArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/mcplambda/6d0ecf831eec9f09"}},
			}
			headers := map[string][]string{"host": {host}, "content-type": {"application/json"}, "x-test": {"t1", "t2"},
				"cookie": {"c1=v1; c2=v2"}, "x-forwarded-for": {"127.0.0.1"}, "x-forwarded-proto": {"http"}}
			got := ev
			got.Headers, got.MultiValueHeaders = nil, nil
			if multi {
				want.MultiValueQueryStringParameters = map[string][]string{"x": {"1", "2"}, "enc": {"a%20b"}, "status": {"201"}}
				for k, vs := range headers {
					if diff := cmp.Diff(vs, ev.MultiValueHeaders[k]); diff != "" {
						t.Errorf("multiValueHeaders[%q] (-want +got):\n%s", k, diff)
					}
				}
			} else {
				want.QueryStringParameters = map[string]string{"x": "2", "enc": "a%20b", "status": "201"}
				for k, vs := range headers {
					if got := ev.Headers[k]; got != vs[len(vs)-1] {
						t.Errorf("headers[%q] = %q, want %q", k, got, vs[len(vs)-1])
					}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ALB event (-want +got):\n%s", diff)
			}

			albPage := func(code int) string {
				title := fmt.Sprintf("%d %s", code, http.StatusText(code))
				return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title + "</h1></center>\r\n</body>\r\n</html>\r\n"
			}
			g := newGate(t)
			tests := []struct {
				name   string
				method string
				path   string
				header string // a header of this many bytes
				body   int    // a request body of this many bytes
				status int
				want   string // the body; "" means the load balancer's page for status
			}{
				{"function error", "GET", "/x?mode=error", "", 0, 502, ""},
				{"not an ALB response", "GET", "/x?mode=raw", "", 0, 502, ""},
				{"response JSON over 1 MB", "GET", "/x?mode=big&n=1048576", "", 0, 502, ""},
				{"response within 1 MB", "GET", "/x?mode=big&n=1000", "", 0, 200, strings.Repeat("x", 1000)},
				{"streamed response, collected", "GET", "/x?mode=stream&status=202", "", 0, 202, "*"},
				{"request body over 1 MB", "POST", "/x?mode=big&n=1", "", maxALBBody + 1, 413, ""},
				{"request body of 1 MB", "POST", "/x?mode=big&n=1", "", maxALBBody, 200, "x"},
				{"header over 16 KB", "GET", "/x?mode=big&n=1", strings.Repeat("h", 16*1024), 0, 400, ""},
				{"idle timeout", "GET", "/x?gate=" + g.URL, "", 0, 504, ""},
			}
			for _, tt := range tests {
				req, _ := http.NewRequest(tt.method, srv.URL+tt.path, bytes.NewReader(bytes.Repeat([]byte("a"), tt.body)))
				req.Header.Set("Content-Type", "text/plain")
				if tt.header != "" {
					req.Header.Set("X-Big", tt.header)
				}
				if tt.name == "idle timeout" {
					srv := serveDoor(t, d, &FrontDoorOptions{Timeout: 100 * time.Millisecond})
					req, _ = http.NewRequest(tt.method, srv.URL+tt.path, nil)
				}
				resp, body := do(t, req)
				want := tt.want
				if want == "" {
					want = albPage(tt.status)
					if resp.Header.Get("Server") != "awselb/2.0" || resp.Header.Get("Content-Type") != "text/html" {
						t.Errorf("%s: headers %v, want the load balancer's own page", tt.name, resp.Header)
					}
				}
				if resp.StatusCode != tt.status || (want != "*" && string(body) != want) {
					t.Errorf("%s: %s %s = %d %.200q, want %d %.200q", tt.name, tt.method, tt.path, resp.StatusCode, body, tt.status, want)
				}
			}

			// Headers in the other mode's field do not reach the client.
			resp, body = do(t, mustRequest(t, "GET", srv.URL+"/x?mode=wrong"))
			if resp.StatusCode != 200 || resp.Header.Get("X-Echo") != "" || len(body) == 0 {
				t.Errorf("answer with the other mode's headers = %d %v, want 200 without them", resp.StatusCode, resp.Header)
			}
		})
	}
}

// TestFrontDoorHeaderLimit: API Gateway takes at most 10,240 bytes of
// request line and header values.
func TestFrontDoorHeaderLimit(t *testing.T) {
	for _, d := range []door{doors[0], doors[1], doors[3]} {
		t.Run(d.name, func(t *testing.T) {
			srv := serveDoor(t, d, nil)
			for _, n := range []int{8 * 1024, 11 * 1024} {
				req := mustRequest(t, "GET", srv.URL+d.prefix+"/x?mode=big&n=1")
				req.Header.Set("X-Big", strings.Repeat("h", n))
				want := 200
				if d.door != FunctionURL && n > maxAPIGatewayHeader {
					want = http.StatusRequestHeaderFieldsTooLarge
				}
				if resp, body := do(t, req); resp.StatusCode != want {
					t.Errorf("GET with a %d-byte header = %d %.100s, want %d", n, resp.StatusCode, body, want)
				}
			}
		})
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
