package auth

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/mcplambda/mcplambda/auth/authtest"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// FuzzVerify: no token panics the verifier, and only tokens the issuer
// signed verify.
func FuzzVerify(f *testing.F) {
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	v, err := NewJWTVerifier(iss.URL, testAudience, nil)
	if err != nil {
		f.Fatal(err)
	}
	good := iss.Token("alice", testAudience, "mcp")
	for _, seed := range []string{good, good[:len(good)-3], "a.b.c", "", "..", "e30.e30.", good + "." + good} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		ti, err := v.Verify(context.Background(), token, nil)
		if err == nil && token != good {
			t.Errorf("Verify(%q) accepted a token the issuer did not sign: %+v", token, ti)
		}
		if err != nil && !errors.Is(err, sdkauth.ErrInvalidToken) && !errors.Is(err, ErrKeysUnavailable) {
			t.Errorf("Verify(%q) = %v, want ErrInvalidToken", token, err)
		}
	})
}

// FuzzToolName: no params panic toolName, and a name it returns is the
// one a case-sensitive decoder reads.
func FuzzToolName(f *testing.F) {
	for _, seed := range []string{`{"name":"a"}`, `{"name":"a","Name":"b"}`, `{"NAME":"x"}`, `[]`, `{"name":1}`, `{"name":"a","name":"b"}`, `{`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		name, err := toolName(params)
		if err != nil || name == "" {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(params, &m) != nil {
			return
		}
		var want string
		if json.Unmarshal(m["name"], &want) == nil && want != name {
			t.Errorf("toolName(%s) = %q, want %q", params, name, want)
		}
	})
}
