package main

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSetSelfInvoke: the instances get dev's Invoke API and placeholder
// credentials, before --env, which wins (the last of duplicate variables
// counts).
func TestSetSelfInvoke(t *testing.T) {
	cfg := &devConfig{env: []string{"AWS_ACCESS_KEY_ID=mine", "A=1"}}
	cfg.setSelfInvoke(&net.TCPAddr{IP: net.IPv4zero, Port: 8123})
	want := []string{
		"AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:8123",
		"AWS_ACCESS_KEY_ID=mcplambda-dev",
		"AWS_SECRET_ACCESS_KEY=mcplambda-dev",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=mine",
		"A=1",
	}
	if diff := cmp.Diff(want, cfg.env); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}
