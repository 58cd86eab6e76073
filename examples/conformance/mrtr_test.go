package main

import (
	"testing"
)

func TestStateSigner(t *testing.T) {
	signer := newStateSigner([]byte("key"))
	sealed := signer.seal("round=2;name=Alice")
	other := newStateSigner([]byte("other key")).seal("round=2;name=Alice")
	tests := []struct {
		name    string
		state   string
		want    string
		wantErr bool
	}{
		{name: "round trip", state: sealed, want: "round=2;name=Alice"},
		{name: "empty payload", state: signer.seal(""), want: ""},
		{name: "tampered suffix", state: sealed + "-TAMPERED", wantErr: true},
		{name: "other key", state: other, wantErr: true},
		{name: "no signature", state: "cm91bmQ9MQ", wantErr: true},
		{name: "not base64", state: "!!!.!!!", wantErr: true},
		{name: "empty", state: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := signer.open(tt.state)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("open(%q) = %q, %v; want %q, error %v", tt.state, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
