package syncio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBufferWait(t *testing.T) {
	t.Parallel()
	var b Buffer
	done := make(chan string)
	go func() {
		s, err := b.Wait(context.Background(), func(s string) bool { return strings.Count(s, "\n") >= 3 })
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	for _, line := range []string{"one\n", "two\n", "three\n"} {
		b.Write([]byte(line))
	}
	if got := <-done; got != "one\ntwo\nthree\n" {
		t.Errorf("Wait() = %q, want the three lines", got)
	}

	// A condition that never holds ends with the context.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if s, err := b.Wait(ctx, func(string) bool { return false }); !errors.Is(err, context.DeadlineExceeded) || s != "one\ntwo\nthree\n" {
		t.Errorf("Wait(never) = %q, %v, want the contents and DeadlineExceeded", s, err)
	}
}
