package tasks

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/state"
)

// keyPrefix is the prefix of task records in the store.
const keyPrefix = "task/"

// maxIDLength bounds the task ids looked up: ours are 32 characters.
const maxIDLength = 128

// record is a task as kept in the store, under keyPrefix + id. Every
// change is one conditional write (state.PutOptions.IfVersion) of the
// whole record, so that two instances never both claim, finish or
// otherwise move a task on: one of them gets state.ErrConflict.
type record struct {
	// Owner is the principal that created the task (identity.Principal;
	// "" for an anonymous caller). Nobody else sees it.
	Owner string `json:"owner"`
	// Caller is the creator's identity, which the tool sees when it runs
	// (without claims).
	Caller *caller `json:"caller,omitempty"`
	// Tool, Args and Caps are the tools/call: the tool, its arguments and
	// the client capabilities the request declared.
	Tool string          `json:"tool"`
	Args json.RawMessage `json:"args,omitempty"`
	Caps json.RawMessage `json:"caps,omitempty"`
	// Legacy: created by a 2025-11-25 client, which cannot answer input
	// requests.
	Legacy bool `json:"legacy,omitempty"`

	Status  Status    `json:"status"`
	Message string    `json:"msg,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	TTL     int64     `json:"ttlMs"`
	Poll    int64     `json:"pollMs"`

	Result json.RawMessage `json:"result,omitempty"` // completed
	Error  *Error          `json:"error,omitempty"`  // failed

	// Inputs are the outstanding input requests of an input_required
	// task, by the key the client sees; InputKeys maps those keys to the
	// tool's own, Answers holds the responses given so far in this round
	// (by the tool's key), and Used every key ever shown, so that no key
	// is shown twice in the task's life.
	Inputs    map[string]json.RawMessage `json:"inputs,omitempty"`
	InputKeys map[string]string          `json:"inputKeys,omitempty"`
	Answers   map[string]json.RawMessage `json:"answers,omitempty"`
	Used      []string                   `json:"used,omitempty"`
	// State is the requestState the tool returned with its last
	// input_required result, for its next run.
	State string `json:"state,omitempty"`

	// Run is the current (or last) run of the tool.
	Run *runState `json:"run,omitempty"`
}

// caller is what a task keeps of its creator's identity.
type caller struct {
	Principal string          `json:"principal"`
	Source    identity.Source `json:"source,omitempty"`
	Issuer    string          `json:"iss,omitempty"`
	Subject   string          `json:"sub,omitempty"`
	Scopes    []string        `json:"scopes,omitempty"`
}

// runState is one run of a task's tool.
type runState struct {
	// N numbers the runs of the task from 1.
	N int `json:"n"`
	// Token is the secret a task-run payload must carry to claim the run.
	// It is never shown to clients, and a new run gets a new one.
	Token string `json:"token"`
	// StartBy is when a run nobody claimed counts as lost.
	StartBy time.Time `json:"startBy"`
	// Owner is the runner that claimed the run ("" while unclaimed) and
	// Lease how long its claim lasts unless renewed.
	Owner string    `json:"owner,omitempty"`
	Lease time.Time `json:"lease,omitempty"`
}

func (rec *record) expires() time.Time {
	return rec.Created.Add(time.Duration(rec.TTL) * time.Millisecond)
}

// lapsed reports whether the task is working but its run is lost: claimed
// with a lease that ran out, or never claimed by its start deadline.
func (rec *record) lapsed(now time.Time) (string, bool) {
	if rec.Status != Working || rec.Run == nil {
		return "", false
	}
	switch {
	case rec.Run.Owner != "" && now.After(rec.Run.Lease.Add(leaseSlack)):
		return fmt.Sprintf("the run of tool %s stopped without finishing (its lease ran out at %s): the executor crashed, was killed, or ran out of time", rec.Tool, rec.Run.Lease.UTC().Format(time.RFC3339)), true
	case rec.Run.Owner == "" && now.After(rec.Run.StartBy):
		return fmt.Sprintf("the run of tool %s never started (no executor claimed it by %s)", rec.Tool, rec.Run.StartBy.UTC().Format(time.RFC3339)), true
	}
	return "", false
}

// leaseSlack is how long after its lease a run still counts as alive, for
// clocks that differ a little between instances.
const leaseSlack = time.Second

// fail moves rec to failed with a JSON-RPC internal error.
func (rec *record) fail(now time.Time, msg string) {
	rec.Status = Failed
	rec.Message = msg
	rec.Error = &Error{Code: codeInternal, Message: msg}
	rec.Inputs, rec.InputKeys, rec.Answers = nil, nil, nil
	rec.Updated = now
}

// JSON-RPC error codes used here.
const (
	codeInvalidParams      = -32602
	codeInternal           = -32603
	codeMethodNotFound     = -32601
	codeHeaderMismatch     = -32020
	codeMissingCapability  = -32021
	defaultStoreRetryLimit = 8
)

// Errors of the store layer.
var (
	// errNotFound: no live task of the caller under the id (unknown,
	// expired, or another principal's: indistinguishable on purpose).
	errNotFound = errors.New("tasks: task not found")
)

// newID returns an unguessable task id: 160 random bits in 32 characters
// of lower-case base32 (letters and digits: safe in URLs, headers and on a
// command line, where a leading "-" would read as a flag).
func newID() string {
	var b [20]byte
	rand.Read(b[:])
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newToken returns a run token: 128 random bits.
func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func tokenEqual(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// errConflict is the store's answer to a conditional write that lost.
var errConflict = state.ErrConflict

// taskStore wraps a state.Store with the task record's encoding.
type taskStore struct {
	s   state.Store
	now func() time.Time
}

func validID(id string) bool { return id != "" && len(id) <= maxIDLength }

// get reads the task id: one strongly consistent read.
func (s *taskStore) get(ctx context.Context, id string) (*record, int64, error) {
	if !validID(id) {
		return nil, 0, errNotFound
	}
	it, err := s.s.Get(ctx, keyPrefix+id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, 0, errNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	rec := new(record)
	if err := json.Unmarshal(it.Value, rec); err != nil {
		return nil, 0, fmt.Errorf("tasks: task %s: corrupt record: %w", id, err)
	}
	return rec, it.Version, nil
}

// put writes rec under id, if the stored version is still version (0:
// only if absent). The item expires with the task: its TTL counts from
// creation. A task already past its TTL is errNotFound.
func (s *taskStore) put(ctx context.Context, id string, rec *record, version int64) (int64, error) {
	ttl := rec.expires().Sub(s.now())
	if ttl <= 0 {
		return 0, errNotFound
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	opts := state.PutOptions{TTL: ttl, IfVersion: version, IfAbsent: version == 0}
	v, err := s.s.Put(ctx, keyPrefix+id, b, opts)
	if errors.Is(err, state.ErrTooLarge) {
		return 0, fmt.Errorf("tasks: task %s: %w", id, err)
	}
	return v, err
}

// update applies fn to the task id and writes the result, retrying on
// conflicts with a fresh read. fn returns false to write nothing. It
// returns the record as written (or as read, when fn declined), and its
// version.
func (s *taskStore) update(ctx context.Context, id string, fn func(rec *record) (bool, error)) (*record, int64, error) {
	for range defaultStoreRetryLimit {
		rec, v, err := s.get(ctx, id)
		if err != nil {
			return nil, 0, err
		}
		write, err := fn(rec)
		if err != nil || !write {
			return rec, v, err
		}
		nv, err := s.put(ctx, id, rec, v)
		if errors.Is(err, state.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		return rec, nv, nil
	}
	return nil, 0, fmt.Errorf("tasks: task %s: too many concurrent writers", id)
}
