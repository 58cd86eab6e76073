package lambdatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcplambda/mcplambda/internal/syncio"
)

// Lambda error types produced by the emulator itself.
const (
	errTimeout  = "Sandbox.Timedout"
	errExit     = "Runtime.ExitError"
	errInit     = "Runtime.InitError"
	errTooLarge = "Function.ResponseSizeTooLarge"
	errUnknown  = "Runtime.Unknown"
)

// accountID is the made-up AWS account of every emulated function.
const accountID = "123456789012"

// Function is a Lambda function emulated locally: a pool of instances of one
// bootstrap executable. Its methods are safe for concurrent use.
type Function struct {
	// set at construction
	bootstrap string
	opts      Options // defaults applied
	log       *slog.Logger
	stdout    io.Writer
	stderr    io.Writer
	closing   chan struct{} // closed by Close
	cgroups   *cgroupParent // with Options.LimitCPU where possible, else nil

	wg sync.WaitGroup // run goroutines and async invocations

	mu      sync.Mutex
	closed  bool
	idle    []*instance        // ready for an invocation, most recently used last
	all     map[*instance]bool // every live instance
	waiters []chan *instance   // queued invocations waiting for a free slot (nil instance = new slot)
	seq     int                // instance counter
}

// NewFunction returns a Function that runs the executable bootstrap. No
// instance starts before the first invocation. opts may be nil; it is copied.
func NewFunction(bootstrap string, opts *Options) (*Function, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	abs, err := filepath.Abs(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("lambdatest: bootstrap: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("lambdatest: bootstrap %s is not an executable file", abs)
	}
	if o.FunctionName == "" {
		o.FunctionName = "function"
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = 128
	}
	if o.Instances <= 0 {
		o.Instances = 1
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Dir == "" {
		o.Dir = filepath.Dir(abs)
	}
	if o.InitTimeout <= 0 {
		o.InitTimeout = 10 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 2 * time.Second
	}
	o.Env = slices.Clone(o.Env)
	o.Args = slices.Clone(o.Args)
	o.Aliases = slices.Clone(o.Aliases)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Function{
		bootstrap: abs,
		opts:      o,
		log:       log.With("function", o.FunctionName),
		closing:   make(chan struct{}),
		all:       make(map[*instance]bool),
	}
	f.stdout, f.stderr = lockedWriters(o.Stdout, o.Stderr)
	if o.LimitCPU {
		p, err := findCgroupParent()
		if err != nil {
			f.log.Warn(fmt.Sprintf("lambdatest: cannot limit instances to the CPU share of %d MB (%s); they run at full speed", o.MemoryMB, err))
		} else {
			f.cgroups = p
			f.log.Debug("instances limited to the CPU share of their memory size", "memory_mb", o.MemoryMB,
				"cpu_per_period", cpuQuota(o.MemoryMB), "period", cfsPeriod, "cgroup_parent", p.String())
		}
	}
	return f, nil
}

// cgroupSeq numbers the cgroups of this process's instances.
var cgroupSeq atomic.Int64

// newCgroup creates instance n's cgroup, or returns nil when instances
// are not CPU-limited or it cannot be created (logged).
func (f *Function) newCgroup(n int) *cgroup {
	if f.cgroups == nil {
		return nil
	}
	name := fmt.Sprintf("mcplambda-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	cg, err := f.cgroups.newCgroup(name, f.opts.MemoryMB)
	if err != nil {
		f.log.Warn("lambdatest: cannot limit the instance's CPU; it runs at full speed", "instance", n, "err", err)
		return nil
	}
	return cg
}

// Name returns the function's name.
func (f *Function) Name() string { return f.opts.FunctionName }

// ARN returns the function's unqualified ARN.
func (f *Function) ARN() string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", f.opts.Region, accountID, f.opts.FunctionName)
}

// Invoke invokes the function synchronously (RequestResponse) with the
// given payload and waits for the start of its response: the whole
// response when it is buffered, the beginning of the stream when
// [Response.Streamed]. The returned error is for emulator-level failures
// only ([ErrClosed], [ErrThrottled], [ErrRequestTooLarge], ctx's error);
// function errors are reported in the Response.
//
// If ctx ends first, Invoke returns its error but the invocation carries on
// in its instance, as in Lambda, until it completes or times out.
func (f *Function) Invoke(ctx context.Context, payload []byte) (*Response, error) {
	return f.InvokeWith(ctx, payload, nil)
}

// InvokeWith is [Function.Invoke] with invocation metadata. opts may be nil.
func (f *Function) InvokeWith(ctx context.Context, payload []byte, opts *InvokeOptions) (*Response, error) {
	if len(payload) > MaxPayload {
		return nil, ErrRequestTooLarge
	}
	inv := f.newInvocation(payload, opts)
	inst, err := f.acquire(ctx, f.opts.Throttle)
	if err != nil {
		return nil, err
	}
	if err := f.begin(); err != nil {
		return nil, err
	}
	go f.run(inst, inv)
	select {
	case r := <-inv.head:
		if r.Streamed {
			return r, nil
		}
		// Wait until the instance is back in the pool so that a caller
		// invoking again right away is not throttled by its own previous
		// invocation.
		<-inv.released
		return r, nil
	case <-ctx.Done():
		inv.abandon()
		return nil, ctx.Err()
	}
}

// InvokeAsync queues an asynchronous (Event) invocation and returns at once.
// The invocation waits for a free instance even when [Options.Throttle] is
// set; its outcome is only visible in the function's output and reports.
func (f *Function) InvokeAsync(payload []byte, opts *InvokeOptions) error {
	if len(payload) > MaxAsyncPayload {
		return ErrRequestTooLarge
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	payload = slices.Clone(payload)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-f.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		inv := f.newInvocation(payload, opts)
		inst, err := f.acquire(ctx, false)
		if err == nil {
			err = f.begin()
		}
		if err != nil {
			f.log.Debug("async invocation dropped", "request_id", inv.id, "err", err)
			return
		}
		go f.run(inst, inv)
		r := <-inv.head
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		<-inv.released
	}()
	return nil
}

// Close stops every instance: SIGTERM to its process group, then SIGKILL
// after [Options.ShutdownTimeout]. In-flight invocations fail. Close waits
// for the processes and the emulator's goroutines to end.
func (f *Function) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.closing)
	insts := make([]*instance, 0, len(f.all))
	for inst := range f.all {
		insts = append(insts, inst)
	}
	waiters := f.waiters
	f.waiters = nil
	f.idle = nil
	f.mu.Unlock()
	for _, w := range waiters {
		close(w)
	}
	var wg sync.WaitGroup
	for _, inst := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst.shutdown(f.opts.ShutdownTimeout)
		}()
	}
	wg.Wait()
	f.wg.Wait()
	return nil
}

