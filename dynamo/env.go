package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/mcplambda/mcplambda/state"
)

// EnvTable is the environment variable naming the DynamoDB table of
// [StoreFromEnv]. The construct of deploy/cdk sets it when it creates a
// table (ServerProps.Table).
const EnvTable = "MCPLAMBDA_TABLE"

// EnvSessions is the environment variable that, set to true, asks for
// legacy sessions (mcplambda.Options.Sessions) in [SessionsFromEnv]. The
// construct of deploy/cdk sets it (ServerProps.Sessions), and so does
// `mcplambda dev --sessions` for its instances.
const EnvSessions = "MCPLAMBDA_SESSIONS"

// ErrNoStore is returned by [StoreFromEnv] inside Lambda when the
// environment names no store.
var ErrNoStore = errors.New("dynamo: no state store configured")

// EnvOptions configures [StoreFromEnv]. A nil *EnvOptions means defaults.
type EnvOptions struct {
	// Table configures the DynamoDB store, as for [New]. nil means defaults.
	Table *Options
	// Dir configures the directory store, as for state.OpenDir. nil means
	// defaults.
	Dir *state.DirOptions
	// Logger, if set, logs at level Info which store was chosen. nil
	// means no log.
	Logger *slog.Logger
}

// StoreFromEnv returns the [state.Store] the environment names, so that
// one program runs unchanged in Lambda, under `mcplambda dev` and as a
// local server. In order of precedence:
//
//  1. MCPLAMBDA_TABLE ([EnvTable]) set: the DynamoDB table of that name,
//     through [New], with a client from the default AWS configuration
//     (config.LoadDefaultConfig: the function's role in Lambda;
//     AWS_ENDPOINT_URL_DYNAMODB reaches DynamoDB Local). deploy/cdk sets
//     it when the construct has a table.
//  2. MCPLAMBDA_STATE_DIR (state.EnvStateDir) set: a *state.Dir on that
//     directory, shared by the processes of one machine. `mcplambda dev`
//     sets it for its instances.
//  3. Neither, outside Lambda (AWS_LAMBDA_RUNTIME_API unset, as
//     mcplambda.Start decides): a *state.Memory, for a single local
//     process and tests.
//  4. Neither, inside Lambda: an error wrapping [ErrNoStore]. A memory
//     store there would give each instance state of its own and break,
//     silently, whatever continues on another instance (a legacy session,
//     a task). To choose per-instance state deliberately, set
//     MCPLAMBDA_STATE_DIR to a directory under /tmp.
//
// Call it once, at init: its errors (a missing table, a wrong key schema,
// an unusable directory) are init errors. The store lasts as long as the
// process; a *state.Dir has a Close method for programs that end sooner.
func StoreFromEnv(ctx context.Context, opts *EnvOptions) (state.Store, error) {
	if opts == nil {
		opts = &EnvOptions{}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if table := os.Getenv(EnvTable); table != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamo: loading the AWS configuration for table %q: %w", table, err)
		}
		s, err := New(ctx, dynamodb.NewFromConfig(cfg), table, opts.Table)
		if err != nil {
			return nil, err
		}
		logger.Info("state store: DynamoDB", "table", table)
		return s, nil
	}
	if dir := os.Getenv(state.EnvStateDir); dir != "" {
		d, err := state.OpenDir(dir, opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("dynamo: %s=%s: %w", state.EnvStateDir, dir, err)
		}
		logger.Info("state store: directory", "dir", d.Path())
		return d, nil
	}
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return nil, fmt.Errorf("%w: set %s to a DynamoDB table (deploy/cdk: ServerProps.Table), or %s to a directory for state per instance",
			ErrNoStore, EnvTable, state.EnvStateDir)
	}
	logger.Info("state store: memory of this process")
	return state.NewMemory(nil), nil
}

// SessionsFromEnv returns the store for mcplambda.Options.Sessions when
// MCPLAMBDA_SESSIONS ([EnvSessions]) is true: the one [StoreFromEnv]
// picks. Otherwise it returns nil, and legacy clients are served without
// sessions. A value that is not a boolean is an error. Call it once, at
// init:
//
//	sessions, err := dynamo.SessionsFromEnv(ctx, nil)
//	if err != nil {
//		log.Fatal(err)
//	}
//	mcplambda.Start(server, &mcplambda.Options{Sessions: sessions})
//
// The nil it returns without sessions is a nil interface, so the Options
// field stays nil.
func SessionsFromEnv(ctx context.Context, opts *EnvOptions) (state.Store, error) {
	v := os.Getenv(EnvSessions)
	if v == "" {
		return nil, nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return nil, fmt.Errorf("dynamo: %s=%q: want true or false", EnvSessions, v)
	}
	if !on {
		return nil, nil
	}
	return StoreFromEnv(ctx, opts)
}
