package records

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

func TestAppendGetRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{})
	c := sampleCheck(1)
	c.HolderIDRevealed = t0.Add(time.Second)
	r1 := mustAppend(t, f.store, c)
	f.clk.Advance(time.Minute)
	c2 := sampleCheck(2)
	c2.Corrects = r1.ID
	c2.Action, c2.ActionText = ActionOther, "补录：实际为责令改正"
	c2.StopID, c2.StopWarnings = "T-TEST-1-20261127T100000-1", []string{"PLATE_MISMATCH", "SCOPE_NOT_PERMITTED"}
	r2 := mustAppend(t, f.store, c2)
	if r1.Seq != 1 || r2.Seq != 2 {
		t.Fatalf("seqs %d %d", r1.Seq, r2.Seq)
	}
	canon1, _ := r1.Canonical()
	if r2.Prev != Hash(canon1) {
		t.Fatal("record 2 does not chain to record 1")
	}
	f.reopen(t, storage.Options{})
	got, err := f.store.Get(ctx, r2.ID)
	if err != nil || got.Damaged != nil {
		t.Fatalf("get: %v %v", err, got.Damaged)
	}
	if got.Plate != "粤B12345" || got.Holder != c.Holder || got.Corrects != r1.ID || got.ActionText != c2.ActionText ||
		got.Location.Place != c.Location.Place || got.Location.Lat != 22.543096 || got.State != Pending {
		t.Fatalf("round trip: %+v", got.Record)
	}
	if got.StopID != c2.StopID || !slices.Equal(got.StopWarnings, c2.StopWarnings) {
		t.Fatalf("stop round trip: %q %q", got.StopID, got.StopWarnings)
	}
	got1, _ := f.store.Get(ctx, r1.ID)
	if got1.StopID != "" || got1.StopWarnings != nil {
		t.Fatalf("record without stop has %q %q", got1.StopID, got1.StopWarnings)
	}
	if !got1.HolderIDRevealed.Equal(c.HolderIDRevealed) {
		t.Fatalf("revealed %v", got1.HolderIDRevealed)
	}
	if _, err := f.store.Get(ctx, ID{1}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	rep, err := f.store.Audit(ctx)
	if err != nil || !rep.OK() || rep.Records != 2 {
		t.Fatalf("audit %+v %v", rep, err)
	}
	// The personal fields never reach the file in the clear.
	f.db.Close()
	raw, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	// Every personal or evidential field is sealed (issue 10): the licence
	// number, notes and place too, since v2 at rest.
	for _, s := range []string{"粤B12345", c.Holder, c.HolderID, c.Number, c.Notes, c.Location.Place} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("%q stored in the clear", s)
		}
	}
	if !bytes.Contains(raw, []byte(c.Officer)) {
		t.Error("officer id (not sealed) not found: is the scan of the file working?")
	}
}

