package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Unit is a CloudWatch metric unit.
type Unit string

// Units used by mcplambda's metrics.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Bytes        Unit = "Bytes"
)

// Other is the dimension value under which methods and tools beyond the
// known set are counted.
const Other = "other"

// MetricsOptions configures [NewMetrics]. The zero value is usable.
type MetricsOptions struct {
	// Namespace is the CloudWatch namespace. If empty, "mcplambda".
	Namespace string
	// Service is the value of the Service dimension present on every
	// metric. If empty, AWS_LAMBDA_FUNCTION_NAME, or "mcplambda" when that is
	// unset.
	Service string
	// Dimensions are fixed extra dimensions (for example
	// {"Environment": "prod"}) added to every dimension set.
	Dimensions map[string]string
	// MaxNames bounds how many distinct tool (and prompt) names become
	// dimension values over the life of the process; calls to further names
	// are counted under [Other]. If zero, 100.
	MaxNames int
}

// Metrics writes CloudWatch Embedded Metric Format documents. Its methods
// are safe for concurrent use.
type Metrics struct {
	w         io.Writer
	namespace string
	dims      []string          // dimension keys in a fixed order: Service first
	dimValues map[string]string // Service and fixed dimensions
	maxNames  int
	cold      atomic.Bool // set until the first invocation begins

	// Pre-encoded JSON fragments of every document.
	nsJSON, dimsJSON, methodDimsJSON, toolDimsJSON, backendDimsJSON, fixedJSON []byte

	mu           sync.Mutex // guards names, backendNames and writes to w
	names        map[string]bool
	backendNames map[string]bool // see RecordBackend
}

// NewMetrics returns a Metrics writing to w (os.Stdout if nil), where
// Lambda turns EMF documents into CloudWatch metrics with no API call.
func NewMetrics(w io.Writer, opts *MetricsOptions) *Metrics {
	var o MetricsOptions
	if opts != nil {
		o = *opts
	}
	if w == nil {
		w = os.Stdout
	}
	if o.Namespace == "" {
		o.Namespace = "mcplambda"
	}
	if o.Service == "" {
		o.Service = os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	}
	if o.Service == "" {
		o.Service = "mcplambda"
	}
	if o.MaxNames == 0 {
		o.MaxNames = 100
	}
	m := &Metrics{
		w:            w,
		namespace:    o.Namespace,
		dims:         []string{"Service"},
		dimValues:    map[string]string{"Service": o.Service},
		maxNames:     o.MaxNames,
		names:        make(map[string]bool),
		backendNames: make(map[string]bool),
	}
	for k, v := range o.Dimensions {
		if k == "Service" || k == "Method" || k == "Tool" || k == "Backend" {
			continue
		}
		m.dims = append(m.dims, k)
		m.dimValues[k] = v
	}
	sortStrings(m.dims[1:])
	m.nsJSON = appendString(nil, m.namespace)
	m.dimsJSON = jsonStrings(m.dims)
	methodDims := append(append([]string(nil), m.dims...), "Method")
	m.methodDimsJSON = jsonStrings(methodDims)
	m.toolDimsJSON = append(append(jsonStrings(methodDims), ','), jsonStrings(append(methodDims, "Tool"))...)
	backendDims := append(append([]string(nil), m.dims...), "Backend")
	m.backendDimsJSON = append(append(jsonStrings(backendDims), ','), jsonStrings(append(backendDims, "Method"))...)
	for _, k := range m.dims {
		m.fixedJSON = append(m.fixedJSON, ',')
		m.fixedJSON = appendString(m.fixedJSON, k)
		m.fixedJSON = append(m.fixedJSON, ':')
		m.fixedJSON = appendString(m.fixedJSON, m.dimValues[k])
	}
	m.cold.Store(true)
	return m
}

// Invocation accumulates the metrics of one Lambda invocation until
// [Invocation.Flush]. Its methods are safe for concurrent use.
type Invocation struct {
	m         *Metrics
	requestID string
	cold      bool

	mu       sync.Mutex
	groups   []group
	custom   []custom
	backends []group // by backend (in tool) and method; see RecordBackend
}

type group struct {
	method, tool    string
	requests, errs  int
	latenciesMillis []float64
}

type custom struct {
	name  string
	unit  Unit
	value float64
}

type invocationKey struct{}

// Begin starts collecting the metrics of one invocation; the returned
// context carries it to [RecordRequest] and [Add]. The first invocation of
// the process records a cold start.
func (m *Metrics) Begin(ctx context.Context) (context.Context, *Invocation) {
	inv := &Invocation{m: m, cold: m.cold.Swap(false)}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		inv.requestID = lc.AwsRequestID
	}
	return context.WithValue(ctx, invocationKey{}, inv), inv
}

func fromContext(ctx context.Context) *Invocation {
	inv, _ := ctx.Value(invocationKey{}).(*Invocation)
	return inv
}

// knownMethods are the MCP methods that may become Method dimension values.
var knownMethods = map[string]bool{
	"initialize": true, "ping": true, "server/discover": true,
	"tools/list": true, "tools/call": true,
	"resources/list": true, "resources/read": true, "resources/templates/list": true,
	"resources/subscribe": true, "resources/unsubscribe": true, "subscriptions/listen": true,
	"prompts/list": true, "prompts/get": true, "completion/complete": true, "logging/setLevel": true,
	"tasks/get": true, "tasks/list": true, "tasks/cancel": true, "tasks/result": true,
}

