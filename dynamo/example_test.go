package dynamo_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/state"
)

func ExampleStoreFromEnv() {
	// mcplambda dev sets MCPLAMBDA_STATE_DIR for its instances; in Lambda,
	// the CDK construct sets MCPLAMBDA_TABLE instead.
	dir, _ := os.MkdirTemp("", "state-")
	defer os.RemoveAll(dir)
	os.Setenv(state.EnvStateDir, dir)
	defer os.Unsetenv(state.EnvStateDir)

	ctx := context.Background()
	// Once, at init; then use it for sessions (mcplambda.Options.Sessions),
	// app state (state.NewApp)...
	store, err := dynamo.StoreFromEnv(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%T\n", store)
	// Output:
	// *state.Dir
}
