package hostcheck

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		hostport string
		want     bool
	}{
		{"localhost", true},
		{"LOCALHOST:8080", true},
		{"127.0.0.1", true},
		{"127.0.0.1:8080", true},
		{"127.1.2.3:80", true},
		{"[::1]:8080", true},
		{"::1", true},
		{"[::1]", true},
		{"", false},
		{"evil.example.com", false},
		{"evil.example.com:8080", false},
		{"localhost.evil.example.com", false},
		{"192.168.1.5:8080", false},
		{"0.0.0.0:8080", false},
	} {
		if got := IsLoopback(tt.hostport); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.hostport, got, tt.want)
		}
	}
}

// request returns a request for host that arrived on local ("" means not
// served by net/http: no local address).
func request(host, local string) *http.Request {
	r := httptest.NewRequest("POST", "/", nil)
	r.Host = host
	if local != "" {
		addr, err := net.ResolveTCPAddr("tcp", local)
		if err != nil {
			panic(err)
		}
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, addr))
	}
	return r
}

func TestRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		host, local       string
		loopbackHost, own bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true, true},
		{"localhost:8080", "127.0.0.1:8080", true, true},
		{"[::1]:8080", "127.0.0.1:8080", true, true},
		{"evil.example.com", "127.0.0.1:8080", false, false},      // DNS rebinding
		{"evil.example.com:8080", "127.0.0.1:8080", false, false}, // DNS rebinding
		{"", "127.0.0.1:8080", false, false},
		// A listener on all interfaces, reached from the network.
		{"192.168.1.5:8080", "192.168.1.5:8080", true, true},
		{"devbox:8080", "192.168.1.5:8080", true, false},
		{"10.0.0.9:8080", "192.168.1.5:8080", true, false},
		{"127.0.0.1:8080", "192.168.1.5:8080", true, true},
		// Not served by net/http.
		{"evil.example.com", "", true, false},
		{"localhost", "", true, true},
	} {
		r := request(tt.host, tt.local)
		if got := LoopbackHost(r); got != tt.loopbackHost {
			t.Errorf("LoopbackHost(Host %q on %q) = %v, want %v", tt.host, tt.local, got, tt.loopbackHost)
		}
		if got := OwnHost(r); got != tt.own {
			t.Errorf("OwnHost(Host %q on %q) = %v, want %v", tt.host, tt.local, got, tt.own)
		}
	}
}
