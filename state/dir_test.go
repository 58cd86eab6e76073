package state_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/state/statetest"
)

// openDir opens a Dir store in path for one test; it skips where the Dir
// store is not supported (no flock(2)).
func openDir(t *testing.T, path string, opts *state.DirOptions) *state.Dir {
	t.Helper()
	d, err := state.OpenDir(path, opts)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDirContract(t *testing.T) {
	for _, sync := range []bool{false, true} {
		name := "NoSync"
		if sync {
			name = "Sync"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			statetest.Run(t, func(t *testing.T, now func() time.Time) state.Store {
				return openDir(t, t.TempDir(), &state.DirOptions{Now: now, Sync: sync})
			})
		})
	}
}

// Two Dir values on one directory in one process (as two processes would
// open it) are one store.
func TestDirTwoOpensShareItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := t.TempDir()
	a, b := openDir(t, path, nil), openDir(t, path, nil)
	v, err := a.Put(ctx, "k", []byte("1"), state.PutOptions{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "k", []byte("2"), state.PutOptions{IfAbsent: true}); !errors.Is(err, state.ErrConflict) {
		t.Errorf("create through the second Dir error = %v, want ErrConflict", err)
	}
	if _, err := b.Put(ctx, "k", []byte("2"), state.PutOptions{IfVersion: v}); err != nil {
		t.Errorf("update through the second Dir error = %v", err)
	}
	if it, err := a.Get(ctx, "k"); err != nil || string(it.Value) != "2" {
		t.Errorf("Get through the first Dir = %+v, %v; want 2", it, err)
	}
}

func TestOpenDirErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"", file, filepath.Join(file, "below")} {
		if d, err := state.OpenDir(path, nil); err == nil {
			d.Close()
			t.Errorf("OpenDir(%q) succeeded, want an error", path)
		}
	}
}

func TestDirClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDir(t, t.TempDir(), nil)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := d.Get(ctx, "k"); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Get after Close error = %v, want fs.ErrClosed", err)
	}
	if _, err := d.Put(ctx, "k", nil, state.PutOptions{}); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Put after Close error = %v, want fs.ErrClosed", err)
	}
	if err := d.Delete(ctx, "k", 0); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Delete after Close error = %v, want fs.ErrClosed", err)
	}
}
