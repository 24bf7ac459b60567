package records

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// A practitioner's licence: its number is the holder's ID-card number.
// After recording it, no sealed value is anywhere in the database file.
func TestPractitionerSealedAtRest(t *testing.T) {
	f := newFixture(t, storage.Options{NoSync: true})
	c := sampleCheck(1)
	c.Number, c.HolderID, c.Holder, c.Plate = "440300199001011234", "440300199001011234", "张伟", ""
	c.Notes, c.ActionText, c.Action = "驾驶员称证件在车上", "现场教育", ActionOther
	c.HolderIDRevealed = t0
	mustAppend(t, f.store, c)
	if got, err := f.store.Search(context.Background(), SearchHolderID, " 4403 0019 9001 011234"); err != nil || len(got) != 1 || got[0].HolderID != c.HolderID {
		t.Fatalf("search by holder id: %v %v", got, err)
	}
	f.db.Close()
	raw, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.Number, "1990010112", c.Holder, c.Notes, c.ActionText, c.Location.Place, "G4"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("%q is in the database file in the clear", s)
		}
	}
}

// Deleting the newest undelivered record and rolling the head back is
// caught by Audit: the head is signed by the device key.
func TestRolledBackHeadDetected(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	for i := range 3 {
		mustAppend(t, f.store, sampleCheck(i))
	}
	var prevHead []byte
	f.db.View(func(tx *bolt.Tx) error {
		prevHead = bytes.Clone(tx.Bucket(storage.BucketDevice).Get(keyHead))
		return nil
	})
	last := mustAppend(t, f.store, sampleCheck(3))
	for _, tt := range []struct {
		name string
		head func(h []byte) []byte
	}{
		{name: "unsigned rolled-back head", head: func(h []byte) []byte {
			var hd head
			decMode.Unmarshal(h, &hd)
			hd.Sig = nil
			out, _ := encMode.Marshal(&hd)
			return out
		}},
		{name: "head with another signature", head: func(h []byte) []byte {
			var hd head
			decMode.Unmarshal(h, &hd)
			hd.Sig[10] ^= 1
			out, _ := encMode.Marshal(&hd)
			return out
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := f.db.Update(func(tx *bolt.Tx) error {
				k := seqKey(last.Seq)
				tx.Bucket(storage.BucketRecords).Delete(k)
				tx.Bucket(storage.BucketOutbox).Delete(k)
				tx.Bucket(storage.BucketRecordIndex).Delete(last.ID[:])
				return tx.Bucket(storage.BucketDevice).Put(keyHead, tt.head(prevHead))
			})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := f.store.Audit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.Problems[0].Kind != ProblemHeadSig {
				t.Fatalf("audit %+v", rep)
			}
		})
	}
}

// Purge erases the sealed fields of delivered records older than the
// retention, and the chain still audits clean.
func TestPurgeKeepsTheChain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	var recs []*Record
	ref := policy.Ref{Source: policy.SourceHub, Seq: 2, Digest: [32]byte{1}, ClockSkew: 120 * time.Second, MaxTrustAge: 72 * time.Hour}
	for i := range 4 {
		c := sampleCheck(i)
		c.Policy = &ref
		recs = append(recs, mustAppend(t, f.store, c))
	}
	if err := f.store.MarkDelivered(ctx, t0, []Outcome{{Seq: 1}, {Seq: 2}, {Seq: 3, Rejected: true, Reason: "edited"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := f.store.Purge(ctx, t0.Add(29*24*time.Hour), 0)
	if err != nil || rep.Purged != 0 {
		t.Fatalf("before 30 days: %+v %v", rep, err)
	}
	rep, err = f.store.Purge(ctx, t0.Add(31*24*time.Hour), 0)
	if err != nil || rep.Purged != 3 {
		t.Fatalf("after 30 days: %+v %v", rep, err)
	}
	if rep, err := f.store.Purge(ctx, t0.Add(31*24*time.Hour), 0); err != nil || rep.Purged != 0 {
		t.Fatalf("again: %+v %v", rep, err)
	}
	a, err := f.store.Audit(ctx)
	if err != nil || !a.OK() || a.Records != 4 {
		t.Fatalf("audit after purge: %+v %v", a, err)
	}
	list, err := f.store.List(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range list {
		purged := i < 3
		if e.Purged.IsZero() == purged || (e.Holder == "") != purged || e.Damaged != nil {
			t.Errorf("record %d: purged %v holder %q damaged %v", e.Seq, e.Purged, e.Holder, e.Damaged)
		}
		if e.Verdict != recs[i].Verdict || e.Officer != recs[i].Officer || e.Policy == nil || *e.Policy != ref {
			t.Errorf("record %d lost its non-personal fields", e.Seq)
		}
	}
	if got, _ := f.store.Search(ctx, SearchPlate, "粤B12345"); len(got) != 1 || got[0].Seq != 4 {
		t.Errorf("search after purge: %d results", len(got))
	}
	// Editing a purged record's remaining fields is still caught.
	f.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketRecords)
		var sr storedRecord
		decMode.Unmarshal(b.Get(seqKey(1)), &sr)
		sr.Body = bytes.Replace(sr.Body, []byte("LIMITED"), []byte("VALID\x00\x00"), 1)
		v, _ := encMode.Marshal(&sr)
		return b.Put(seqKey(1), v)
	})
	if a, _ := f.store.Audit(ctx); a.OK() {
		t.Error("edited purged record not detected")
	}
	// Appending still works after a purge.
	mustAppend(t, f.store, sampleCheck(9))
}

// A store written in the v1 at-rest format (licence number, notes and
// place in the clear, unsigned head) opens, is sealed again as v2, and
// audits clean.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	r := mustAppend(t, f.store, sampleCheck(1))
	// Rewrite it as an earlier version stored it.
	err := f.db.Update(func(tx *bolt.Tx) error {
		pub, _ := encodeBody(r.toBody(false))
		pb, _ := encMode.Marshal(&personal{Holder: r.Holder, HolderID: r.HolderID, Plate: r.Plate})
		sealed, _ := f.store.kr.Seal(pb, append(bytes.Clone(personalADv1), r.ID[:]...))
		var sr storedRecord
		decMode.Unmarshal(tx.Bucket(storage.BucketRecords).Get(seqKey(1)), &sr)
		v, _ := encMode.Marshal(&storedRecord{Body: pub, Sealed: sealed, Sig: sr.Sig})
		dev := tx.Bucket(storage.BucketDevice)
		var h head
		decMode.Unmarshal(dev.Get(keyHead), &h)
		h.Sig = nil
		hv, _ := encMode.Marshal(&h)
		dev.Put(keyHead, hv)
		dev.Delete(keyAtRest)
		tx.DeleteBucket(storage.BucketRecordSearch)
		return tx.Bucket(storage.BucketRecords).Put(seqKey(1), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.reopen(t, storage.Options{NoSync: true})
	a, err := f.store.Audit(ctx)
	if err != nil || !a.OK() {
		t.Fatalf("audit after migration: %+v %v", a, err)
	}
	f.db.View(func(tx *bolt.Tx) error {
		var sr storedRecord
		decMode.Unmarshal(tx.Bucket(storage.BucketRecords).Get(seqKey(1)), &sr)
		if sr.V != 2 || bytes.Contains(sr.Body, []byte(r.Number)) {
			t.Errorf("not migrated: v%d", sr.V)
		}
		return nil
	})
	if got, _ := f.store.Search(ctx, SearchPlate, "粤B12345"); len(got) != 1 {
		t.Error("migrated record not searchable")
	}
}
