package auth_test

import (
	"context"
	"embed"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authtest"
)

//go:embed testdata/events/*.json
var events embed.FS

// invoke sends the event fixture name, with body and extra headers, to h
// as Lambda would, and returns the status and the whoami result. trust is
// mcplambda.Options.TrustFrontDoor.
func invoke(t *testing.T, h http.Handler, trust bool, name, body string, header map[string]string) (int, whoami) {
	t.Helper()
	raw, err := events.ReadFile("testdata/events/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["body"] = body
	hdrs := ev["headers"].(map[string]any)
	for k, v := range header {
		hdrs[k] = v
	}
	if mv, ok := ev["multiValueHeaders"].(map[string]any); ok {
		for k, v := range header {
			mv[k] = []string{v}
		}
	}
	payload, _ := json.Marshal(ev)
	out, err := mcplambda.NewLambdaHandler(h, &mcplambda.Options{TrustFrontDoor: trust}).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke(%s) = %v", name, err)
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("Invoke(%s): decoding %s: %v", name, out, err)
	}
	var rpc struct {
		Result struct {
			StructuredContent whoami `json:"structuredContent"`
		} `json:"result"`
	}
	json.Unmarshal([]byte(resp.Body), &rpc)
	return resp.StatusCode, rpc.Result.StructuredContent
}

func TestFrontDoor(t *testing.T) {
	const resource = "https://mcp.example.com/mcp"
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	v, err := auth.NewJWTVerifier(iss.URL, resource, nil)
	if err != nil {
		t.Fatal(err)
	}
	newHandler := func(o auth.Options) http.Handler {
		o.Scopes = testScopes.Scopes
		o.ToolScopes = testScopes.ToolScopes
		rs := auth.NewResourceServer(resource, v.Verify, &o)
		return rs.Handler(mcplambda.NewHandler(newMCPServer(), nil))
	}
	plain := newHandler(auth.Options{})
	iamScoped := newHandler(auth.Options{IAMScopes: []string{"mcp:tools"}})
	cognito := "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example"
	token := iss.Token("bob", resource, "mcp:tools")

	for _, tc := range []struct {
		name   string
		h      http.Handler
		trust  bool // mcplambda.Options.TrustFrontDoor
		event  string
		tool   string
		header map[string]string
		want   int
		who    whoami
	}{
		{name: "HTTP API JWT authorizer", h: plain, trust: true, event: "httpapi-jwt", want: 200,
			who: whoami{Principal: cognito + "#user-123", Source: "frontdoor-jwt", UserID: cognito + "#user-123", Scopes: []string{"mcp:tools", "openid"}}},
		{name: "REST Cognito authorizer", h: plain, trust: true, event: "rest-cognito", want: 200,
			who: whoami{Principal: cognito + "#cognito-user-1", Source: "frontdoor-jwt", UserID: cognito + "#cognito-user-1", Scopes: []string{"mcp:tools"}}},
		{name: "REST Cognito authorizer with an ID token", h: plain, trust: true, event: "rest-cognito-idtoken", want: 401},
		{name: "REST Lambda authorizer", h: plain, trust: true, event: "rest-lambda-authorizer", want: 200,
			who: whoami{Principal: "https://issuer.example#user-9", Source: "authorizer", UserID: "https://issuer.example#user-9", Scopes: []string{"mcp:tools"}}},
		{name: "REST Lambda authorizer, scoped tool", h: plain, trust: true, event: "rest-lambda-authorizer", tool: "delete", want: 403},
		{name: "HTTP API Lambda authorizer, scoped tool", h: plain, trust: true, event: "httpapi-lambda-authorizer", tool: "delete", want: 200},
		{name: "IAM without IAMScopes", h: plain, trust: true, event: "url-iam", want: 403},
		{name: "IAM with IAMScopes", h: iamScoped, trust: true, event: "url-iam", want: 200,
			who: whoami{Principal: "arn:aws:iam::111122223333:user/example-user", Source: "iam", UserID: "arn:aws:iam::111122223333:user/example-user", Scopes: []string{"mcp:tools"}}},
		{name: "no front-door identity falls back to bearer", h: plain, trust: true, event: "url-none", header: map[string]string{"authorization": "Bearer " + token}, want: 200,
			who: whoami{Principal: iss.URL + "#bob", Source: "bearer", UserID: iss.URL + "#bob", Scopes: []string{"mcp:tools"}}},
		{name: "no front-door identity, no token", h: plain, trust: true, event: "url-none", want: 401},
		{name: "not trusted: JWT authorizer", h: plain, event: "httpapi-jwt", want: 401},
		{name: "not trusted: Cognito", h: plain, event: "rest-cognito", want: 401},
		{name: "not trusted: Lambda authorizer", h: plain, event: "rest-lambda-authorizer", want: 401},
		{name: "not trusted: IAM", h: plain, event: "url-iam", want: 401},
		{name: "not trusted: bearer still works", h: plain, event: "url-none", header: map[string]string{"authorization": "Bearer " + token}, want: 200,
			who: whoami{Principal: iss.URL + "#bob", Source: "bearer", UserID: iss.URL + "#bob", Scopes: []string{"mcp:tools"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tool := tc.tool
			if tool == "" {
				tool = "whoami"
			}
			status, who := invoke(t, tc.h, tc.trust, tc.event, callBody(tool), tc.header)
			if status != tc.want {
				t.Errorf("Invoke(%s, %s): status = %d, want %d", tc.event, tool, status, tc.want)
			}
			if diff := cmp.Diff(tc.who, who); diff != "" {
				t.Errorf("Invoke(%s, %s): whoami (-want +got):\n%s", tc.event, tool, diff)
			}
		})
	}
}

// TestMetadataBehindStage serves the metadata through a REST API stage,
// at the URL inside the stage that Options.ResourceMetadataURL announces.
func TestMetadataBehindStage(t *testing.T) {
	const resource = "https://1234567890.execute-api.us-east-1.amazonaws.com/prod/mcp"
	rs := auth.NewResourceServer(resource, nil, &auth.Options{
		AuthorizationServers: []string{"https://issuer.example"},
		ResourceMetadataURL:  "https://1234567890.execute-api.us-east-1.amazonaws.com/prod/.well-known/oauth-protected-resource/prod/mcp",
	})
	h := mcplambda.NewLambdaHandler(rs.Handler(mcplambda.NewHandler(newMCPServer(), nil)), nil)
	raw, _ := events.ReadFile("testdata/events/rest-cognito.json")
	var ev map[string]any
	json.Unmarshal(raw, &ev)
	ev["httpMethod"] = "GET"
	ev["path"] = "/prod/.well-known/oauth-protected-resource/prod/mcp"
	ev["resource"] = "/{proxy+}"
	payload, _ := json.Marshal(ev)
	out, err := h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	json.Unmarshal(out, &resp)
	var meta struct {
		Resource string `json:"resource"`
	}
	json.Unmarshal([]byte(resp.Body), &meta)
	if resp.StatusCode != 200 || meta.Resource != resource {
		t.Errorf("GET metadata through stage prod: status %d, resource %q; want 200, %q", resp.StatusCode, meta.Resource, resource)
	}
}