func TestAppendInvalid(t *testing.T) {
	f := newFixture(t, storage.Options{NoSync: true})
	mustAppend(t, f.store, sampleCheck(0))
	tests := []struct {
		name    string
		mod     func(c *Check)
		wantErr error
	}{
		{name: "no action", mod: func(c *Check) { c.Action = 0 }, wantErr: ErrInvalidCheck},
		{name: "unknown action", mod: func(c *Check) { c.Action = 9 }, wantErr: ErrInvalidCheck},
		{name: "other without text", mod: func(c *Check) { c.Action = ActionOther }, wantErr: ErrInvalidCheck},
		{name: "none with a text", mod: func(c *Check) { c.Action, c.ActionText = ActionNone, "未处置" }, wantErr: ErrInvalidCheck},
		{name: "none", mod: func(c *Check) { c.Action = ActionNone }},
		{name: "short kid", mod: func(c *Check) { c.KID = []byte{1} }, wantErr: ErrInvalidCheck},
		{name: "latitude out of range", mod: func(c *Check) { c.Location.Lat = 91 }, wantErr: ErrInvalidCheck},
		{name: "huge notes", mod: func(c *Check) { c.Notes = string(make([]byte, maxNotes+1)) }, wantErr: ErrInvalidCheck},
		{name: "correction of unknown record", mod: func(c *Check) { c.Corrects = ID{7} }, wantErr: ErrInvalidCheck},
		{name: "stop warnings without stop", mod: func(c *Check) { c.StopWarnings = []string{"PLATE_MISMATCH"} }, wantErr: ErrInvalidCheck},
		{name: "stop id with newline", mod: func(c *Check) { c.StopID = "S\n1" }, wantErr: ErrInvalidCheck},
		{name: "stop id too long", mod: func(c *Check) { c.StopID = strings.Repeat("S", maxStopID+1) }, wantErr: ErrInvalidCheck},
		{name: "not a warning code", mod: func(c *Check) { c.StopID, c.StopWarnings = "S-1", []string{"车牌不符"} }, wantErr: ErrInvalidCheck},
		{name: "too many warnings", mod: func(c *Check) {
			c.StopID, c.StopWarnings = "S-1", slices.Repeat([]string{"PLATE_MISMATCH"}, maxReasons+1)
		}, wantErr: ErrInvalidCheck},
		{name: "stop without warnings", mod: func(c *Check) { c.StopID = "01KBZ7Q0X7R5N3D2VQ8W6HJ4MC" }},
		{name: "valid", mod: func(c *Check) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleCheck(1)
			tt.mod(&c)
			_, err := f.store.Append(context.Background(), c)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if rep, _ := f.store.Audit(context.Background()); !rep.OK() || rep.Records != 4 { // the first and the valid ones
		t.Fatalf("refused checks changed the chain: %+v", rep)
	}
}

func TestKeySources(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	r := mustAppend(t, f.store, sampleCheck(1))
	if err := f.store.AddKeySource(ctx, Passphrase("204816")); err != nil {
		t.Fatal(err)
	}
	keyPath := KeyFilePath(f.path)
	otherKey := filepath.Join(t.TempDir(), "other.key")
	if err := os.WriteFile(otherKey, []byte("00112233445566778899aabbccddeeff\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(t.TempDir(), "loose.key")
	key, _ := os.ReadFile(keyPath)
	if err := os.WriteFile(loose, key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ks      KeySource
		wantErr error
	}{
		{name: "key file", ks: KeyFile(keyPath)},
		{name: "PIN", ks: Passphrase("204816")},
		{name: "wrong PIN", ks: Passphrase("204817"), wantErr: ErrWrongKey},
		{name: "empty PIN", ks: Passphrase(""), wantErr: ErrWrongKey},
		{name: "other device's key file", ks: KeyFile(otherKey), wantErr: ErrWrongKey},
		{name: "missing key file", ks: KeyFile(filepath.Join(t.TempDir(), "none.key")), wantErr: ErrKeyFile},
		{name: "world-readable key file", ks: KeyFile(loose), wantErr: ErrKeyFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, f.db, tt.ks, Options{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				e, err := s.Get(ctx, r.ID)
				if err != nil || e.Plate != "粤B12345" {
					t.Fatalf("get: %v %+v", err, e)
				}
			}
		})
	}
	if err := f.store.RemoveKeySource(ctx, "keyfile"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, f.db, KeyFile(keyPath), Options{}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("removed slot still opens: %v", err)
	}
	if err := f.store.RemoveKeySource(ctx, "pin"); !errors.Is(err, ErrSlot) {
		t.Fatalf("removing the last slot: %v", err)
	}
}

func TestOutboxAndDelivery(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	var recs []*Record
	for i := range 5 {
		recs = append(recs, mustAppend(t, f.store, sampleCheck(i)))
	}
	out, err := f.store.Outbox(ctx, 3)
	if err != nil || len(out) != 3 {
		t.Fatalf("outbox: %d %v", len(out), err)
	}
	for i, o := range out {
		r, err := o.Open(f.store.PublicKey())
		if err != nil || r.ID != recs[i].ID || o.ID != recs[i].ID || r.Plate != "粤B12345" {
			t.Fatalf("outgoing %d: %v", i, err)
		}
	}
	err = f.store.MarkDelivered(ctx, time.Time{}, []Outcome{{Seq: 1}, {Seq: 2, Rejected: true, Reason: "bad_signature"}, {Seq: 99}})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := f.store.PendingCount(ctx); n != 3 {
		t.Fatalf("pending %d", n)
	}
	pend, _ := f.store.List(ctx, ListOptions{PendingOnly: true})
	if len(pend) != 3 || pend[0].Seq != 3 {
		t.Fatalf("pending list %d", len(pend))
	}
	all, _ := f.store.List(ctx, ListOptions{})
	if all[0].State != Delivered || all[1].State != Rejected || all[1].HubReason != "bad_signature" || all[2].State != Pending {
		t.Fatalf("states %v %v %v", all[0].State, all[1].State, all[2].State)
	}
	page, _ := f.store.List(ctx, ListOptions{AfterSeq: 2, Limit: 2})
	if len(page) != 2 || page[0].Seq != 3 {
		t.Fatalf("page %d", len(page))
	}
}

// tamper rewrites the stored value of record seq, as someone editing the
// database file with a bbolt tool would.
func tamper(t *testing.T, f *fixture, seq uint64, edit func(sr *storedRecord)) {
	t.Helper()
	err := f.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketRecords)
		var sr storedRecord
		if err := cbor.Unmarshal(b.Get(seqKey(seq)), &sr); err != nil {
			return err
		}
		edit(&sr)
		v, err := cbor.Marshal(&sr)
		if err != nil {
			return err
		}
		return b.Put(seqKey(seq), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// editVerdict changes the verdict inside a stored body to VALID, keeping it
// canonical: what a forger would do.
func editVerdict(t *testing.T) func(sr *storedRecord) {
	return func(sr *storedRecord) {
		var b body
		if err := decMode.Unmarshal(sr.Body, &b); err != nil {
			t.Fatal(err)
		}
		b.Verdict = "VALID"
		b.Reasons = nil
		out, err := encodeBody(&b)
		if err != nil {
			t.Fatal(err)
		}
		sr.Body = out
	}
}

func TestAuditDetectsTampering(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		damage   func(t *testing.T, f *fixture)
		wantKind string
		wantSeq  uint64
	}{
		{name: "edited verdict", damage: func(t *testing.T, f *fixture) { tamper(t, f, 3, editVerdict(t)) }, wantKind: ProblemSignature, wantSeq: 3},
		{name: "edited personal field", damage: func(t *testing.T, f *fixture) {
			tamper(t, f, 2, func(sr *storedRecord) { sr.Sealed[len(sr.Sealed)-1] ^= 1 })
		}, wantKind: ProblemUnreadable, wantSeq: 2},
		{name: "deleted record", damage: func(t *testing.T, f *fixture) {
			if err := f.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(storage.BucketRecords).Delete(seqKey(3)) }); err != nil {
				t.Fatal(err)
			}
		}, wantKind: ProblemGap, wantSeq: 4},
		{name: "deleted newest record", damage: func(t *testing.T, f *fixture) {
			if err := f.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(storage.BucketRecords).Delete(seqKey(5)) }); err != nil {
				t.Fatal(err)
			}
		}, wantKind: ProblemHead, wantSeq: 5},
		{name: "forged signature", damage: func(t *testing.T, f *fixture) {
			tamper(t, f, 1, func(sr *storedRecord) { sr.Sig[10] ^= 0xff })
		}, wantKind: ProblemSignature, wantSeq: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, storage.Options{NoSync: true})
			for i := range 5 {
				mustAppend(t, f.store, sampleCheck(i))
			}
			tt.damage(t, f)
			rep, err := f.store.Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				if p.Kind == tt.wantKind && p.Seq == tt.wantSeq {
					found = true
				}
			}
			if !found {
				t.Fatalf("want %s at %d, got %+v", tt.wantKind, tt.wantSeq, rep.Problems)
			}
		})
	}
}

