package authtest_test

import (
	"context"
	"fmt"

	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authtest"
)

func ExampleIssuer() {
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	const resource = "https://mcp.example.com/mcp"

	v, err := auth.NewJWTVerifier(iss.URL, resource, nil)
	if err != nil {
		panic(err)
	}
	ti, err := v.Verify(context.Background(), iss.Token("alice", resource, "mcp:tools"), nil)
	fmt.Println(ti.Scopes, err)

	// Tokens signed before a rotation stay valid while the old key is
	// published; new ones carry the new kid.
	iss.RotateKey()
	_, err = v.Verify(context.Background(), iss.Token("alice", "https://other.example/mcp"), nil)
	fmt.Println(err != nil)
	// Output:
	// [mcp:tools] <nil>
	// true
}
