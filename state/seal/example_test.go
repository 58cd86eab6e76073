package seal_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/state/seal"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func ExampleSealer() {
	// In production: seal.EnvKeys("") or awssecrets.Keys(...), and a
	// shared SingleUse store (package dynamo).
	keys := seal.StaticKeys(seal.Key{ID: "k1", Secret: []byte(strings.Repeat("k", seal.KeySize))})
	sealer := seal.New(keys, &seal.Options{SingleUse: state.NewMemory(nil)})
	ctx := context.Background() // a tool handler's ctx
	req := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "book", Arguments: []byte(`{"to":"CDG"}`)}}

	// Round 1: return an input_required result carrying the sealed state.
	rs, _ := sealer.Seal(ctx, req, []byte("step=2"))

	// The retry: same tool and arguments, the state echoed back.
	payload, err := sealer.Open(ctx, req, rs)
	fmt.Println(string(payload), err)

	_, err = sealer.Open(ctx, req, rs)
	fmt.Println("replay rejected:", errors.Is(err, seal.ErrReplayed))
	other := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "book", Arguments: []byte(`{"to":"JFK"}`)}}
	_, err = sealer.Open(ctx, other, rs)
	fmt.Println("other arguments rejected:", errors.Is(err, seal.ErrRejected))
	// Output:
	// step=2 <nil>
	// replay rejected: true
	// other arguments rejected: true
}
