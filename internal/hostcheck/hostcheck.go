// Package hostcheck decides whether an HTTP request that reached a server
// on the developer's machine names a host that server answers to, so that
// a web page cannot reach it by DNS rebinding: the page's own domain is
// re-pointed at 127.0.0.1, and the browser, which still sees the page's
// origin, lets it send requests to the local server and read the answers.
// Such a request carries the page's domain in its Host header.
//
// Two rules, for two kinds of endpoints:
//
//   - [LoopbackHost] is the rule of go-sdk's local serving, for endpoints
//     that are public in production (a front door): a request that arrived
//     on a loopback address must name a loopback host; on other addresses
//     any Host is accepted, as a deployed endpoint would.
//   - [OwnHost] is stricter, for endpoints only local tools call (the Lambda
//     Invoke API of package lambdatest): the Host must be a loopback name or
//     address, or the IP address the connection arrived on, whatever the
//     listener.
//
// Quick start:
//
//	if !hostcheck.OwnHost(r) {
//		http.Error(w, "forbidden", http.StatusForbidden)
//		return
//	}
package hostcheck

import (
	"net"
	"net/http"
	"strings"
)

// IsLoopback reports whether hostport (a Host header or a listen address,
// with or without a port) names a loopback host: localhost or a loopback
// IP address.
func IsLoopback(hostport string) bool {
	host := hostOnly(hostport)
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackHost reports whether r passes go-sdk's DNS-rebinding rule: a
// request that arrived on a loopback address must name a loopback host.
// Requests that arrived on another address, or whose local address is
// unknown (not served by net/http), pass.
func LoopbackHost(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil {
		return true
	}
	return !IsLoopback(local.String()) || IsLoopback(r.Host)
}

// OwnHost reports whether r's Host names a loopback host or the IP address
// the connection arrived on: the names under which a local tool (the AWS
// SDK or CLI given an endpoint URL) reaches a server on this machine. A
// missing Host, or any other name, fails. Requests whose local address is
// unknown (not served by net/http) are held to loopback hosts only.
func OwnHost(r *http.Request) bool {
	if IsLoopback(r.Host) {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil {
		return false
	}
	want := net.ParseIP(hostOnly(local.String()))
	got := net.ParseIP(hostOnly(r.Host))
	return want != nil && got != nil && want.Equal(got)
}

// hostOnly strips the port and the brackets of an IPv6 literal.
func hostOnly(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}
