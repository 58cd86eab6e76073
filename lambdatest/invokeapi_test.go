package lambdatest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

// newLambdaClient returns a real AWS SDK Lambda client for the Invoke API
// at url, with fake static credentials and no retries.
func newLambdaClient(url string) *lambda.Client {
	return lambda.New(lambda.Options{
		BaseEndpoint:     aws.String(url),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDFAKE", "secretfake", ""),
		RetryMaxAttempts: 1,
	})
}

func TestInvokeAPIWithSDK(t *testing.T) {
	t.Parallel()
	reports := make(chan Report, 10)
	f := newFunction(t, "behave", &Options{
		FunctionName: "behave",
		Aliases:      []string{"live"},
		OnReport:     func(r Report) { reports <- r },
	})
	srv := httptest.NewServer(NewInvokeAPI(f))
	defer srv.Close()
	client := newLambdaClient(srv.URL)
	ctx := context.Background()

	type result struct {
		Status          int32
		Payload         string
		FunctionError   string
		ExecutedVersion string
		Err             string // the SDK's error type
	}
	tests := []struct {
		name string
		in   *lambda.InvokeInput
		want result
	}{
		{
			name: "request response",
			in:   &lambda.InvokeInput{FunctionName: aws.String("behave"), Payload: []byte(`{"op":"echo","data":"hi"}`)},
			want: result{Status: 200, Payload: `"hi"`, ExecutedVersion: "$LATEST"},
		},
		{
			name: "full ARN with alias qualifier",
			in: &lambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:behave:live"),
				Payload: []byte(`{"op":"echo","data":1}`)},
			want: result{Status: 200, Payload: `1`, ExecutedVersion: "$LATEST"},
		},
		{
			name: "partial ARN with Qualifier",
			in: &lambda.InvokeInput{FunctionName: aws.String("123456789012:function:behave"), Qualifier: aws.String("$LATEST"),
				Payload: []byte(`{"op":"echo","data":2}`)},
			want: result{Status: 200, Payload: `2`, ExecutedVersion: "$LATEST"},
		},
		{
			name: "function error",
			in:   &lambda.InvokeInput{FunctionName: aws.String("behave"), Payload: []byte(`{"op":"error","message":"nope"}`)},
			want: result{Status: 200, Payload: `{"errorMessage":"nope","errorType":"myError"}`, FunctionError: "Unhandled", ExecutedVersion: "$LATEST"},
		},
		{
			name: "dry run",
			in:   &lambda.InvokeInput{FunctionName: aws.String("behave"), InvocationType: types.InvocationTypeDryRun},
			want: result{Status: 204},
		},
		{
			name: "unknown function",
			in:   &lambda.InvokeInput{FunctionName: aws.String("nope"), Payload: []byte(`{}`)},
			want: result{Err: "ResourceNotFoundException"},
		},
		{
			name: "unknown qualifier",
			in:   &lambda.InvokeInput{FunctionName: aws.String("behave"), Qualifier: aws.String("7"), Payload: []byte(`{}`)},
			want: result{Err: "ResourceNotFoundException"},
		},
		{
			name: "too large",
			in:   &lambda.InvokeInput{FunctionName: aws.String("behave"), Payload: []byte(`"` + strings.Repeat("x", MaxPayload) + `"`)},
			want: result{Err: "RequestTooLargeException"},
		},
		{
			name: "not JSON",
			in:   &lambda.InvokeInput{FunctionName: aws.String("behave"), Payload: []byte(`{not json`)},
			want: result{Err: "InvalidRequestContentException"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.Invoke(ctx, tt.in)
			var got result
			if err != nil {
				var ae interface{ ErrorCode() string }
				if !errors.As(err, &ae) {
					t.Fatalf("Invoke() error = %v, want an API error", err)
				}
				got.Err = ae.ErrorCode()
			} else {
				got = result{out.StatusCode, string(out.Payload), aws.ToString(out.FunctionError), aws.ToString(out.ExecutedVersion), ""}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Invoke() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Drain the reports of the synchronous invocations above (4 ran).
	for range 4 {
		<-reports
	}

	t.Run("event", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:   aws.String("behave"),
			InvocationType: types.InvocationTypeEvent,
			Payload:        []byte(`{"op":"echo","data":"async"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 202 || len(out.Payload) != 0 {
			t.Errorf("Invoke(Event) = %d %q, want 202 and no payload", out.StatusCode, out.Payload)
		}
		// The invocation runs in the background: wait for its report.
		if r := <-reports; r.Err != "" {
			t.Errorf("async invocation report = %+v, want success", r)
		}
	})

	t.Run("client context", func(t *testing.T) {
		out, err := client.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:  aws.String("behave"),
			ClientContext: aws.String(base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))),
			Payload:       []byte(`{"op":"env"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out.Payload, []byte(`"clientContext":{"k":"v"}`)) {
			t.Errorf("payload %s does not show the client context", out.Payload)
		}
	})
}

func TestInvokeAPIThrottle(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	f := newFunction(t, "behave", &Options{FunctionName: "fn", Throttle: true})
	srv := httptest.NewServer(NewInvokeAPI(f))
	defer srv.Close()
	client := newLambdaClient(srv.URL)
	go func() { _, _ = f.Invoke(context.Background(), []byte(`{"op":"wait","gate":"`+g.URL+`"}`)) }()
	g.wait(t, 1)
	_, err := client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte(`{"op":"pid"}`)})
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) {
		t.Fatalf("Invoke() while busy = %v, want TooManyRequestsException", err)
	}
	if got := string(tm.Reason); got != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Errorf("Reason = %q", got)
	}
}

