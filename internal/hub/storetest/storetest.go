// Package storetest is the shared test suite every hub.Store implementation
// must pass: run it from the implementation's tests with Run.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

func id(ms int64, n byte) [16]byte {
	var k [16]byte
	for i := 5; i >= 0; i-- {
		k[i] = byte(ms)
		ms >>= 8
	}
	k[15] = n
	return k
}

// Run runs the suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) hub.Store) {
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("RevokeDevice", func(t *testing.T) { testRevokeDevice(t, open(t)) })
	t.Run("Flags", func(t *testing.T) { testFlags(t, open(t)) })
	t.Run("IngestAtomic", func(t *testing.T) { testIngest(t, open(t)) })
	t.Run("IngestConcurrent", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("Queries", func(t *testing.T) { testQueries(t, open(t)) })
	t.Run("ScanCursor", func(t *testing.T) { testScanCursor(t, open(t)) })
	t.Run("Issuer", func(t *testing.T) { testIssuer(t, open(t)) })
	t.Run("Counters", func(t *testing.T) { testCounters(t, open(t)) })
	t.Run("Retain", func(t *testing.T) { testRetain(t, open(t)) })
	t.Run("FeedObjects", func(t *testing.T) { testFeedObjects(t, open(t)) })
	t.Run("FeedManifest", func(t *testing.T) { testFeedManifest(t, open(t)) })
	t.Run("FeedPrune", func(t *testing.T) { testFeedPrune(t, open(t)) })
	t.Run("FeedGeneration", func(t *testing.T) { testFeedGeneration(t, open(t)) })
	t.Run("FeedConcurrent", func(t *testing.T) { testFeedConcurrent(t, open(t)) })
}

func enroll(t *testing.T, s hub.Store, dev string) {
	t.Helper()
	ctx := context.Background()
	h := gm.SM3([]byte("token-" + dev))
	if err := s.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enroll(ctx, h, hub.Device{ID: dev, PublicKey: []byte{1}, Enrolled: t0, NextSeq: 1}, t0); err != nil {
		t.Fatal(err)
	}
}

