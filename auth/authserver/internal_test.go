package authserver

import (
	"net/netip"
	"testing"
	"time"
)

// TestPublicAddr: the addresses a client metadata document may and may
// not be fetched from.
func TestPublicAddr(t *testing.T) {
	for _, tt := range []struct {
		addr          string
		allowLoopback bool
		want          bool
	}{
		{"93.184.215.14", false, true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", false, true},
		{"169.254.169.254", false, false}, // EC2 instance metadata
		{"169.254.170.2", true, false},    // ECS task metadata
		{"fd00:ec2::254", false, false},   // EC2 instance metadata over IPv6
		{"::ffff:169.254.169.254", false, false},
		{"10.0.0.1", false, false},
		{"172.16.5.4", false, false},
		{"192.168.1.1", false, false},
		{"100.64.0.1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"fe80::1", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of 169.254.169.254
		{"2002:a9fe:a9fe::1", false, false},  // 6to4 of 169.254.169.254
		{"127.0.0.1", false, false},
		{"::1", false, false},
		{"127.0.0.1", true, true},
		{"::ffff:127.0.0.1", true, true},
		{"10.0.0.1", true, false},
	} {
		if got := publicAddr(netip.MustParseAddr(tt.addr), tt.allowLoopback); got != tt.want {
			t.Errorf("publicAddr(%s, allowLoopback %v) = %v, want %v", tt.addr, tt.allowLoopback, got, tt.want)
		}
	}
}

// TestCacheTTL: a document's max-age within the configured bounds.
func TestCacheTTL(t *testing.T) {
	s := &Server{cimd: ClientMetadataOptions{MinCacheTTL: time.Minute, MaxCacheTTL: 24 * time.Hour}}
	for _, tt := range []struct {
		cacheControl string
		want         time.Duration
	}{
		{"", time.Hour},
		{"max-age=600", 10 * time.Minute},
		{"public, max-age=5", time.Minute},
		{"max-age=31536000, immutable", 24 * time.Hour},
		{"no-store", time.Minute},
		{"no-cache, max-age=600", time.Minute},
		{"max-age=garbage", time.Hour},
	} {
		if got := s.cacheTTL(tt.cacheControl); got != tt.want {
			t.Errorf("cacheTTL(%q) = %v, want %v", tt.cacheControl, got, tt.want)
		}
	}
}

// TestClientIDURL: the draft's rules for client identifier URLs.
func TestClientIDURL(t *testing.T) {
	for id, ok := range map[string]bool{
		"https://app.example.com/client.json":       true,
		"https://app.example.com:8443/oauth/client": true,
		"http://app.example.com/client.json":        false,
		"https://app.example.com":                   false,
		"https://app.example.com/":                  false,
		"https://app.example.com/a/../client.json":  false,
		"https://app.example.com/./client.json":     false,
		"https://app.example.com/%2e%2e/x":          false,
		"https://app.example.com/client.json#frag":  false,
		"https://user@app.example.com/client.json":  false,
	} {
		if _, err := checkClientIDURL(id); (err == nil) != ok {
			t.Errorf("checkClientIDURL(%q) = %v, want ok %v", id, err, ok)
		}
	}
}

// TestRedirectURIs: what may be registered, and what matches.
func TestRedirectURIs(t *testing.T) {
	for uri, ok := range map[string]bool{
		"https://app.example.com/cb":        true,
		"http://127.0.0.1/callback":         true,
		"http://[::1]:3000/callback":        true,
		"http://localhost:8080/cb?x=1":      true,
		"http://app.example.com/cb":         false,
		"https://*.example.com/cb":          false,
		"https://app.example.com/cb#f":      false,
		"https://u:p@app.example.com/cb":    false,
		"cursor://anysphere.cursor/oauth":   false,
		"/relative/cb":                      false,
		"javascript:alert(1)":               false,
		"https://app.example.com\\@evil/cb": false,
	} {
		if err := checkRedirectURI(uri); (err == nil) != ok {
			t.Errorf("checkRedirectURI(%q) = %v, want ok %v", uri, err, ok)
		}
	}
	registered := []string{"https://app.example.com/cb", "http://127.0.0.1/callback", "http://[::1]:3000/cb", "http://localhost/cb"}
	for req, ok := range map[string]bool{
		"https://app.example.com/cb":           true,
		"http://127.0.0.1:51234/callback":      true,
		"http://127.0.0.1/callback":            true,
		"http://[::1]:4000/cb":                 true,
		"http://localhost:9999/cb":             true,
		"http://127.0.0.1:51234/callback/x":    false,
		"http://127.0.0.1:51234/callback?x=1":  false,
		"http://localhost:9999/callback":       false,
		"http://127.0.0.2:51234/callback":      false,
		"https://app.example.com:443/cb":       false,
		"https://app.example.com/cb/":          false,
		"https://APP.example.com/cb":           false,
		"https://127.0.0.1:51234/callback":     false,
		"http://127.0.0.1:51234/callback#frag": false,
	} {
		if _, got := matchRedirectURI(registered, req); got != ok {
			t.Errorf("matchRedirectURI(%q) = %v, want %v", req, got, ok)
		}
	}
}