func TestInvokeAPIResponseStream(t *testing.T) {
	t.Parallel()
	f := newFunction(t, "behave", &Options{FunctionName: "fn"})
	srv := httptest.NewServer(NewInvokeAPI(f))
	defer srv.Close()
	client := newLambdaClient(srv.URL)

	tests := []struct {
		name       string
		payload    string
		wantBody   string
		wantErr    string
		wantDetail string
	}{
		{"stream", `{"op":"stream","chunks":["one","two","three"]}`, "onetwothree", "", ""},
		{"buffered handler", `{"op":"echo","data":{"a":1}}`, `{"a":1}`, "", ""},
		{"error trailer", `{"op":"stream","chunks":["a"],"message":"broke"}`, "a", "myError", "broke"},
		{"function error", `{"op":"error","message":"bad"}`, "", "myError", "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.InvokeWithResponseStream(context.Background(), &lambda.InvokeWithResponseStreamInput{
				FunctionName: aws.String("fn"),
				Payload:      []byte(tt.payload),
			})
			if err != nil {
				t.Fatal(err)
			}
			stream := out.GetStream()
			defer stream.Close()
			var body bytes.Buffer
			var complete *types.InvokeWithResponseStreamCompleteEvent
			for ev := range stream.Events() {
				switch v := ev.(type) {
				case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
					body.Write(v.Value.Payload)
				case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
					complete = &v.Value
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream error: %v", err)
			}
			if complete == nil {
				t.Fatal("no InvokeComplete event")
			}
			got := []string{body.String(), aws.ToString(complete.ErrorCode), aws.ToString(complete.ErrorDetails)}
			if diff := cmp.Diff([]string{tt.wantBody, tt.wantErr, tt.wantDetail}, got); diff != "" {
				t.Errorf("InvokeWithResponseStream (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvokeAPIRoutes(t *testing.T) {
	t.Parallel()
	f := newFunction(t, "behave", &Options{FunctionName: "fn"})
	srv := httptest.NewServer(NewInvokeAPI(f))
	defer srv.Close()
	tests := []struct {
		method, path string
		header       map[string]string
		want         int
	}{
		{"GET", "/2015-03-31/functions/fn/invocations", nil, 404},
		{"POST", "/2015-03-31/functions/fn:a:b:c:d/invocations", nil, 400},
		{"POST", "/2015-03-31/functions/fn/invocations", map[string]string{"X-Amz-Invocation-Type": "Bogus"}, 400},
		{"POST", "/2015-03-31/functions/fn/invocations", map[string]string{"X-Amz-Invocation-Type": "Event"}, 202},
		{"POST", "/2015-03-31/functions/fn:$LATEST/invocations?Qualifier=live", nil, 400},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{"op":"pid"}`))
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s %v = %d, want %d", tt.method, tt.path, tt.header, resp.StatusCode, tt.want)
		}
	}
}

// TestInvokeAPIBrowserRequests sends what a web page the developer visits
// could send to the Invoke API on their machine: none of it may run the
// function. The AWS SDK and CLI (no Origin, a loopback Host, no
// Content-Type or application/octet-stream) still get through.
func TestInvokeAPIBrowserRequests(t *testing.T) {
	t.Parallel()
	var reports reports
	f := newFunction(t, "behave", &Options{FunctionName: "fn", OnReport: reports.add})
	srv := httptest.NewServer(NewInvokeAPI(f))
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	const (
		invoke = "/2015-03-31/functions/fn/invocations"
		stream = "/2021-11-15/functions/fn/response-streaming-invocations"
	)
	type want struct {
		Status    int
		ErrorType string // X-Amzn-ErrorType, and the body's Type/message are checked when set
	}
	tests := []struct {
		name         string
		method, path string
		host         string // "" means the server's own address
		header       map[string]string
		want         want
	}{
		// The AWS CLI (botocore) sends no Content-Type for Invoke; the Go
		// SDK v2 sends application/octet-stream (none without a payload).
		{"aws cli", "POST", invoke, "", nil, want{Status: 200}},
		{"go sdk", "POST", invoke, "", map[string]string{"Content-Type": "application/octet-stream"}, want{Status: 200}},
		{"json", "POST", invoke, "", map[string]string{"Content-Type": "application/json; charset=utf-8"}, want{Status: 200}},
		{"localhost", "POST", invoke, "localhost:" + port, nil, want{Status: 200}},
		{"ipv6 loopback name", "POST", invoke, "[::1]:" + port, nil, want{Status: 200}},
		// A "simple request" (no preflight) from a page: text/plain, with
		// the page's Origin.
		{"simple request from a page", "POST", invoke, "", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, want{403, "AccessDeniedException"}},
		{"form post from a page", "POST", invoke, "", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}, want{403, "AccessDeniedException"}},
		{"fetch without a body type", "POST", invoke, "", map[string]string{"Origin": "https://evil.example"}, want{403, "AccessDeniedException"}},
		{"sandboxed page", "POST", invoke, "", map[string]string{"Content-Type": "application/json", "Origin": "null"}, want{403, "AccessDeniedException"}},
		{"same origin", "POST", invoke, "", map[string]string{"Origin": "http://127.0.0.1:" + port}, want{403, "AccessDeniedException"}},
		{"stream from a page", "POST", stream, "", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, want{403, "AccessDeniedException"}},
		{"preflight", "OPTIONS", invoke, "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, want{403, "AccessDeniedException"}},
		// After DNS rebinding the page's requests carry its own domain.
		{"rebinding", "POST", invoke, "evil.example", map[string]string{"Content-Type": "application/json"}, want{403, "AccessDeniedException"}},
		{"rebinding with port", "POST", invoke, "evil.example:" + port, nil, want{403, "AccessDeniedException"}},
		{"rebinding stream", "POST", stream, "evil.example:" + port, nil, want{403, "AccessDeniedException"}},
		// Bodies a browser can send without a preflight are not Invoke's.
		{"text/plain", "POST", invoke, "", map[string]string{"Content-Type": "text/plain"}, want{415, "UnsupportedMediaTypeException"}},
		{"form", "POST", invoke, "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, want{415, "UnsupportedMediaTypeException"}},
		{"multipart", "POST", invoke, "", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, want{415, "UnsupportedMediaTypeException"}},
		{"text/plain stream", "POST", stream, "", map[string]string{"Content-Type": "text/plain"}, want{415, "UnsupportedMediaTypeException"}},
	}
	ran := 0
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{"op":"echo","data":"ran"}`))
		if err != nil {
			t.Fatal(err)
		}
		if tt.host != "" {
			req.Host = tt.host
		}
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := want{Status: resp.StatusCode}
		if resp.StatusCode != 200 {
			got.ErrorType = resp.Header.Get("X-Amzn-ErrorType")
			var doc struct{ Type, Message string }
			if err := json.Unmarshal(body, &doc); err != nil || doc.Type != "User" || doc.Message == "" {
				t.Errorf("%s: error body %q, want Lambda's JSON error with a Type and a message", tt.name, body)
			}
		} else {
			ran++
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: %s %s (Host %q, %v) mismatch (-want +got):\n%s\nbody: %q", tt.name, tt.method, tt.path, tt.host, tt.header, diff, body)
		}
	}
	f.Close() // delivers every report
	if n := len(reports.all()); n != ran {
		t.Errorf("the function ran %d times, want %d (only for the accepted requests)", n, ran)
	}
}