func testTokens(t *testing.T, s hub.Store) {
	ctx := context.Background()
	tok := func(name string, role hub.Role, exp time.Time) [gm.SM3Size]byte {
		h := gm.SM3([]byte(name))
		if err := s.PutToken(ctx, hub.Token{Hash: h, Role: role, Label: name, Created: t0, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	good := tok("good", hub.RoleDevice, t0.Add(time.Hour))
	expired := tok("expired", hub.RoleDevice, t0.Add(-time.Second))
	super := tok("super", hub.RoleSupervisor, time.Time{})
	got, err := s.Token(ctx, super)
	if err != nil || got.Role != hub.RoleSupervisor || got.Label != "super" {
		t.Fatalf("Token: %+v %v", got, err)
	}
	if _, err := s.Token(ctx, gm.SM3([]byte("none"))); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	dev := func(id string) hub.Device { return hub.Device{ID: id, PublicKey: []byte{1}, Enrolled: t0, NextSeq: 1} }
	tests := []struct {
		name    string
		hash    [gm.SM3Size]byte
		dev     string
		wantErr error
	}{
		{name: "good token", hash: good, dev: "T-1"},
		{name: "same device again (lost answer)", hash: good, dev: "T-1"},
		{name: "used again", hash: good, dev: "T-2", wantErr: hub.ErrTokenInvalid},
		{name: "expired", hash: expired, dev: "T-3", wantErr: hub.ErrTokenInvalid},
		{name: "supervisor token cannot enrol", hash: super, dev: "T-4", wantErr: hub.ErrTokenInvalid},
		{name: "unknown", hash: gm.SM3([]byte("x")), dev: "T-5", wantErr: hub.ErrTokenInvalid},
		{name: "device exists", hash: tok("second", hub.RoleDevice, time.Time{}), dev: "T-1", wantErr: hub.ErrDeviceExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Enroll(ctx, tt.hash, dev(tt.dev), t0); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if got, _ := s.Token(ctx, good); got.UsedBy != "T-1" {
		t.Fatalf("used token not marked: %+v", got)
	}
	if got, _ := s.Token(ctx, gm.SM3([]byte("second"))); got.UsedBy != "" {
		t.Fatal("a refused enrolment used up the token")
	}
	devs, err := s.Devices(ctx)
	if err != nil || len(devs) != 1 || devs[0].ID != "T-1" {
		t.Fatalf("devices %+v %v", devs, err)
	}
	if _, err := s.Device(ctx, "T-9"); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}

	// Listing: every token, whatever its state.
	all, err := s.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, tk := range all {
		states[tk.Label] = tk.State(t0)
	}
	want := map[string]string{"good": "used", "expired": "expired", "super": "active", "second": "active"}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Fatalf("token states %v, want %v", states, want)
	}
	// Revocation: a revoked token enrols nothing, not even the device that
	// redeemed it retrying, and keeps its first revocation time.
	second := gm.SM3([]byte("second"))
	revokes := []struct {
		name    string
		hash    [gm.SM3Size]byte
		at      time.Time
		wantErr error
	}{
		{name: "unused device token", hash: second, at: t0},
		{name: "again, later", hash: second, at: t0.Add(time.Hour)},
		{name: "used device token", hash: good, at: t0},
		{name: "supervisor token", hash: super, at: t0},
		{name: "unknown", hash: gm.SM3([]byte("none")), at: t0, wantErr: hub.ErrNotFound},
	}
	for _, tt := range revokes {
		t.Run("revoke "+tt.name, func(t *testing.T) {
			if err := s.RevokeToken(ctx, tt.hash, tt.at); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if got, _ := s.Token(ctx, second); !got.Revoked.Equal(t0) || got.State(t0) != "revoked" || got.Label != "second" {
		t.Fatalf("revoked token %+v", got)
	}
	if err := s.Enroll(ctx, second, dev("T-6"), t0); !errors.Is(err, hub.ErrTokenInvalid) {
		t.Fatalf("enrolment with a revoked token: %v", err)
	}
	if err := s.Enroll(ctx, good, dev("T-1"), t0); !errors.Is(err, hub.ErrTokenInvalid) {
		t.Fatalf("retried enrolment with a revoked token: %v", err)
	}
	if d, err := s.Device(ctx, "T-1"); err != nil || !d.Revoked.IsZero() {
		t.Fatalf("revoking its token revoked the device: %+v %v", d, err)
	}
}

func testRevokeDevice(t *testing.T, s hub.Store) {
	ctx := context.Background()
	enroll(t, s, "T-1")
	enroll(t, s, "T-2")
	tests := []struct {
		name    string
		id      string
		at      time.Time
		wantErr error
	}{
		{name: "enrolled", id: "T-1", at: t0},
		{name: "again, later", id: "T-1", at: t0.Add(time.Hour)},
		{name: "unknown", id: "T-9", at: t0, wantErr: hub.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.RevokeDevice(ctx, tt.id, tt.at); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if d, err := s.Device(ctx, "T-1"); err != nil || !d.Revoked.Equal(t0) {
		t.Fatalf("revoked device %+v %v", d, err)
	}
	if d, _ := s.Device(ctx, "T-2"); !d.Revoked.IsZero() {
		t.Fatal("the other device was revoked")
	}
	// The revocation is visible inside ingest transactions and survives
	// chain updates.
	err := s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		if tx.Device().Revoked.IsZero() {
			return fmt.Errorf("ingest does not see the revocation")
		}
		return tx.SetChain(5, [gm.SM3Size]byte{1}, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Device(ctx, "T-1"); !d.Revoked.Equal(t0) || d.NextSeq != 5 {
		t.Fatalf("after SetChain: %+v", d)
	}
	// A revoked device cannot enrol again under its id.
	h := gm.SM3([]byte("fresh"))
	if err := s.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enroll(ctx, h, hub.Device{ID: "T-1", PublicKey: []byte{1}, Enrolled: t0, NextSeq: 1}, t0); !errors.Is(err, hub.ErrDeviceRevoked) {
		t.Fatalf("re-enrolment: %v", err)
	}
	if tk, _ := s.Token(ctx, h); tk.UsedBy != "" {
		t.Fatal("a refused enrolment used up the token")
	}
}

func testFlags(t *testing.T, s hub.Store) {
	ctx := context.Background()
	enroll(t, s, "T-1")
	// Flags raised one a minute, on alternate devices.
	err := s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		for i := range 20 {
			at := t0.Add(time.Duration(i) * time.Minute)
			f := hub.Flag{ID: id(at.UnixMilli(), byte(i)), Device: []string{"T-1", "T-2"}[i%2], Kind: []string{"gap", "clock"}[i%3/2], At: at}
			if _, err := tx.PutFlag(f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func(q hub.FlagQuery) int {
		n := 0
		for {
			page, more, err := s.Flags(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range page {
				if (!q.From.IsZero() && f.At.Before(q.From)) || (!q.To.IsZero() && f.At.After(q.To)) {
					t.Fatalf("flag at %v outside [%v, %v]", f.At, q.From, q.To)
				}
			}
			n += len(page)
			if !more {
				return n
			}
			q.After = page[len(page)-1].ID
		}
	}
	tests := []struct {
		name string
		q    hub.FlagQuery
		want int
	}{
		{name: "all", q: hub.FlagQuery{}, want: 20},
		{name: "from", q: hub.FlagQuery{From: t0.Add(15 * time.Minute)}, want: 5},
		{name: "to, inclusive", q: hub.FlagQuery{To: t0.Add(4 * time.Minute)}, want: 5},
		{name: "range in pages of 2", q: hub.FlagQuery{From: t0.Add(5 * time.Minute), To: t0.Add(14 * time.Minute), Limit: 2}, want: 10},
		{name: "range and device", q: hub.FlagQuery{From: t0.Add(5 * time.Minute), To: t0.Add(14 * time.Minute), Device: "T-2"}, want: 5},
		{name: "range and kind", q: hub.FlagQuery{From: t0, To: t0.Add(5 * time.Minute), Kind: "clock"}, want: 2},
		{name: "empty range", q: hub.FlagQuery{From: t0.Add(time.Hour)}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := count(tt.q); got != tt.want {
				t.Fatalf("got %d flags, want %d", got, tt.want)
			}
		})
	}
}

func testIngest(t *testing.T, s hub.Store) {
	ctx := context.Background()
	enroll(t, s, "T-1")
	rec := func(seq uint64) hub.StoredRecord {
		return hub.StoredRecord{ID: id(t0.UnixMilli()+int64(seq), byte(seq)), Device: "T-1", Seq: seq, Hash: gm.SM3([]byte{byte(seq)}),
			Wall: t0.Add(time.Duration(seq) * time.Millisecond), Received: t0, Verdict: "VALID", Kind: 3, Sealed: []byte{byte(seq)}}
	}
	// A failing transaction stores nothing.
	boom := errors.New("boom")
	err := s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		if err := tx.PutRecord(rec(1)); err != nil {
			return err
		}
		if _, err := tx.PutFlag(hub.Flag{ID: id(t0.UnixMilli(), 1), Device: "T-1", Kind: "gap", At: t0}); err != nil {
			return err
		}
		if err := tx.SetChain(2, rec(1).Hash, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if n, _ := s.CountRecords(ctx, ""); n != 0 {
		t.Fatalf("rolled-back transaction left %d records", n)
	}
	if d, _ := s.Device(ctx, "T-1"); d.NextSeq != 1 {
		t.Fatalf("rolled-back chain state: %d", d.NextSeq)
	}
	if f, _, _ := s.Flags(ctx, hub.FlagQuery{}); len(f) != 0 {
		t.Fatal("rolled-back flag stored")
	}
	// A committed one stores everything.
	err = s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		if tx.Device().NextSeq != 1 {
			return fmt.Errorf("next %d", tx.Device().NextSeq)
		}
		for seq := uint64(1); seq <= 3; seq++ {
			if err := tx.PutRecord(rec(seq)); err != nil {
				return err
			}
		}
		key := gm.SM3([]byte("rejected"))
		for range 2 {
			if _, err := tx.PutFlag(hub.Flag{ID: id(t0.UnixMilli(), 9), Key: key, Device: "T-1", Kind: "rejected", At: t0}); err != nil {
				return err
			}
		}
		return tx.SetChain(4, rec(3).Hash, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		d := tx.Device()
		if d.NextSeq != 4 || d.LastHash != rec(3).Hash {
			return fmt.Errorf("chain state %d", d.NextSeq)
		}
		got, ok, err := tx.Record(rec(2).ID)
		// A store may not keep the hash (the hub then takes it from the
		// evidence): zero, or the one put.
		if err != nil || !ok || got.Seq != 2 || (got.Hash != rec(2).Hash && got.Hash != [gm.SM3Size]byte{}) {
			return fmt.Errorf("Record: %+v %v %v", got, ok, err)
		}
		at, ok, err := tx.RecordAt(3)
		if err != nil || !ok || at != rec(3).ID {
			return fmt.Errorf("RecordAt: %v %v", ok, err)
		}
		if _, ok, _ := tx.RecordAt(4); ok {
			return fmt.Errorf("RecordAt(4) found")
		}
		if added, err := tx.PutFlag(hub.Flag{ID: id(t0.UnixMilli(), 10), Key: gm.SM3([]byte("rejected")), Device: "T-1", Kind: "rejected", At: t0}); err != nil || added {
			return fmt.Errorf("keyed flag stored twice: %v %v", added, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if f, _, _ := s.Flags(ctx, hub.FlagQuery{}); len(f) != 1 {
		t.Fatalf("%d flags, want 1", len(f))
	}
	if err := s.Ingest(ctx, "T-404", func(hub.IngestTx) error { return nil }); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
}

// testConcurrent: transactions of one device never interleave, so a
// read-modify-write of the chain head loses no update.
func testConcurrent(t *testing.T, s hub.Store) {
	ctx := context.Background()
	enroll(t, s, "T-1")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
				d := tx.Device()
				return tx.SetChain(d.NextSeq+1, d.LastHash, t0)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d, _ := s.Device(ctx, "T-1"); d.NextSeq != 21 {
		t.Fatalf("next = %d, want 21: transactions interleaved", d.NextSeq)
	}
}

func testQueries(t *testing.T, s hub.Store) {
	ctx := context.Background()
	enroll(t, s, "T-1")
	enroll(t, s, "T-2")
	plate := []byte("plate-hash")
	for _, dev := range []string{"T-1", "T-2"} {
		err := s.Ingest(ctx, dev, func(tx hub.IngestTx) error {
			for i := uint64(1); i <= 50; i++ {
				r := hub.StoredRecord{ID: id(t0.Add(time.Duration(i)*time.Minute).UnixMilli(), byte(len(dev)+int(dev[2]))), Device: dev, Seq: i,
					Wall: t0.Add(time.Duration(i) * time.Minute), Received: t0, Verdict: []string{"VALID", "INVALID"}[i%2],
					Officer: fmt.Sprint("O", i%3), Kind: uint8(1 + i%3), Sealed: []byte{1}}
				r.Hash = gm.SM3(r.ID[:])
				if i == 7 {
					r.PlateHash = plate
					r.Flags = []string{"chain_gap"}
				}
				if i%10 == 3 {
					r.Stop = "stop-" + dev
				}
				if err := tx.PutRecord(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(q hub.RecordQuery) int {
		n := 0
		for {
			page, more, err := s.Records(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page)
			if !more {
				return n
			}
			q.After = page[len(page)-1].ID
		}
	}
	tests := []struct {
		name string
		q    hub.RecordQuery
		want int
	}{
		{name: "all in pages of 7", q: hub.RecordQuery{Limit: 7}, want: 100},
		{name: "device", q: hub.RecordQuery{Device: "T-2"}, want: 50},
		{name: "verdict", q: hub.RecordQuery{Verdict: "INVALID", Device: "T-1"}, want: 25},
		{name: "officer", q: hub.RecordQuery{Officer: "O0"}, want: 32},
		{name: "kind", q: hub.RecordQuery{Kind: 2}, want: 34},
		{name: "plate", q: hub.RecordQuery{PlateHash: plate}, want: 2},
		{name: "flagged", q: hub.RecordQuery{FlaggedOnly: true, Device: "T-1"}, want: 1},
		{name: "time range", q: hub.RecordQuery{From: t0.Add(10 * time.Minute), To: t0.Add(19 * time.Minute), Limit: 3}, want: 20},
		{name: "stop", q: hub.RecordQuery{Stop: "stop-T-2"}, want: 5},
		{name: "stop in pages of 2", q: hub.RecordQuery{Stop: "stop-T-1", Limit: 2}, want: 5},
		{name: "stop and verdict", q: hub.RecordQuery{Stop: "stop-T-1", Verdict: "INVALID"}, want: 5},
		{name: "stop and time range", q: hub.RecordQuery{Stop: "stop-T-1", From: t0.Add(10 * time.Minute), To: t0.Add(30 * time.Minute)}, want: 2},
		{name: "unknown stop", q: hub.RecordQuery{Stop: "stop-T"}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := count(tt.q); got != tt.want {
				t.Fatalf("got %d records, want %d", got, tt.want)
			}
		})
	}
	if n, _ := s.CountRecords(ctx, "T-1"); n != 50 {
		t.Fatalf("CountRecords = %d", n)
	}
}