// Kill sends SIGKILL at once to every instance's processes (the whole
// process group, and on Linux every descendant that left it), without
// waiting: for a program that must exit now, after a second Ctrl-C say.
// Close still has to be called to release the rest.
func (f *Function) Kill() {
	f.mu.Lock()
	insts := make([]*instance, 0, len(f.all))
	for inst := range f.all {
		insts = append(insts, inst)
	}
	f.mu.Unlock()
	for _, inst := range insts {
		inst.signal(true)
	}
}

// acquire returns an instance for one invocation: an idle one, or a new one
// (not started yet) when the pool has room. When the pool is full it waits,
// or fails with ErrThrottled if throttle is set.
func (f *Function) acquire(ctx context.Context, throttle bool) (*instance, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrClosed
	}
	for len(f.idle) > 0 {
		inst := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		if inst.alive() {
			f.mu.Unlock()
			return inst, nil
		}
		// Died while idle (crashed after responding): replace it.
		delete(f.all, inst)
		f.wg.Add(1)
		go func() { defer f.wg.Done(); inst.shutdown(0) }()
	}
	if len(f.all) < f.opts.Instances {
		inst := f.newInstanceLocked()
		f.mu.Unlock()
		return inst, nil
	}
	if throttle {
		f.mu.Unlock()
		return nil, ErrThrottled
	}
	w := make(chan *instance, 1)
	f.waiters = append(f.waiters, w)
	f.mu.Unlock()
	select {
	case inst, ok := <-w:
		if !ok {
			return nil, ErrClosed
		}
		return inst, nil
	case <-ctx.Done():
		f.mu.Lock()
		if i := slices.Index(f.waiters, w); i >= 0 {
			f.waiters = slices.Delete(f.waiters, i, i+1)
			f.mu.Unlock()
			return nil, ctx.Err()
		}
		f.mu.Unlock()
		// An instance was handed over concurrently: give it back.
		if inst, ok := <-w; ok {
			f.release(inst)
		}
		return nil, ctx.Err()
	}
}

// begin accounts for a run goroutine about to start, unless f is closed
// (Close then shuts the acquired instance down).
func (f *Function) begin() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.wg.Add(1)
	return nil
}

// newInstanceLocked registers a new instance in the pool. f.mu must be held.
func (f *Function) newInstanceLocked() *instance {
	f.seq++
	inst := newInstance(f, f.seq)
	f.all[inst] = true
	return inst
}

// release returns inst to the pool, or discards it if it is broken, and
// hands the freed slot to the first waiter.
func (f *Function) release(inst *instance) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	broken := inst.isBroken()
	if broken {
		delete(f.all, inst)
		f.wg.Add(1)
		go func() { defer f.wg.Done(); inst.shutdown(0) }()
	}
	if len(f.waiters) > 0 {
		w := f.waiters[0]
		f.waiters = f.waiters[1:]
		if broken {
			inst = f.newInstanceLocked()
		}
		f.mu.Unlock()
		w <- inst
		return
	}
	if !broken {
		f.idle = append(f.idle, inst)
	}
	f.mu.Unlock()
}

