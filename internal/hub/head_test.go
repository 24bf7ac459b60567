package hub_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// FuzzDecodeHead: a head report body either decodes to a head the hub can
// compare (a 32-byte hash, the zero hash at sequence 0, bounded problems)
// or gives ErrBadInput.
func FuzzDecodeHead(f *testing.F) {
	f.Add(seed(f, "head.json"))
	f.Add([]byte(`{"seq":0,"hash":"` + strings.Repeat("0", 64) + `","sig":"","audit":{"records":0}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := hub.DecodeHead(b)
		if err != nil {
			if !errors.Is(err, hub.ErrBadInput) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if h.Seq == 0 && h.Hash != [32]byte{} || len(h.Audit.Problems) > wire.MaxHeadProblems || len(h.Sig) > 256 {
			t.Fatalf("accepted %+v", h)
		}
	})
}

func TestDecodeHead(t *testing.T) {
	zero := strings.Repeat("0", 64)
	tests := []struct {
		name, body string
		wantErr    error
	}{
		{name: "seed", body: `{"seq":3,"hash":"` + strings.Repeat("ab", 32) + `","sig":"AAAA","audit":{"records":3}}`},
		{name: "empty chain", body: `{"seq":0,"hash":"` + zero + `","sig":"","audit":{"records":0}}`},
		{name: "upper-case hash", body: `{"seq":3,"hash":"` + strings.Repeat("AB", 32) + `","sig":"","audit":{"records":3}}`, wantErr: hub.ErrBadInput},
		{name: "short hash", body: `{"seq":3,"hash":"abcd","sig":"","audit":{"records":3}}`, wantErr: hub.ErrBadInput},
		{name: "hash without records", body: `{"seq":0,"hash":"` + strings.Repeat("ab", 32) + `","sig":"","audit":{"records":0}}`, wantErr: hub.ErrBadInput},
		{name: "unknown field", body: `{"seq":0,"hash":"` + zero + `","sig":"","audit":{"records":0},"x":1}`, wantErr: hub.ErrBadInput},
		{name: "problem without kind", body: `{"seq":1,"hash":"` + strings.Repeat("ab", 32) + `","sig":"","audit":{"records":1,"problems":[{"seq":1}]}}`, wantErr: hub.ErrBadInput},
		{name: "negative records", body: `{"seq":1,"hash":"` + strings.Repeat("ab", 32) + `","sig":"","audit":{"records":-1}}`, wantErr: hub.ErrBadInput},
		{name: "trailing data", body: `{"seq":0,"hash":"` + zero + `","sig":"","audit":{"records":0}} {}`, wantErr: hub.ErrBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := hub.DecodeHead([]byte(tt.body)); !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeHead: %v, want %v", err, tt.wantErr)
			}
		})
	}
}
