package mcplambda

import (
	"context"
	"testing"
)

// FuzzLambdaHandler feeds arbitrary payloads to the Lambda handler: whatever
// a caller sends, the handler answers or returns an error; it never panics.
// The seeds are the front-door fixtures and some direct-invoke messages.
func FuzzLambdaHandler(f *testing.F) {
	entries, _ := fixtures.ReadDir("testdata/events")
	for _, e := range entries {
		b, _ := fixtures.ReadFile("testdata/events/" + e.Name())
		f.Add(b)
	}
	for _, s := range []string{
		callBody("echo", echoIn{Text: "x"}),
		`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		`{"version":"2.0","requestContext":{"http":{"method":"POST"},"domainName":"x.lambda-url.us-east-1.on.aws"},"body":"e30=","isBase64Encoded":true}`,
		`{"httpMethod":"POST","requestContext":{"elb":{}},"multiValueHeaders":{"content-type":[]}}`,
	} {
		f.Add([]byte(s))
	}
	lh := NewLambdaHandler(NewHandler(newTestServer(f, nil), nil), nil)
	f.Fuzz(func(t *testing.T, payload []byte) {
		lh.Invoke(context.Background(), payload)
	})
}
