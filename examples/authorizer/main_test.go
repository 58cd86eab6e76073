package main

import (
	"context"
	"embed"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/identity"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

//go:embed testdata/*.json
var testdata embed.FS

const (
	resource  = "https://1234567890.execute-api.us-east-1.amazonaws.com/prod/mcp"
	stageARN  = "arn:aws:execute-api:us-east-1:123456789012:1234567890/prod/*"
	testScope = "mcp:tools"
)

func newTestAuthorizer(t *testing.T, iss *authtest.Issuer) *authorizer {
	t.Helper()
	env := map[string]string{"ISSUER": iss.URL, "RESOURCE": resource, "SCOPES": testScope}
	a, err := newAuthorizer(func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// event returns the fixture name with TOKEN replaced by authz's token part
// and edit applied to the decoded JSON.
func event(t *testing.T, name, authz string, edit func(map[string]any)) json.RawMessage {
	t.Helper()
	raw, err := testdata.ReadFile("testdata/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	raw = []byte(strings.ReplaceAll(string(raw), "Bearer TOKEN", authz))
	if edit == nil {
		return raw
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	edit(ev)
	raw, _ = json.Marshal(ev)
	return raw
}

func TestAuthorizer(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	a := newTestAuthorizer(t, iss)
	good := iss.Token("alice", resource, "mcp")
	expired := func() string {
		c := iss.Claims("alice", resource, testScope)
		c["exp"] = time.Now().Add(-time.Hour).Unix()
		return iss.Sign(c)
	}()
	wrongAud := iss.Token("alice", "https://other.example/mcp", testScope)
	noScope := iss.Token("alice", resource, "profile")
	principal := iss.URL + "#alice"
	allowCtx := map[string]any{"iss": iss.URL, "sub": "alice", "scope": "mcp", "client_id": iss.ClientID()}

	for _, kind := range []string{"token", "request"} {
		for _, tc := range []struct {
			name       string
			authz      string
			edit       func(map[string]any)
			wantErr    string // "" for a policy
			wantEffect string
			wantPrin   string
			wantCtx    map[string]any
		}{
			{name: "valid", authz: "Bearer " + good, wantEffect: "Allow", wantPrin: principal, wantCtx: allowCtx},
			{name: "lower-case scheme", authz: "bearer " + good, wantEffect: "Allow", wantPrin: principal, wantCtx: allowCtx},
			{name: "expired", authz: "Bearer " + expired, wantErr: "Unauthorized"},
			{name: "wrong audience", authz: "Bearer " + wrongAud, wantErr: "Unauthorized"},
			{name: "garbage", authz: "Bearer garbage", wantErr: "Unauthorized"},
			{name: "basic", authz: "Basic YWxpY2U6c2VjcmV0", wantErr: "Unauthorized"},
			{name: "empty", authz: "", wantErr: "Unauthorized"},
			{name: "missing scope", authz: "Bearer " + noScope, wantEffect: "Deny", wantPrin: principal},
			{name: "bad methodArn", authz: "Bearer " + good, edit: func(ev map[string]any) { ev["methodArn"] = "arn:aws:lambda:us-east-1:1:function:f" }, wantErr: "bad methodArn"},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				resp, err := a.handle(context.Background(), event(t, kind, tc.authz, tc.edit))
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("handle = %v, want error %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("handle = %v", err)
				}
				want := policy(tc.wantPrin, tc.wantEffect, stageARN, tc.wantCtx)
				if diff := cmp.Diff(want, resp); diff != "" {
					t.Errorf("handle (-want +got):\n%s", diff)
				}
			})
		}
	}

	// REQUEST authorizers see the query string: tokens there are refused.
	resp, err := a.handle(context.Background(), event(t, "request", "Bearer "+good, func(ev map[string]any) {
		ev["queryStringParameters"] = map[string]any{"access_token": good}
		ev["multiValueQueryStringParameters"] = map[string]any{"access_token": []string{good}}
	}))
	if err != nil || resp.PolicyDocument.Statement[0].Effect != "Deny" {
		t.Errorf("handle(REQUEST with access_token in the query) = %+v, %v; want a Deny policy", resp, err)
	}
	// A token signed with alg none never gets a policy.
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, iss.Claims("alice", resource, testScope))
	_, kid := iss.Key()
	tok.Header["kid"] = kid
	none, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if _, err := a.handle(context.Background(), event(t, "token", "Bearer "+none, nil)); err == nil || err.Error() != "Unauthorized" {
		t.Errorf("handle(alg none) = %v, want Unauthorized", err)
	}
}

func TestStageWildcard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"arn:aws:execute-api:us-east-1:123456789012:abc/prod/POST/mcp", "arn:aws:execute-api:us-east-1:123456789012:abc/prod/*"},
		{"arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/.well-known/oauth-protected-resource", "arn:aws:execute-api:us-east-1:123456789012:abc/prod/*"},
		{"arn:aws-cn:execute-api:cn-north-1:123456789012:abc/v1/POST/", "arn:aws-cn:execute-api:cn-north-1:123456789012:abc/v1/*"},
		{"arn:aws:execute-api:us-east-1:123456789012:abc", ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", ""},
		{"", ""},
	} {
		got, err := stageWildcard(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("stageWildcard(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestThroughAPIGateway passes the authorizer's answer on as API Gateway
// does (principalId and context in requestContext.authorizer) to an MCP
// function that trusts the front door, and checks that tool handlers see
// the same principal the function would derive from the token, and that
// per-tool scopes, which the authorizer cannot see, are still enforced.
func TestThroughAPIGateway(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	a := newTestAuthorizer(t, iss)

	server := mcp.NewServer(&mcp.Implementation{Name: "behind-authorizer", Version: "v1"}, nil)
	type out struct {
		Principal string `json:"principal"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, out, error) {
		return nil, out{Principal: identity.Principal(ctx)}, nil
	})
	mcp.AddTool(server, &mcp.Tool{Name: "delete"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, out, error) {
		return nil, out{}, nil
	})
	rs := auth.NewResourceServer(resource, nil, &auth.Options{
		AuthorizationServers: []string{iss.URL},
		Scopes:               []string{testScope},
		ToolScopes:           map[string][]string{"delete": {"mcp:admin"}},
	})
	fn := mcplambda.NewLambdaHandler(rs.Handler(mcplambda.NewHandler(server, nil)), &mcplambda.Options{TrustFrontDoor: true})

	call := func(token, tool string) (status int, principal string) {
		t.Helper()
		decision, err := a.handle(context.Background(), event(t, "token", "Bearer "+token, nil))
		if err != nil {
			t.Fatalf("authorizer: %v", err)
		}
		authorizerCtx := map[string]any{"principalId": decision.PrincipalID, "integrationLatency": 3}
		for k, v := range decision.Context {
			authorizerCtx[k] = v
		}
		body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": map[string]any{"name": tool, "arguments": map[string]any{}}})
		payload := event(t, "rest-proxy", "", func(ev map[string]any) {
			ev["body"] = string(body)
			ev["requestContext"].(map[string]any)["authorizer"] = authorizerCtx
		})
		raw, err := fn.Invoke(context.Background(), payload)
		if err != nil {
			t.Fatalf("function: %v", err)
		}
		var resp events.APIGatewayProxyResponse
		json.Unmarshal(raw, &resp)
		var rpc struct {
			Result struct {
				StructuredContent out `json:"structuredContent"`
			} `json:"result"`
		}
		json.Unmarshal([]byte(resp.Body), &rpc)
		return resp.StatusCode, rpc.Result.StructuredContent.Principal
	}

	if status, p := call(iss.Token("alice", resource, testScope), "whoami"); status != 200 || p != iss.URL+"#alice" {
		t.Errorf("whoami through the authorizer = %d, %q; want 200, %q", status, p, iss.URL+"#alice")
	}
	if status, _ := call(iss.Token("alice", resource, testScope), "delete"); status != 403 {
		t.Errorf("delete without mcp:admin through the authorizer = %d, want 403", status)
	}
	if status, _ := call(iss.Token("alice", resource, "mcp"), "delete"); status != 200 {
		t.Errorf("delete with mcp (covers mcp:admin) through the authorizer = %d, want 200", status)
	}
}
