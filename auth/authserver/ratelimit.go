package authserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/state"
)

// sourceAddr is the address a request came from, as the rate limiter
// counts it: the front door's source IP in Lambda, the peer's address
// otherwise; an IPv6 address stands for its /64, which one host can
// rotate through.
func sourceAddr(r *http.Request) string {
	raw := r.RemoteAddr
	if req, ok := mcplambda.RequestFromContext(r.Context()); ok && req.SourceIP != "" {
		raw = req.SourceIP
	}
	if host, _, err := net.SplitHostPort(raw); err == nil {
		raw = host
	}
	addr, err := netip.ParseAddr(raw)
	if err != nil {
		return "unknown"
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// limit counts one request of kind from source and reports whether it is
// within rate, and if not, how long until the window ends. The counter is
// a fixed window kept in the store, so every instance counts together.
func (s *Server) limit(ctx context.Context, kind, source string, rate Rate) (bool, time.Duration, error) {
	now := s.now()
	window := now.Truncate(rate.Per)
	key := "oauth/rate/" + kind + "/" + source + "/" + strconv.FormatInt(window.Unix(), 10)
	ttl := window.Add(rate.Per).Sub(now) + time.Second
	for range 10 {
		item, err := s.store.Get(ctx, key)
		switch {
		case errors.Is(err, state.ErrNotFound):
			_, err = s.store.Put(ctx, key, []byte("1"), state.PutOptions{IfAbsent: true, TTL: ttl})
			if err == nil {
				return rate.Count >= 1, ttl, nil
			}
		case err == nil:
			n, _ := strconv.Atoi(string(item.Value))
			if n >= rate.Count {
				return false, ttl, nil
			}
			_, err = s.store.Put(ctx, key, []byte(strconv.Itoa(n+1)), state.PutOptions{IfVersion: item.Version, TTL: ttl})
			if err == nil {
				return true, ttl, nil
			}
		}
		if !errors.Is(err, state.ErrConflict) {
			return false, 0, fmt.Errorf("authserver: rate limiter: %w", err)
		}
	}
	// Ten lost races in a row: the window is busy enough to say no.
	return false, ttl, nil
}