// RecordRequest records one MCP request of the invocation in ctx: its
// method, the tool or prompt it named ("" for none), its duration and
// whether it failed. knownName reports whether the server has that tool or
// prompt; unknown names are counted under [Other]. Without an invocation in
// ctx it does nothing.
func RecordRequest(ctx context.Context, method, name string, knownName bool, d time.Duration, failed bool) {
	inv := fromContext(ctx)
	if inv == nil {
		return
	}
	if !knownMethods[method] {
		method = Other
	}
	if name != "" {
		name = inv.m.admit(name, knownName)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.groups = count(inv.groups, method, name, d, failed)
}

// appendCounts appends g's Requests, Errors and Latency members to an EMF
// document.
func (g *group) appendCounts(buf []byte) []byte {
	buf = append(buf, `,"Requests":`...)
	buf = strconv.AppendInt(buf, int64(g.requests), 10)
	buf = append(buf, `,"Errors":`...)
	buf = strconv.AppendInt(buf, int64(g.errs), 10)
	buf = append(buf, `,"Latency":[`...)
	for i, l := range g.latenciesMillis {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendFloat(buf, l, 'f', -1, 64)
	}
	return append(buf, ']')
}

// count adds a request of method and name (a tool, prompt or backend)
// that took d to its group in groups, and returns groups. The caller
// holds the invocation's lock.
func count(groups []group, method, name string, d time.Duration, failed bool) []group {
	ms := float64(d.Microseconds()) / 1000
	for i := range groups {
		g := &groups[i]
		if g.method == method && g.tool == name {
			g.requests++
			if failed {
				g.errs++
			}
			g.latenciesMillis = append(g.latenciesMillis, ms)
			return groups
		}
	}
	g := group{method: method, tool: name, requests: 1, latenciesMillis: []float64{ms}}
	if failed {
		g.errs = 1
	}
	return append(groups, g)
}

// admit returns name if it may be a dimension value, else Other.
func (m *Metrics) admit(name string, known bool) string {
	if !known {
		return Other
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.names[name] {
		return name
	}
	if len(m.names) >= m.maxNames {
		return Other
	}
	m.names[name] = true
	return name
}

// Add adds value to the custom metric name (with the Service dimension)
// of the invocation in ctx, for example Add(ctx, "ChildRestarts", Count, 1).
// Without an invocation in ctx it does nothing.
func Add(ctx context.Context, name string, unit Unit, value float64) {
	inv := fromContext(ctx)
	if inv == nil {
		return
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for i := range inv.custom {
		if inv.custom[i].name == name {
			inv.custom[i].value += value
			return
		}
	}
	inv.custom = append(inv.custom, custom{name: name, unit: unit, value: value})
}

// Flush writes the invocation's metrics: one EMF document for the cold
// start and custom metrics (if any), and one per method and tool seen.
func (inv *Invocation) Flush() error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	m := inv.m
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := (*bp)[:0]
	ts := time.Now().UnixMilli()
	if inv.cold || len(inv.custom) > 0 {
		buf = append(buf, `{"_aws":{"Timestamp":`...)
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, `,"CloudWatchMetrics":[{"Namespace":`...)
		buf = append(buf, m.nsJSON...)
		buf = append(buf, `,"Dimensions":[`...)
		buf = append(buf, m.dimsJSON...)
		buf = append(buf, `],"Metrics":[`...)
		sep := ""
		if inv.cold {
			buf = append(buf, `{"Name":"ColdStart","Unit":"Count"}`...)
			sep = ","
		}
		for _, c := range inv.custom {
			buf = append(buf, sep...)
			buf = append(buf, `{"Name":`...)
			buf = appendString(buf, c.name)
			buf = append(buf, `,"Unit":`...)
			buf = appendString(buf, string(c.unit))
			buf = append(buf, '}')
			sep = ","
		}
		buf = append(buf, "]}]}"...)
		buf = append(buf, m.fixedJSON...)
		if inv.cold {
			buf = append(buf, `,"ColdStart":1`...)
		}
		for _, c := range inv.custom {
			buf = append(buf, ',')
			buf = appendString(buf, c.name)
			buf = append(buf, ':')
			buf = strconv.AppendFloat(buf, c.value, 'f', -1, 64)
		}
		buf = inv.appendRequestID(buf)
	}
	for _, g := range inv.groups {
		buf = append(buf, `{"_aws":{"Timestamp":`...)
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, `,"CloudWatchMetrics":[{"Namespace":`...)
		buf = append(buf, m.nsJSON...)
		buf = append(buf, `,"Dimensions":[`...)
		if g.tool == "" {
			buf = append(buf, m.methodDimsJSON...)
		} else {
			buf = append(buf, m.toolDimsJSON...)
		}
		buf = append(buf, `],"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Errors","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}]}]}`...)
		buf = append(buf, m.fixedJSON...)
		buf = append(buf, `,"Method":`...)
		buf = appendString(buf, g.method)
		if g.tool != "" {
			buf = append(buf, `,"Tool":`...)
			buf = appendString(buf, g.tool)
		}
		buf = g.appendCounts(buf)
		buf = inv.appendRequestID(buf)
	}
	buf = inv.appendBackends(buf, ts)
	inv.groups, inv.custom, inv.backends, inv.cold = nil, nil, nil, false
	*bp = buf
	if len(buf) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.w.Write(buf)
	return err
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendRequestID ends a document with the invocation's request id.
func (inv *Invocation) appendRequestID(buf []byte) []byte {
	if inv.requestID != "" {
		buf = append(buf, `,"requestId":`...)
		buf = appendString(buf, inv.requestID)
	}
	return append(buf, "}\n"...)
}

// appendString appends s as a JSON string.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			b, _ := json.Marshal(s)
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

func jsonStrings(ss []string) []byte {
	b, _ := json.Marshal(ss)
	return b
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
