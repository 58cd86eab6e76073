package state_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/state"
)

// BenchmarkStore measures a Get and a conditional Put (compare-and-swap
// on the version just written) of a 1 KB value in the memory store and the
// directory store, without and with DirOptions.Sync. Besides ns/op it
// reports the median latency (p50-µs).
//
//	go test -run XXX -bench Store ./state
func BenchmarkStore(b *testing.B) {
	stores := []struct {
		name string
		new  func(*testing.B) state.Store
	}{
		{"memory", func(*testing.B) state.Store { return state.NewMemory(nil) }},
		{"dir", func(b *testing.B) state.Store { return benchDir(b, false) }},
		{"dir-sync", func(b *testing.B) state.Store { return benchDir(b, true) }},
	}
	ctx := context.Background()
	value := make([]byte, 1024)
	for _, s := range stores {
		b.Run(s.name+"/get", func(b *testing.B) {
			store := s.new(b)
			if _, err := store.Put(ctx, "k", value, state.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			samples := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				_, err := store.Get(ctx, "k")
				samples = append(samples, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
			reportMedian(b, samples)
		})
		b.Run(s.name+"/put-if-version", func(b *testing.B) {
			store := s.new(b)
			v, err := store.Put(ctx, "k", value, state.PutOptions{})
			if err != nil {
				b.Fatal(err)
			}
			samples := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				v, err = store.Put(ctx, "k", value, state.PutOptions{IfVersion: v, TTL: time.Hour})
				samples = append(samples, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
			reportMedian(b, samples)
		})
	}
}

func benchDir(b *testing.B, sync bool) state.Store {
	d, err := state.OpenDir(b.TempDir(), &state.DirOptions{Sync: sync})
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

func reportMedian(b *testing.B, samples []time.Duration) {
	b.StopTimer()
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2])/float64(time.Microsecond), "p50-µs")
}
