package telemetry

import (
	"context"
	"strconv"
	"time"
)

// RecordBackend records one request that a gateway (package gateway)
// made to one of its backends on behalf of the invocation in ctx: the
// backend's name, the MCP method, how long it took and whether it failed.
// [Invocation.Flush] writes Requests, Errors and Latency by
// Service+Backend and by Service+Backend+Method. Backend names become
// dimension values up to MaxNames distinct names over the life of the
// process (a gateway's backends come from its configuration, so they stay
// few), and are counted under [Other] beyond; methods outside MCP's set
// are [Other] too. Without an invocation in ctx it does nothing.
func RecordBackend(ctx context.Context, backend, method string, d time.Duration, failed bool) {
	inv := fromContext(ctx)
	if inv == nil {
		return
	}
	if !knownMethods[method] {
		method = Other
	}
	backend = inv.m.admitBackend(backend)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.backends = count(inv.backends, method, backend, d, failed)
}

// admitBackend returns name if it may be a Backend dimension value, else
// Other.
func (m *Metrics) admitBackend(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backendNames[name] {
		return name
	}
	if len(m.backendNames) >= m.maxNames {
		return Other
	}
	m.backendNames[name] = true
	return name
}

// appendBackends appends the documents of the backend requests of inv:
// one per backend and method, carrying both dimension sets. inv.mu is
// held.
func (inv *Invocation) appendBackends(buf []byte, ts int64) []byte {
	m := inv.m
	for _, g := range inv.backends {
		buf = append(buf, `{"_aws":{"Timestamp":`...)
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, `,"CloudWatchMetrics":[{"Namespace":`...)
		buf = append(buf, m.nsJSON...)
		buf = append(buf, `,"Dimensions":[`...)
		buf = append(buf, m.backendDimsJSON...)
		buf = append(buf, `],"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Errors","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}]}]}`...)
		buf = append(buf, m.fixedJSON...)
		buf = append(buf, `,"Backend":`...)
		buf = appendString(buf, g.tool)
		buf = append(buf, `,"Method":`...)
		buf = appendString(buf, g.method)
		buf = g.appendCounts(buf)
		buf = inv.appendRequestID(buf)
	}
	return buf
}
