package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/state"
)

// setenv sets the environment for one StoreFromEnv call: the variables it
// reads are cleared first, then env (KEY=VALUE) applied.
func setenv(t *testing.T, env ...string) {
	t.Helper()
	for _, k := range []string{dynamo.EnvTable, state.EnvStateDir, dynamo.EnvSessions, "AWS_LAMBDA_RUNTIME_API"} {
		t.Setenv(k, "")
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func TestStoreFromEnv(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name     string
		env      []string
		wantType string
		wantErr  error  // errors.Is
		wantText string // in the error message
	}{
		{"directory", []string{"MCPLAMBDA_STATE_DIR=" + dir}, "*state.Dir", nil, ""},
		{"directory in Lambda", []string{"MCPLAMBDA_STATE_DIR=" + dir, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"}, "*state.Dir", nil, ""},
		{"nothing, locally", nil, "*state.Memory", nil, ""},
		{"nothing, in Lambda", []string{"AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"}, "", dynamo.ErrNoStore, "MCPLAMBDA_TABLE"},
		{"unusable directory", []string{"MCPLAMBDA_STATE_DIR=" + file}, "", nil, "MCPLAMBDA_STATE_DIR=" + file},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setenv(t, tt.env...)
			s, err := dynamo.StoreFromEnv(ctx, nil)
			if tt.wantText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantText) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("StoreFromEnv() error = %v, want %v containing %q", err, tt.wantErr, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatalf("StoreFromEnv() error = %v", err)
			}
			if got := fmt.Sprintf("%T", s); got != tt.wantType {
				t.Fatalf("StoreFromEnv() = %s, want %s", got, tt.wantType)
			}
			if d, ok := s.(*state.Dir); ok {
				defer d.Close()
				if d.Path() != dir {
					t.Errorf("Dir.Path() = %q, want %q", d.Path(), dir)
				}
			}
		})
	}
}

func TestSessionsFromEnv(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name     string
		env      []string
		wantType string // "" for no store
		wantErr  string
	}{
		{"unset", []string{"MCPLAMBDA_STATE_DIR=" + dir}, "", ""},
		{"false", []string{"MCPLAMBDA_SESSIONS=false", "MCPLAMBDA_STATE_DIR=" + dir}, "", ""},
		{"true", []string{"MCPLAMBDA_SESSIONS=true", "MCPLAMBDA_STATE_DIR=" + dir}, "*state.Dir", ""},
		{"1, locally", []string{"MCPLAMBDA_SESSIONS=1"}, "*state.Memory", ""},
		{"in Lambda without a store", []string{"MCPLAMBDA_SESSIONS=1", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"}, "", "no state store"},
		{"not a boolean", []string{"MCPLAMBDA_SESSIONS=yes please"}, "", `MCPLAMBDA_SESSIONS="yes please"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setenv(t, tt.env...)
			s, err := dynamo.SessionsFromEnv(context.Background(), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SessionsFromEnv() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SessionsFromEnv() error = %v", err)
			}
			if d, ok := s.(*state.Dir); ok {
				defer d.Close()
			}
			got := ""
			if s != nil {
				got = fmt.Sprintf("%T", s)
			}
			if got != tt.wantType {
				t.Errorf("SessionsFromEnv() = %q, want %q", got, tt.wantType)
			}
		})
	}
}

// With MCPLAMBDA_TABLE set, StoreFromEnv opens that table with the
// default AWS configuration (here: DynamoDB Local through
// AWS_ENDPOINT_URL_DYNAMODB), even when a directory is named as well.
func TestStoreFromEnvTable(t *testing.T) {
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client)

	setenv(t, append(dynamotest.Env(t, table), "MCPLAMBDA_STATE_DIR="+t.TempDir())...)
	s, err := dynamo.StoreFromEnv(ctx, &dynamo.EnvOptions{Table: &dynamo.Options{KeyPrefix: "app/"}})
	if err != nil {
		t.Fatalf("StoreFromEnv() error = %v", err)
	}
	if _, ok := s.(*dynamo.Store); !ok {
		t.Fatalf("StoreFromEnv() = %T, want *dynamo.Store", s)
	}
	if _, err := s.Put(ctx, "k", []byte("through the environment"), state.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	direct, err := dynamo.New(ctx, client, table, &dynamo.Options{KeyPrefix: "app/"})
	if err != nil {
		t.Fatal(err)
	}
	if it, err := direct.Get(ctx, "k"); err != nil || string(it.Value) != "through the environment" {
		t.Errorf("Get through a direct client = %+v, %v; want the value put through StoreFromEnv's store", it, err)
	}

	setenv(t, dynamotest.Env(t, "no-such-table")...)
	if _, err := dynamo.StoreFromEnv(ctx, nil); !errors.Is(err, dynamo.ErrTableNotFound) {
		t.Errorf("StoreFromEnv() with a missing table error = %v, want ErrTableNotFound", err)
	}
}
