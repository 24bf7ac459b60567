package records

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/policy"
)

// goldenRecord is the record of testdata/record-v1.hex.
func goldenRecord() *Record {
	c := sampleCheck(7)
	c.Officer = "警号010203" // decoded as stored before officer IDs were checked (Append refuses it now)
	c.Corrects = ID{0x01, 0x9a}
	return &Record{
		ID: ID{0x01, 0x9a, 0xbc}, Seq: 42, Device: "T-TEST-1", Prev: [32]byte{0xaa},
		Wall:  time.UnixMilli(1795744800123),
		Clock: ClockInfo{HubTime: time.UnixMilli(1795740000000), LocalTime: time.UnixMilli(1795740000500), Flags: ClockBackwards},
		Check: c,
	}
}

// goldenStopRecord is the record of testdata/record-v1-stop.hex: a check
// made during a roadside stop, with the stop's cross-check warnings.
func goldenStopRecord() *Record {
	r := goldenRecord()
	r.StopID = "01KBZ7Q0X7R5N3D2VQ8W6HJ4MC"
	r.StopWarnings = []string{"OPERATOR_MISMATCH", "DRIVER_NOT_QUALIFIED"}
	return r
}

// goldenPolicyRecord is the record of testdata/record-v1-policy.hex: a
// check left without an outcome (未处置) under a hub policy.
func goldenPolicyRecord() *Record {
	r := goldenRecord()
	r.Action = ActionNone
	r.Policy = &policy.Ref{Source: policy.SourceHub, Seq: 3, Digest: [32]byte{0x5e, 0x9a}, ClockSkew: 120 * time.Second, MaxTrustAge: 72 * time.Hour}
	return r
}

// TestGoldenBody pins the signed format: a change of the encoding breaks
// every signature already made, so it must be deliberate. record-v1.hex is
// a record without a stop, as encoded before the stop keys existed.
func TestGoldenBody(t *testing.T) {
	tests := []struct {
		name string
		file string
		rec  *Record
	}{
		{name: "without stop", file: "record-v1.hex", rec: goldenRecord()},
		{name: "with stop", file: "record-v1-stop.hex", rec: goldenStopRecord()},
		{name: "with policy, none", file: "record-v1-policy.hex", rec: goldenPolicyRecord()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rec.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if os.Getenv("RECORDS_UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(path, []byte(hex.EncodeToString(got)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readHex(t, path)
			if !bytes.Equal(got, want) {
				t.Fatalf("canonical bytes changed:\n got %x\nwant %x", got, want)
			}
			r, err := DecodeCanonical(want)
			if err != nil {
				t.Fatal(err)
			}
			if r.StopID != tt.rec.StopID || strings.Join(r.StopWarnings, ",") != strings.Join(tt.rec.StopWarnings, ",") {
				t.Fatalf("stop decoded as %q %q", r.StopID, r.StopWarnings)
			}
			if (r.Policy == nil) != (tt.rec.Policy == nil) || r.Policy != nil && *r.Policy != *tt.rec.Policy || r.Action != tt.rec.Action {
				t.Fatalf("policy decoded as %+v, action %v", r.Policy, r.Action)
			}
			again, _ := r.Canonical()
			if !bytes.Equal(again, want) {
				t.Fatal("decode/encode is not the identity")
			}
		})
	}
}

