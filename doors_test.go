package mcplambda

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

//go:embed testdata/events/*.json
var fixtures embed.FS

// doors lists the front doors with the fixture each test event starts from.
var doors = []struct {
	name    string
	fixture string
}{
	{"url", "url.json"},
	{"httpapi", "httpapi.json"},
	{"rest", "rest.json"},
	{"alb", "alb.json"},
	{"alb-multi", "alb-multi.json"},
}

func fixture(t testing.TB, name string, v any) {
	t.Helper()
	b, err := fixtures.ReadFile("testdata/events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
}

// doorTransport is an http.RoundTripper that does what a front door does:
// it turns the request into the door's event, invokes the Lambda handler
// in process, and turns the result back into an HTTP response. It lets
// go-sdk's real client talk to NewLambdaHandler. (lambdatest does the same
// with a real bootstrap process; this one keeps the root package's tests
// self-contained.)
type doorTransport struct {
	t    testing.TB
	door string
	h    lambda.Handler
}

func (d *doorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	if req.Header.Get("X-Forwarded-For") == "" {
		// What a client claims first, what the load balancer saw last.
		req.Header.Set("X-Forwarded-For", "203.0.113.50, 72.12.164.125")
	}
	payload := makeEvent(d.t, d.door, req, body)
	out, err := d.h.Invoke(req.Context(), payload)
	if err != nil {
		return &http.Response{StatusCode: 502, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"message":"Internal Server Error"}`)), Request: req}, nil
	}
	return parseResponse(d.t, d.door, out, req), nil
}

func encode(body []byte) (string, bool) {
	if utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// makeEvent builds the JSON event a front door would send for req.
func makeEvent(t testing.TB, door string, req *http.Request, body []byte) []byte {
	t.Helper()
	text, b64 := encode(body)
	path := req.URL.Path
	var ev any
	switch door {
	case "url", "httpapi":
		var e events.APIGatewayV2HTTPRequest
		fixture(t, door+".json", &e)
		if door == "httpapi" {
			path = "/" + e.RequestContext.Stage + path
		}
		e.RawPath, e.RequestContext.HTTP.Path = path, path
		e.RequestContext.HTTP.Method = req.Method
		e.RawQueryString = req.URL.RawQuery
		e.Headers = map[string]string{}
		e.Cookies = nil
		for k, vs := range req.Header {
			if k == "Cookie" {
				for _, c := range vs {
					for part := range strings.SplitSeq(c, ";") {
						e.Cookies = append(e.Cookies, strings.TrimSpace(part))
					}
				}
				continue
			}
			e.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
		}
		e.Body, e.IsBase64Encoded = text, b64
		ev = e
	case "rest":
		var e events.APIGatewayProxyRequest
		fixture(t, "rest.json", &e)
		e.HTTPMethod, e.Path = req.Method, path
		e.Headers, e.MultiValueHeaders = map[string]string{}, map[string][]string{}
		for k, vs := range req.Header {
			e.Headers[k] = vs[len(vs)-1]
			e.MultiValueHeaders[k] = vs
		}
		e.QueryStringParameters, e.MultiValueQueryStringParameters = nil, req.URL.Query()
		e.Body, e.IsBase64Encoded = text, b64
		ev = e
	case "alb", "alb-multi":
		var e events.ALBTargetGroupRequest
		fixture(t, door+".json", &e)
		e.HTTPMethod, e.Path = req.Method, path
		if door == "alb" {
			e.Headers = map[string]string{}
			for k, vs := range req.Header {
				e.Headers[strings.ToLower(k)] = vs[len(vs)-1]
			}
			e.QueryStringParameters = map[string]string{}
			for k, vs := range req.URL.Query() {
				e.QueryStringParameters[k] = vs[len(vs)-1]
			}
		} else {
			e.MultiValueHeaders = map[string][]string{}
			for k, vs := range req.Header {
				e.MultiValueHeaders[strings.ToLower(k)] = vs
			}
			e.MultiValueQueryStringParameters = req.URL.Query()
		}
		e.Body, e.IsBase64Encoded = text, b64
		ev = e
	default:
		t.Fatalf("unknown door %q", door)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseResponse turns a handler's response payload into an HTTP response,
// as the front door would.
func parseResponse(t testing.TB, door string, out []byte, req *http.Request) *http.Response {
	t.Helper()
	var r struct {
		StatusCode        int                 `json:"statusCode"`
		StatusDescription string              `json:"statusDescription"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		Cookies           []string            `json:"cookies"`
		Body              string              `json:"body"`
		IsBase64Encoded   bool                `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: bad response payload %s: %v", door, out, err)
	}
	h := http.Header{}
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	for k, vs := range r.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range r.Cookies {
		h.Add("Set-Cookie", c)
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			t.Fatalf("%s: bad base64 body: %v", door, err)
		}
	}
	return &http.Response{
		StatusCode:    r.StatusCode,
		Status:        r.StatusDescription,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// invokeDoor sends one request through door to h and returns the response.
func invokeDoor(t testing.TB, door string, h lambda.Handler, method, path string, header http.Header, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, "https://example.com"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := (&doorTransport{t: t, door: door, h: h}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
