package sigv4_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/sigv4"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// capture is a base transport that records the signed request and answers
// 200 without sending it anywhere.
type capture struct {
	req  *http.Request
	body []byte
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.req = r
	if r.Body != nil {
		c.body, _ = io.ReadAll(r.Body)
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

// The credentials and time of AWS's SigV4 test suite
// (aws-sig-v4-test-suite, as published in the Signature Version 4
// documentation).
var (
	suiteCreds = credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "")
	suiteTime  = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
)

// TestSuiteVectors signs requests of AWS's published SigV4 test suite
// (the cases without a body, since the SDK signs Content-Length, which the
// suite's body cases do not) and compares the Authorization header with
// the suite's expected value.
func TestSuiteVectors(t *testing.T) {
	tests := []struct {
		name, method, url, want string
	}{
		{"get-vanilla", "GET", "https://example.amazonaws.com/",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"post-vanilla", "POST", "https://example.amazonaws.com/",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		{"get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &capture{}
			tr := sigv4.NewTransport(&sigv4.Options{Service: "service", Region: "us-east-1", Credentials: suiteCreds, Base: c,
				Now: func() time.Time { return suiteTime }})
			req, _ := http.NewRequest(tt.method, tt.url, nil)
			if _, err := tr.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			if got := c.req.Header.Get("Authorization"); got != tt.want {
				t.Errorf("Authorization = %q\nwant %q", got, tt.want)
			}
			if got := c.req.Header.Get("X-Amz-Date"); got != "20150830T123600Z" {
				t.Errorf("X-Amz-Date = %q", got)
			}
		})
	}
}

// refSign is an independent SigV4 implementation written from the
// specification (canonical request, string to sign, derived key), for
// derived known-answer checks of requests with a body, a session token
// and MCP headers. It signs the headers it is given, all of them.
func refSign(method, rawURL string, header http.Header, body []byte, akid, secret, region, service string, now time.Time) string {
	u, _ := url.Parse(rawURL)
	amzDate := now.Format("20060102T150405Z")
	date := now.Format("20060102")
	h := map[string]string{"host": u.Host, "x-amz-date": amzDate}
	for k, v := range header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	var names []string
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		fmt.Fprintf(&canonHeaders, "%s:%s\n", k, strings.TrimSpace(h[k]))
	}
	q := u.Query()
	var keys []string
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		for _, v := range q[k] {
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	bodyHash := sha256.Sum256(body)
	canon := strings.Join([]string{method, path, strings.Join(pairs, "&"), canonHeaders.String(),
		strings.Join(names, ";"), hex.EncodeToString(bodyHash[:])}, "\n")
	canonHash := sha256.Sum256([]byte(canon))
	scope := date + "/" + region + "/" + service + "/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonHash[:])
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	k := mac([]byte("AWS4"+secret), date)
	k = mac(k, region)
	k = mac(k, service)
	k = mac(k, "aws4_request")
	return "AWS4-HMAC-SHA256 Credential=" + akid + "/" + scope + ", SignedHeaders=" + strings.Join(names, ";") +
		", Signature=" + hex.EncodeToString(mac(k, sts))
}

// TestDerivedVectors compares the transport's signatures with refSign's
// for MCP-shaped requests.
func TestDerivedVectors(t *testing.T) {
	now := time.Date(2026, 7, 28, 9, 30, 15, 0, time.UTC)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_current_time","arguments":{"timezone":"UTC"}}}`)
	tests := []struct {
		name, url, session, service, region string
		contentSHA                          bool
	}{
		{"function URL", "https://abcdefghij.lambda-url.eu-west-1.on.aws/mcp", "", "lambda", "eu-west-1", false},
		{"execute-api with session token", "https://a1b2c3.execute-api.ap-southeast-2.amazonaws.com/prod/mcp", "SESSIONTOKEN", "execute-api", "ap-southeast-2", false},
		{"content sha256 header", "https://abcdefghij.lambda-url.us-east-1.on.aws/mcp?x=1", "", "lambda", "us-east-1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &capture{}
			creds := credentials.NewStaticCredentialsProvider("AKIDTEST", "secret/key+test", tt.session)
			tr := sigv4.NewTransport(&sigv4.Options{Credentials: creds, Base: c, ContentSHA256: tt.contentSHA, Now: func() time.Time { return now }})
			req, _ := http.NewRequest("POST", tt.url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
			req.Header.Set("Mcp-Method", "tools/call")
			if _, err := tr.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			signed := http.Header{
				"Content-Type":         {"application/json"},
				"Accept":               {"application/json, text/event-stream"},
				"Mcp-Protocol-Version": {"2026-07-28"},
				"Mcp-Method":           {"tools/call"},
				"Content-Length":       {fmt.Sprint(len(body))},
			}
			if tt.session != "" {
				signed.Set("X-Amz-Security-Token", tt.session)
			}
			if tt.contentSHA {
				sum := sha256.Sum256(body)
				signed.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
			}
			want := refSign("POST", tt.url, signed, body, "AKIDTEST", "secret/key+test", tt.region, tt.service, now)
			if diff := cmp.Diff(want, c.req.Header.Get("Authorization")); diff != "" {
				t.Errorf("Authorization (-want +got):\n%s", diff)
			}
			if !bytes.Equal(c.body, body) {
				t.Errorf("body sent = %q, want %q", c.body, body)
			}
			if req.Header.Get("Authorization") != "" {
				t.Errorf("the caller's request was modified")
			}
		})
	}
}

// verifier is an HTTP middleware that checks SigV4 signatures the way AWS
// does, by re-signing the received request with the SDK's own signer and
// the known secret, over the headers the client says it signed.
type verifier struct {
	secret          string
	service, region string

	mu     sync.Mutex
	dates  []string // X-Amz-Date of each verified request
	failed []string // why requests were refused
}

func (v *verifier) check(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("no SigV4 Authorization header: %q", auth)
	}
	fields := map[string]string{}
	for f := range strings.SplitSeq(rest, ", ") {
		k, val, _ := strings.Cut(f, "=")
		fields[k] = val
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 {
		return fmt.Errorf("bad credential scope %q", fields["Credential"])
	}
	if scope[2] != v.region || scope[3] != v.service {
		return fmt.Errorf("signed for %s/%s, want %s/%s", scope[2], scope[3], v.region, v.service)
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("bad X-Amz-Date: %v", err)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, need := range []string{"host", "x-amz-date"} {
		if !slices.Contains(signed, need) {
			return fmt.Errorf("%s is not signed", need)
		}
	}
	re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	re.ContentLength = int64(len(body))
	for _, h := range signed {
		switch h {
		case "host", "content-length":
			continue
		}
		re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	if slices.Contains(signed, "content-length") != (len(body) > 0) {
		return errors.New("content-length signed for an empty body, or not signed")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: v.secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hex.EncodeToString(sum[:]), scope[3], scope[2], when); err != nil {
		return err
	}
	if got, want := auth, re.Header.Get("Authorization"); got != want {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", got, want)
	}
	v.mu.Lock()
	v.dates = append(v.dates, r.Header.Get("X-Amz-Date"))
	v.mu.Unlock()
	return nil
}

func (v *verifier) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.check(r, body); err != nil {
			v.mu.Lock()
			v.failed = append(v.failed, err.Error())
			v.mu.Unlock()
			http.Error(w, `{"message":"The request signature we calculated does not match the signature you provided."}`, http.StatusForbidden)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
}

// dialTo returns a base transport that connects every request to addr,
// whatever its host, so that a test server can stand in for an AWS host.
func dialTo(addr string) *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
}

// TestMCPThroughVerifier runs go-sdk's streamable client with the signing
// transport against an MCP server behind a signature-verifying front door,
// reached under a function URL and an execute-api host name, in both
// protocol eras.
func TestMCPThroughVerifier(t *testing.T) {
	server := mcp.NewServer(&mcp.Implementation{Name: "signed", Version: "v1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, a struct{ Text string }) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: a.Text}}}, nil, nil
	})
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, DisableLocalhostProtection: true})
	tests := []struct {
		name, endpoint, service, region string
	}{
		{"function URL", "http://abcdefghij.lambda-url.eu-west-1.on.aws/mcp", "lambda", "eu-west-1"},
		{"execute-api", "http://a1b2c3.execute-api.us-west-2.amazonaws.com/prod/mcp", "execute-api", "us-west-2"},
	}
	for _, tt := range tests {
		for _, version := range []string{"2026-07-28", "2025-11-25"} {
			t.Run(tt.name+"/"+version, func(t *testing.T) {
				v := &verifier{secret: "s3cret", service: tt.service, region: tt.region}
				srv := httptest.NewServer(v.wrap(handler))
				defer srv.Close()
				tr := sigv4.NewTransport(&sigv4.Options{
					Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "s3cret", "TOKEN"),
					Base:        dialTo(srv.Listener.Addr().String()),
				})
				client := mcp.NewClient(&mcp.Implementation{Name: "sigv4-test", Version: "v1"}, nil)
				cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: tt.endpoint, HTTPClient: &http.Client{Transport: tr}},
					&mcp.ClientSessionOptions{ProtocolVersion: version})
				if err != nil {
					t.Fatalf("Connect: %v (refused: %v)", err, v.failed)
				}
				defer cs.Close()
				res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"Text": "signed"}})
				if err != nil {
					t.Fatalf("CallTool: %v (refused: %v)", err, v.failed)
				}
				if got := res.Content[0].(*mcp.TextContent).Text; got != "signed" {
					t.Errorf("CallTool(echo) = %q", got)
				}
				if len(v.failed) > 0 {
					t.Errorf("refused requests: %v", v.failed)
				}
			})
		}
	}

	t.Run("wrong secret is refused", func(t *testing.T) {
		v := &verifier{secret: "s3cret", service: "lambda", region: "eu-west-1"}
		srv := httptest.NewServer(v.wrap(handler))
		defer srv.Close()
		tr := sigv4.NewTransport(&sigv4.Options{
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "wrong", ""),
			Base:        dialTo(srv.Listener.Addr().String()),
		})
		client := mcp.NewClient(&mcp.Implementation{Name: "sigv4-test", Version: "v1"}, nil)
		_, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: tests[0].endpoint, HTTPClient: &http.Client{Transport: tr}}, nil)
		if err == nil || len(v.failed) == 0 || !strings.Contains(v.failed[0], "signature mismatch") {
			t.Errorf("Connect with a wrong secret = %v, refused %v; want a signature mismatch", err, v.failed)
		}
	})
}