func TestClockJumpFlagged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	r1 := mustAppend(t, f.store, sampleCheck(1))
	if r1.Clock.Flags != 0 || !r1.Clock.HubTime.IsZero() {
		t.Fatalf("first record flags %v", r1.Clock.Flags)
	}
	// Sync: the hub's clock agrees.
	if err := f.store.UpdateSyncState(ctx, func(s *SyncState) { s.HubTime, s.LocalTime = t0.Add(time.Minute), t0.Add(time.Minute) }); err != nil {
		t.Fatal(err)
	}
	f.clk.Set(t0.Add(2 * time.Minute))
	r2 := mustAppend(t, f.store, sampleCheck(2))
	if r2.Clock.Flags != 0 || !r2.Clock.HubTime.Equal(t0.Add(time.Minute)) {
		t.Fatalf("normal record: %+v", r2.Clock)
	}
	// Someone sets the clock back by a day.
	f.clk.Set(t0.Add(-24 * time.Hour))
	r3 := mustAppend(t, f.store, sampleCheck(3))
	if r3.Clock.Flags&ClockBackwards == 0 {
		t.Fatalf("backwards jump not flagged: %+v", r3.Clock)
	}
	// Still behind the newest record: still flagged.
	f.clk.Advance(time.Hour)
	r4 := mustAppend(t, f.store, sampleCheck(4))
	if r4.Clock.Flags&ClockBackwards == 0 {
		t.Fatal("record still before the newest not flagged")
	}
	// A sync with a hub that disagrees by an hour marks later records skewed.
	if err := f.store.UpdateSyncState(ctx, func(s *SyncState) { s.HubTime, s.LocalTime = t0.Add(3*time.Hour), t0.Add(4*time.Hour) }); err != nil {
		t.Fatal(err)
	}
	f.clk.Set(t0.Add(5 * time.Hour))
	r5 := mustAppend(t, f.store, sampleCheck(5))
	if r5.Clock.Flags != ClockSkewed {
		t.Fatalf("skew: %v", r5.Clock.Flags)
	}
	got, _ := f.store.Get(ctx, r3.ID)
	if got.Clock.Flags&ClockBackwards == 0 || !got.Wall.Equal(t0.Add(-24*time.Hour)) {
		t.Fatalf("stored flags %v", got.Clock.Flags)
	}
}

func TestAction(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Action
		wantErr error
	}{
		{name: "code", in: "warning", want: ActionWarning},
		{name: "chinese", in: "暂扣", want: ActionDetain},
		{name: "case", in: "RELEASE", want: ActionRelease},
		{name: "unknown", in: "shoot", wantErr: ErrInvalidCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAction(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("ParseAction(%q) = %v, %v", tt.in, got, err)
			}
		})
	}
	if MaskedHolderID("440301199001011234") != "440***********1234" {
		t.Fatal(MaskedHolderID("440301199001011234"))
	}
}
