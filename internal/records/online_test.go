package records

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var hubAnswerTime = time.Date(2026, 11, 27, 2, 0, 0, 123456789, time.UTC)

// goldenOnlineRecord is the record of testdata/record-v1-online.hex: a
// revocation found online.
func goldenOnlineRecord() *Record {
	r := goldenRecord()
	r.Verdict, r.Reasons = verify.Invalid, []verify.Reason{verify.LicenceRevoked, verify.StatusUnknown}
	r.Online = &Online{At: time.UnixMilli(hubAnswerTime.UnixMilli()), Status: verify.OnlineRevoked, ListSequence: 3589977601, Changed: true}
	return r
}

// TestGoldenOnlineBody pins key 24 and checks that a record without an
// online check is byte for byte what it was before the key existed.
func TestGoldenOnlineBody(t *testing.T) {
	got, err := goldenOnlineRecord().Canonical()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "record-v1-online.hex")
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
	if r.Online == nil || *r.Online != *goldenOnlineRecord().Online {
		t.Fatalf("online decoded as %+v", r.Online)
	}
	var m map[uint64]any
	if err := cbor.Unmarshal(want, &m); err != nil {
		t.Fatal(err)
	}
	on, ok := m[24].(map[any]any)
	if !ok || on[uint64(1)] != uint64(hubAnswerTime.UnixMilli()) || on[uint64(2)] != "revoked" || on[uint64(4)] != true {
		t.Fatalf("key 24 = %#v", m[24])
	}
	// Without an online check: the old bytes.
	old, err := goldenRecord().Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, readHex(t, filepath.Join("testdata", "record-v1.hex"))) {
		t.Fatal("a record without an online check no longer encodes as before")
	}
}

func TestOnlineValidate(t *testing.T) {
	at := time.UnixMilli(hubAnswerTime.UnixMilli())
	revoked := []verify.Reason{verify.LicenceRevoked}
	tests := []struct {
		name    string
		o       *Online
		reasons []verify.Reason
		wantErr error
	}{
		{name: "none", o: nil},
		{name: "active", o: &Online{At: at, Status: "active", ListSequence: 9}},
		{name: "unknown", o: &Online{At: at, Status: "unknown"}},
		{name: "found online", o: &Online{At: at, Status: "revoked", Changed: true}, reasons: revoked},
		{name: "suspended online", o: &Online{At: at, Status: "suspended", Changed: true}, reasons: []verify.Reason{verify.LicenceSuspended}},
		{name: "hub behind", o: &Online{At: at, Status: "suspended", ListSequence: 1, Behind: true}},
		{name: "no answer", o: &Online{Err: "timeout: no answer within 800ms"}},
		{name: "no answer without a cause", o: &Online{}, wantErr: ErrInvalidCheck},
		{name: "no answer with a time", o: &Online{At: at, Err: "x"}, wantErr: ErrInvalidCheck},
		{name: "no answer but changed", o: &Online{Err: "x", Changed: true}, reasons: revoked, wantErr: ErrInvalidCheck},
		{name: "answer without a time", o: &Online{Status: "active"}, wantErr: ErrInvalidCheck},
		{name: "answer with an error", o: &Online{At: at, Status: "active", Err: "x"}, wantErr: ErrInvalidCheck},
		{name: "unknown status", o: &Online{At: at, Status: "gone"}, wantErr: ErrInvalidCheck},
		{name: "changed by active", o: &Online{At: at, Status: "active", Changed: true}, wantErr: ErrInvalidCheck},
		{name: "changed but reason missing", o: &Online{At: at, Status: "revoked", Changed: true}, wantErr: ErrInvalidCheck},
		{name: "changed to suspended but reason is revoked", o: &Online{At: at, Status: "suspended", Changed: true}, reasons: revoked, wantErr: ErrInvalidCheck},
		{name: "behind and changed", o: &Online{At: at, Status: "revoked", Changed: true, Behind: true}, reasons: revoked, wantErr: ErrInvalidCheck},
		{name: "behind without a finding", o: &Online{At: at, Status: "active", Behind: true}, wantErr: ErrInvalidCheck},
		{name: "error too long", o: &Online{Err: strings.Repeat("x", verify.MaxOnlineErr+1)}, wantErr: ErrInvalidCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Check{Verdict: verify.Valid, Reasons: tt.reasons, Action: ActionRelease, Online: tt.o}
			if len(tt.reasons) > 0 {
				c.Verdict = verify.Invalid
			}
			err := c.validate()
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("validate = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestAppendOnline: the online check is signed into the record, survives a
// reopen and Audit, and is refused when inconsistent; the hub's time is
// kept to the millisecond.
func TestAppendOnline(t *testing.T) {
	f := newFixture(t, storage.Options{NoSync: true})
	c := sampleCheck(1)
	c.Verdict, c.Reasons = verify.Invalid, []verify.Reason{verify.LicenceRevoked, verify.StatusUnknown}
	c.Online = &Online{At: hubAnswerTime, Status: verify.OnlineRevoked, ListSequence: 12, Changed: true}
	r := mustAppend(t, f.store, c)
	want := Online{At: time.UnixMilli(hubAnswerTime.UnixMilli()), Status: verify.OnlineRevoked, ListSequence: 12, Changed: true}
	if r.Online == nil || *r.Online != want {
		t.Fatalf("appended online = %+v, want %+v", r.Online, want)
	}
	plain := mustAppend(t, f.store, sampleCheck(2))
	f.reopen(t, storage.Options{NoSync: true})
	e, err := f.store.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Record.Online == nil || *e.Record.Online != want {
		t.Fatalf("stored online = %+v, want %+v", e.Record.Online, want)
	}
	e, err = f.store.Get(context.Background(), plain.ID)
	if err != nil || e.Record.Online != nil {
		t.Fatalf("record without an online check: %+v, %v", e, err)
	}
	if rep, err := f.store.Audit(context.Background()); err != nil || !rep.OK() {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
	bad := c
	bad.Reasons = []verify.Reason{verify.StatusUnknown}
	if _, err := f.store.Append(context.Background(), bad); !errors.Is(err, ErrInvalidCheck) {
		t.Fatalf("Append of a change without its reason = %v, want ErrInvalidCheck", err)
	}
}

// TestOnlineFromResult maps verify's online check to the record's.
func TestOnlineFromResult(t *testing.T) {
	tests := []struct {
		name string
		in   *verify.OnlineCheck
		want *Online
	}{
		{name: "offline", in: nil, want: nil},
		{name: "no hub", in: &verify.OnlineCheck{}, want: nil},
		{name: "answer", in: &verify.OnlineCheck{Asked: true, At: hubAnswerTime, Status: "active", ListSequence: 4},
			want: &Online{At: time.UnixMilli(hubAnswerTime.UnixMilli()), Status: "active", ListSequence: 4}},
		{name: "no answer", in: &verify.OnlineCheck{Asked: true, Err: "timeout: no answer within 800ms"},
			want: &Online{Err: "timeout: no answer within 800ms"}},
		{name: "no answer, no cause", in: &verify.OnlineCheck{Asked: true}, want: &Online{Err: "no answer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckFromResult(&verify.Result{Online: tt.in}).Online
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