// TestResign checks that every attempt is signed when it is sent: a
// redirect (307, body re-sent) and a repeated request carry their own
// valid signatures with their own dates.
func TestResign(t *testing.T) {
	v := &verifier{secret: "s3cret", service: "lambda", region: "eu-west-1"}
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(v.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.URL.Path+" "+string(b))
		mu.Unlock()
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/mcp", http.StatusTemporaryRedirect)
			return
		}
		io.WriteString(w, "ok")
	})))
	defer srv.Close()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := sigv4.NewTransport(&sigv4.Options{
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "s3cret", ""),
		Base:        dialTo(srv.Listener.Addr().String()),
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		},
	})
	client := &http.Client{Transport: tr}
	for range 2 {
		resp, err := client.Post("http://abcdefghij.lambda-url.eu-west-1.on.aws/old", "application/json", strings.NewReader(`{"n":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d, refused: %v", resp.StatusCode, v.failed)
		}
	}
	want := []string{`/old {"n":1}`, `/mcp {"n":1}`, `/old {"n":1}`, `/mcp {"n":1}`}
	if diff := cmp.Diff(want, bodies); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	wantDates := []string{"20260101T000001Z", "20260101T000002Z", "20260101T000003Z", "20260101T000004Z"}
	if diff := cmp.Diff(wantDates, v.dates); diff != "" {
		t.Errorf("signing dates (-want +got):\n%s", diff)
	}
}

func TestHostService(t *testing.T) {
	tests := []struct {
		host, service, region string
		ok                    bool
	}{
		{"abcdefghij.lambda-url.eu-west-1.on.aws", "lambda", "eu-west-1", true},
		{"ABCDEFGHIJ.LAMBDA-URL.EU-WEST-1.ON.AWS:443", "lambda", "eu-west-1", true},
		{"a1b2c3.execute-api.us-east-2.amazonaws.com", "execute-api", "us-east-2", true},
		{"a1b2c3-vpce-0123.execute-api.us-east-2.vpce.amazonaws.com", "execute-api", "us-east-2", true},
		{"a1b2c3.execute-api.cn-north-1.amazonaws.com.cn", "execute-api", "cn-north-1", true},
		{"mcp.example.com", "", "", false},
		{"lambda-url.example.com", "", "", false},
	}
	for _, tt := range tests {
		s, r, ok := sigv4.HostService(tt.host)
		if s != tt.service || r != tt.region || ok != tt.ok {
			t.Errorf("HostService(%q) = %q, %q, %v, want %q, %q, %v", tt.host, s, r, ok, tt.service, tt.region, tt.ok)
		}
	}
}

type failingCreds struct{}

func (failingCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, errors.New("no profile named dev")
}

func TestErrors(t *testing.T) {
	static := credentials.NewStaticCredentialsProvider("AKID", "secret", "")
	tests := []struct {
		name string
		opts sigv4.Options
		url  string
		want string
	}{
		{"custom domain without service", sigv4.Options{Credentials: static, Region: "us-east-1"}, "https://mcp.example.com/mcp", "cannot tell the service"},
		{"custom domain without region", sigv4.Options{Credentials: static, Service: "execute-api"}, "https://mcp.example.com/mcp", "no region"},
		{"credentials fail", sigv4.Options{Credentials: failingCreds{}}, "https://abc.lambda-url.us-east-1.on.aws/mcp", "retrieving AWS credentials: no profile named dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Base = &capture{}
			req, _ := http.NewRequest("POST", tt.url, strings.NewReader("{}"))
			_, err := sigv4.NewTransport(&tt.opts).RoundTrip(req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("RoundTrip() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestRefresh: credentials from the default chain (here a shared
// credentials file) are loaded once; after Refresh the next request loads
// them again, picking up rotated keys, even a new secret of the same
// access key id.
func TestRefresh(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials")
	write := func(key, secret string) {
		if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = "+key+"\naws_secret_access_key = "+secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, _, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="), "/")
		for _, secret := range []string{"one", "two", "three"} {
			if (&verifier{secret: secret, service: "lambda", region: "eu-west-1"}).check(r, nil) == nil {
				cred += "/" + secret
			}
		}
		keys = append(keys, cred)
	}))
	defer srv.Close()
	client := &http.Client{Transport: sigv4.NewTransport(&sigv4.Options{Service: "lambda", Region: "eu-west-1"})}
	get := func() {
		resp, err := client.Get(srv.URL + "/mcp")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	write("AKIDFIRST", "one")
	get()
	write("AKIDSECOND", "two")
	get()
	client.Transport.(*sigv4.Transport).Refresh()
	get()
	write("AKIDSECOND", "three")
	client.Transport.(*sigv4.Transport).Refresh()
	get()
	if diff := cmp.Diff([]string{"AKIDFIRST/one", "AKIDFIRST/one", "AKIDSECOND/two", "AKIDSECOND/three"}, keys); diff != "" {
		t.Errorf("access keys signed with (-want +got):\n%s", diff)
	}
}
