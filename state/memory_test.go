package state_test

import (
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/state/statetest"
)

func TestMemoryContract(t *testing.T) {
	statetest.Run(t, func(t *testing.T, now func() time.Time) state.Store {
		return state.NewMemory(&state.MemoryOptions{Now: now})
	})
}
