package envelope_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire/envelope"
)

func key(t testing.TB) *gm.PrivateKey {
	t.Helper()
	k, err := gm.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	hub, other := key(t), key(t)
	msg := []byte(`{"records":[{"body":"AAEC","sig":"AAEC"}]}`)
	b, err := envelope.Marshal(hub.Public(), envelope.TypePush, msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("records")) || !bytes.HasPrefix(b, []byte("RCE1\x04push")) {
		t.Fatal("the plaintext shows in the envelope")
	}
	pt, err := envelope.Unmarshal(b, hub, envelope.TypePush)
	if err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("open: %q %v", pt, err)
	}
	e, _ := envelope.Parse(b)
	// Re-address the envelope to another key's id: the AD no longer matches.
	readdressed := *e
	readdressed.KeyID, _ = envelope.KeyID(other.Public())
	flipped := *e
	flipped.Data = bytes.Clone(e.Data)
	flipped.Data[len(flipped.Data)-1] ^= 1
	retyped := *e
	retyped.Type = envelope.TypeRecords
	tests := []struct {
		name    string
		env     envelope.Envelope
		key     *gm.PrivateKey
		typ     string
		wantErr error
	}{
		{name: "another recipient", env: *e, key: other, typ: envelope.TypePush, wantErr: envelope.ErrRecipient},
		{name: "re-addressed", env: readdressed, key: other, typ: envelope.TypePush, wantErr: envelope.ErrOpen},
		{name: "tampered", env: flipped, key: hub, typ: envelope.TypePush, wantErr: envelope.ErrOpen},
		{name: "wrong expected type", env: *e, key: hub, typ: envelope.TypeReveal, wantErr: envelope.ErrOpen},
		{name: "type changed", env: retyped, key: hub, typ: envelope.TypeRecords, wantErr: envelope.ErrOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.env.Open(tt.key, tt.typ); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	hub := key(t)
	good, _ := envelope.Marshal(hub.Public(), envelope.TypePush, []byte("x"))
	cut := func(n int) []byte { return good[:n] }
	set := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "empty", in: nil},
		{name: "JSON", in: []byte(`{"v":1}`)},
		{name: "no type", in: set(4, 0)},
		{name: "type past the end", in: cut(6)},
		{name: "no key id", in: cut(4 + 1 + 4 + 3)},
		{name: "wrong key length", in: set(4+1+4+8, 9)},
		{name: "no data", in: cut(4 + 1 + 4 + 8 + 2 + 16 + gm.SM2Overhead)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := envelope.Parse(tt.in); !errors.Is(err, envelope.ErrMalformed) {
				t.Fatalf("err %v", err)
			}
		})
	}
	e, err := envelope.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.MarshalBinary()
	if err != nil || !bytes.Equal(again, good) {
		t.Fatalf("round trip: %v", err)
	}
}

// FuzzParse: no input panics Parse or Open; what parses re-encodes.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	k := key(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := envelope.Parse(b)
		if err != nil {
			return
		}
		again, err := e.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("does not re-encode: %v", err)
		}
		if _, err := e.Open(k, e.Type); err == nil {
			t.Fatal("an envelope for another key opened")
		}
	})
}

// BenchmarkOpen: opening the envelope of a push of 250 records (about
// 140 KB), the hub's cost per sealed push.
func BenchmarkOpen(b *testing.B) {
	k := key(b)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 140<<10/16)
	sealed, err := envelope.Marshal(k.Public(), envelope.TypePush, msg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := envelope.Unmarshal(sealed, k, envelope.TypePush); err != nil {
			b.Fatal(err)
		}
	}
}