func readHex(t testing.TB, path string) []byte {
	t.Helper()
	s, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(s)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeCanonicalRefuses(t *testing.T) {
	good := readHex(t, filepath.Join("testdata", "record-v1.hex"))
	var m map[uint64]any
	if err := cbor.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	variant := func(mod func(m map[uint64]any)) []byte {
		c := map[uint64]any{}
		for k, v := range m {
			c[k] = v
		}
		mod(c)
		b, err := encMode.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	nonCanonical := append([]byte{0xb9, 0x00, byte(len(m))}, good[1:]...) // map length in 2 bytes
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{name: "empty", in: nil, wantErr: ErrMalformed},
		{name: "trailing byte", in: append(bytes.Clone(good), 0), wantErr: ErrMalformed},
		{name: "not a map", in: []byte{0x80}, wantErr: ErrMalformed},
		{name: "non-shortest map header", in: nonCanonical, wantErr: ErrMalformed},
		{name: "unknown key", in: variant(func(m map[uint64]any) { m[99] = 1 }), wantErr: ErrMalformed},
		{name: "version 2", in: variant(func(m map[uint64]any) { m[1] = 2 }), wantErr: ErrMalformed},
		{name: "short id", in: variant(func(m map[uint64]any) { m[2] = []byte{1} }), wantErr: ErrMalformed},
		{name: "seq 0", in: variant(func(m map[uint64]any) { m[4] = 0 }), wantErr: ErrMalformed},
		{name: "unknown verdict", in: variant(func(m map[uint64]any) { m[14] = "MAYBE" }), wantErr: ErrMalformed},
		{name: "unknown reason", in: variant(func(m map[uint64]any) { m[15] = []any{"NOPE"} }), wantErr: ErrMalformed},
		{name: "action 0", in: variant(func(m map[uint64]any) { m[16] = 0 }), wantErr: ErrMalformed},
		{name: "wrong type", in: variant(func(m map[uint64]any) { m[6] = "noon" }), wantErr: ErrMalformed},
		{name: "too large", in: make([]byte, MaxBodySize+1), wantErr: ErrMalformed},
		{name: "stop warnings without stop", in: variant(func(m map[uint64]any) { m[23] = []any{"PLATE_MISMATCH"} }), wantErr: ErrMalformed},
		{name: "empty stop warnings", in: variant(func(m map[uint64]any) { m[22], m[23] = "S-1", []any{} }), wantErr: ErrMalformed},
		{name: "empty stop id", in: variant(func(m map[uint64]any) { m[22] = "" }), wantErr: ErrMalformed},
		{name: "lower-case warning", in: variant(func(m map[uint64]any) { m[22], m[23] = "S-1", []any{"plate"} }), wantErr: ErrMalformed},
		{name: "stop id with space", in: variant(func(m map[uint64]any) { m[22] = "S 1" }), wantErr: ErrMalformed},
		{name: "policy of an unknown source", in: variant(func(m map[uint64]any) { m[25] = map[uint64]any{1: 3, 3: make([]byte, 32)} }), wantErr: ErrMalformed},
		{name: "hub policy without digest", in: variant(func(m map[uint64]any) { m[25] = map[uint64]any{1: 1, 2: 3, 4: 120} }), wantErr: ErrMalformed},
		{name: "default policy with a sequence", in: variant(func(m map[uint64]any) { m[25] = map[uint64]any{2: 3, 4: 300} }), wantErr: ErrMalformed},
		{name: "policy digest of 31 bytes", in: variant(func(m map[uint64]any) { m[25] = map[uint64]any{1: 1, 2: 3, 3: make([]byte, 31)} }), wantErr: ErrMalformed},
		{name: "policy with an unknown key", in: variant(func(m map[uint64]any) { m[25] = map[uint64]any{4: 300, 9: 1} }), wantErr: ErrMalformed},
		{name: "policy skew beyond any bound", in: variant(func(m map[uint64]any) { m[25] = map[uint64]any{4: uint64(1) << 40} }), wantErr: ErrMalformed},
		{name: "action 8", in: variant(func(m map[uint64]any) { m[16] = 8 }), wantErr: ErrMalformed},
		{name: "golden", in: good},
		{name: "golden plus the default policy", in: variant(func(m map[uint64]any) { m[25] = map[uint64]any{4: 300, 5: 604800} })},
		{name: "golden plus a stop", in: variant(func(m map[uint64]any) { m[22], m[23] = "S-1", []any{"PLATE_MISMATCH"} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeCanonical(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestSignedOpen(t *testing.T) {
	k, _ := gm.GenerateKey(nil)
	other, _ := gm.GenerateKey(nil)
	good := readHex(t, filepath.Join("testdata", "record-v1.hex"))
	sig, _ := k.Sign(nil, good)
	edited := bytes.ReplaceAll(good, []byte("LIMITED"), []byte("INVALID"))
	tests := []struct {
		name    string
		s       Signed
		wantErr error
	}{
		{name: "good", s: Signed{good, sig}},
		{name: "edited body", s: Signed{edited, sig}, wantErr: ErrBadSignature},
		{name: "other key", s: Signed{good, mustSign(t, other, good)}, wantErr: ErrBadSignature},
		{name: "short signature", s: Signed{good, sig[:63]}, wantErr: ErrBadSignature},
		{name: "garbage", s: Signed{[]byte("x"), sig}, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.s.Open(k.Public()); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func mustSign(t *testing.T, k *gm.PrivateKey, msg []byte) []byte {
	t.Helper()
	s, err := k.Sign(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func FuzzDecodeCanonical(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.hex"))
	for _, p := range seeds {
		f.Add(readHex(f, p))
	}
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeCanonical(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		again, err := r.Canonical()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted bytes do not re-encode identically: %v", err)
		}
	})
}