// replace swaps a dead instance for a new one (not started yet) in the
// pool; nil if the Function is closed.
func (f *Function) replace(old *instance) *instance {
	old.markBroken()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.all, old)
	f.wg.Add(1)
	go func() { defer f.wg.Done(); old.shutdown(0) }()
	if f.closed {
		return nil
	}
	return f.newInstanceLocked()
}

// run drives one invocation on inst: start (cold) or reuse, hand-off to the
// runtime, wait for completion, timeout, crash; then report and release.
func (f *Function) run(inst *instance, inv *invocation) {
	defer f.wg.Done()
	defer close(inv.released)
	rep := Report{RequestID: inv.id, MemoryMB: f.opts.MemoryMB}
	defer func() {
		if rep.Duration == 0 {
			if s := inv.startedAt(); !s.IsZero() {
				rep.Duration = time.Since(s)
			}
		}
		billed := rep.Duration
		if rep.Cold {
			billed += rep.InitDuration // Lambda bills the init phase too
		}
		rep.BilledDuration = time.Duration(math.Ceil(ms(billed))) * time.Millisecond
		rep.MaxMemoryMB = inst.maxMemoryMB()
		if rep.Err != "" {
			f.log.Info("invocation failed", "request_id", inv.id, "error_type", rep.Err)
		}
		f.log.Debug(rep.String())
		if f.opts.OnReport != nil {
			f.opts.OnReport(rep)
		}
		f.release(inst)
	}()

	timeout := func() outcome {
		return outcome{errType: errTimeout, payload: errorDoc(errTimeout,
			fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, f.opts.Timeout.Seconds()))}
	}
	exited := func() outcome {
		return outcome{errType: errExit, payload: errorDoc(errExit,
			fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", inv.id, inst.exitStatus()))}
	}
	closed := outcome{errType: errExit, payload: errorDoc(errExit,
		fmt.Sprintf("RequestId: %s Error: Runtime exited: the function was closed", inv.id))}
	fail := func(o outcome) {
		inst.markBroken()
		rep.Err = o.errType
		inv.complete(o)
	}

	var timer *time.Timer
	for attempt := 0; ; attempt++ {
		// Cold start.
		if !inst.used {
			inst.used = true
			rep.Cold = true
			if err := inst.start(); err != nil {
				f.log.Error("start instance", "err", err)
				fail(outcome{errType: errExit, payload: errorDoc(errExit, fmt.Sprintf("RequestId: %s Error: %v", inv.id, err))})
				return
			}
			o, ok := inst.waitInit(inv.id)
			rep.InitDuration = inst.initDuration
			if !ok {
				fail(o)
				return
			}
		}

		// Hand the invocation to the runtime when it asks for the next one.
		inv.deadline = time.Now().Add(f.opts.Timeout)
		timer = time.NewTimer(f.opts.Timeout)
		select {
		case inst.invokes <- inv:
		case <-inst.exited:
			timer.Stop()
			if attempt == 0 && !rep.Cold {
				// The warm instance exited after its previous invocation
				// (as a runtime does after reporting a panic): replace it.
				next := f.replace(inst)
				if next == nil {
					fail(closed)
					return
				}
				inst = next
				continue
			}
			fail(exited())
			return
		case <-timer.C:
			inst.kill()
			fail(timeout())
			return
		case <-f.closing:
			timer.Stop()
			fail(closed)
			return
		}
		break
	}
	defer timer.Stop()

	var o outcome
	select {
	case <-inv.done:
	case <-inst.exited:
		o = exited()
	case <-timer.C:
		inst.kill()
		o = timeout()
	case <-f.closing:
		o = closed
	}
	select {
	case <-inv.done: // completed first (for example responded, then exited)
	default:
		inst.markBroken()
		inv.complete(o)
	}
	rep.Duration, rep.Err = inv.result()
}

// newInvocation prepares an invocation.
func (f *Function) newInvocation(payload []byte, opts *InvokeOptions) *invocation {
	var o InvokeOptions
	if opts != nil {
		o = *opts
	}
	arn := f.ARN()
	if o.Qualifier != "" {
		arn += ":" + o.Qualifier
	}
	if o.TraceID == "" {
		o.TraceID = fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randHex(24), randHex(16))
	}
	return &invocation{
		id:       newUUID(),
		payload:  payload,
		arn:      arn,
		opts:     o,
		head:     make(chan *Response, 1),
		done:     make(chan struct{}),
		released: make(chan struct{}),
	}
}

// errorDoc returns Lambda's error document.
func errorDoc(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{msg, typ})
	return b
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// lockedWriters wraps the instances' output writers so that writes from
// different instances do not interleave mid-write. The same writer for both
// gets one lock.
func lockedWriters(stdout, stderr io.Writer) (io.Writer, io.Writer) {
	if stdout == nil {
		stdout = os.Stderr
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	o := syncio.NewWriter(stdout)
	if stderr == stdout {
		return o, o
	}
	return o, syncio.NewWriter(stderr)
}
