// Package audittest is the shared test suite every audit.Store
// implementation must pass: run it from the implementation's tests with Run.
package audittest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// Run runs the suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) audit.Store) {
	t.Run("AppendChain", func(t *testing.T) { testAppend(t, open(t)) })
	t.Run("Query", func(t *testing.T) { testQuery(t, open(t)) })
	t.Run("Checkpoints", func(t *testing.T) { testCheckpoints(t, open(t)) })
	t.Run("Rotate", func(t *testing.T) { testRotate(t, open(t)) })
	t.Run("SharedByTwoLogs", func(t *testing.T) { testShared(t, open(t)) })
	t.Run("OneKeyringPerStore", func(t *testing.T) { testForeignKey(t, open(t)) })
}

// chain returns n entries continuing head, one minute apart from at.
func chain(head audit.Head, n int, at time.Time, who string) []audit.Entry {
	var out []audit.Entry
	for i := range n {
		e := audit.Entry{Seq: head.Seq + 1, Prev: head.Hash, At: at.Add(time.Duration(i) * time.Minute), Who: fmt.Sprintf("%s %d", who, i),
			Role: "viewer", Source: "192.0.2.1:4000", Action: "GET /v1/records", Outcome: audit.OutcomeOK, Status: 200,
			Filters: "device=T-1", Rows: i, Fields: []string{audit.FieldPlate}, Reason: "", Detail: "d", Nonce: fmt.Sprintf("%032x", i)}
		e.Hash = e.ComputeHash()
		head = audit.Head{Seq: e.Seq, Hash: e.Hash, At: e.At}
		out = append(out, e)
	}
	return out
}

func key(t *testing.T) *gm.PrivateKey {
	t.Helper()
	k, err := gm.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, k *gm.PrivateKey, e audit.Entry, at time.Time) audit.Checkpoint {
	t.Helper()
	c := audit.Checkpoint{Seq: e.Seq, Hash: e.Hash, At: at, KeyID: audit.KeyID(k.Public())}
	var err error
	if c.Sig, err = k.Sign(nil, c.SigningString()); err != nil {
		t.Fatal(err)
	}
	return c
}

func testAppend(t *testing.T, s audit.Store) {
	ctx := context.Background()
	h, err := s.AuditHead(ctx)
	if err != nil || h != (audit.Head{}) {
		t.Fatalf("empty head %+v %v", h, err)
	}
	es := chain(h, 3, t0, "alice")
	if err := s.AppendAudit(ctx, es, nil); err != nil {
		t.Fatal(err)
	}
	h, err = s.AuditHead(ctx)
	if err != nil || h.Seq != 3 || h.Hash != es[2].Hash || !h.At.Equal(es[2].At) {
		t.Fatalf("head %+v %v", h, err)
	}
	more := chain(h, 2, t0.Add(time.Hour), "bob")
	wrongSeq := chain(audit.Head{Seq: 1, Hash: es[0].Hash}, 1, t0, "eve")
	wrongPrev := chain(audit.Head{Seq: 3}, 1, t0, "eve")
	gap := []audit.Entry{more[0], chain(audit.Head{Seq: 7, Hash: more[0].Hash}, 1, t0, "eve")[0]}
	tests := []struct {
		name    string
		entries []audit.Entry
		wantErr error
	}{
		{name: "seq already taken", entries: wrongSeq, wantErr: audit.ErrConflict},
		{name: "prev not the head", entries: wrongPrev, wantErr: audit.ErrConflict},
		{name: "not consecutive", entries: gap, wantErr: audit.ErrBadInput},
		{name: "continues", entries: more},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.AppendAudit(ctx, tt.entries, nil)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
	got, moreP, err := s.AuditEntries(ctx, audit.Query{})
	if err != nil || moreP || len(got) != 5 {
		t.Fatalf("entries: %d %v %v", len(got), moreP, err)
	}
	for i, e := range got {
		want := append(es, more...)[i]
		if e.Seq != uint64(i+1) || e.Hash != want.Hash || e.ComputeHash() != e.Hash || e.Who != want.Who || e.Source != want.Source ||
			e.Status != 200 || e.Filters != want.Filters || len(e.Fields) != 1 || e.Fields[0] != audit.FieldPlate || !e.At.Equal(want.At) || e.Nonce != want.Nonce {
			t.Fatalf("entry %d read back as %+v", i+1, e)
		}
	}
}

func testQuery(t *testing.T, s audit.Store) {
	ctx := context.Background()
	es := chain(audit.Head{}, 10, t0, "alice") // alice 0 … alice 9, t0 … t0+9m
	if err := s.AppendAudit(ctx, es, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		q         audit.Query
		wantFirst uint64
		wantN     int
		wantMore  bool
	}{
		{name: "all", q: audit.Query{}, wantFirst: 1, wantN: 10},
		{name: "from", q: audit.Query{From: t0.Add(5 * time.Minute)}, wantFirst: 6, wantN: 5},
		{name: "to inclusive", q: audit.Query{To: t0.Add(2 * time.Minute)}, wantFirst: 1, wantN: 3},
		{name: "who, any case", q: audit.Query{Who: "ALICE 7"}, wantFirst: 8, wantN: 1},
		{name: "nobody", q: audit.Query{Who: "mallory"}, wantN: 0},
		{name: "page", q: audit.Query{Limit: 4}, wantFirst: 1, wantN: 4, wantMore: true},
		{name: "next page", q: audit.Query{After: 8, Limit: 4}, wantFirst: 9, wantN: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := s.AuditEntries(ctx, tt.q)
			if err != nil || len(got) != tt.wantN || more != tt.wantMore || (tt.wantN > 0 && got[0].Seq != tt.wantFirst) {
				t.Fatalf("%d entries (more %v, err %v)", len(got), more, err)
			}
		})
	}
}

func testCheckpoints(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := key(t)
	es := chain(audit.Head{}, 5, t0, "alice")
	c2, c5 := sign(t, k, es[1], t0.Add(time.Hour)), sign(t, k, es[4], t0.Add(2*time.Hour))
	if err := s.AppendAudit(ctx, es[:2], []audit.Checkpoint{c2}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, es[2:], []audit.Checkpoint{c5}); err != nil {
		t.Fatal(err)
	}
	cps, err := s.AuditCheckpoints(ctx, 0, 0)
	if err != nil || len(cps) != 2 || cps[0].Seq != 2 || cps[1].Seq != 5 || !cps[1].Verify(k.Public()) || !cps[0].At.Equal(c2.At) || cps[0].KeyID != c2.KeyID {
		t.Fatalf("checkpoints %+v %v", cps, err)
	}
	if cps, err := s.AuditCheckpoints(ctx, 2, 0); err != nil || len(cps) != 1 || cps[0].Seq != 5 {
		t.Fatalf("checkpoints after 2: %+v %v", cps, err)
	}
	if cps, err := s.AuditCheckpoints(ctx, 0, 1); err != nil || len(cps) != 1 || cps[0].Seq != 2 {
		t.Fatalf("one checkpoint: %+v %v", cps, err)
	}
	// A conflicting append stores no checkpoint either.
	bad := chain(audit.Head{Seq: 9}, 1, t0, "eve")
	if err := s.AppendAudit(ctx, bad, []audit.Checkpoint{sign(t, k, bad[0], t0)}); !errors.Is(err, audit.ErrConflict) {
		t.Fatalf("conflict: %v", err)
	}
	if cps, _ := s.AuditCheckpoints(ctx, 0, 0); len(cps) != 2 {
		t.Fatalf("%d checkpoints after a refused append", len(cps))
	}
	if r, err := audit.Verify(ctx, s, k.Public()); err != nil || !r.OK() || r.Checkpoints != 2 || r.Tail != 0 {
		t.Fatalf("verify %+v %v", r, err)
	}
}

func testRotate(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := key(t)
	es := chain(audit.Head{}, 6, t0, "alice")
	c3, c6 := sign(t, k, es[2], t0.Add(time.Hour)), sign(t, k, es[5], t0.Add(2*time.Hour))
	if err := s.AppendAudit(ctx, es, []audit.Checkpoint{c3, c6}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.AuditAnchor(ctx); ok || err != nil {
		t.Fatalf("anchor before rotation: %v %v", ok, err)
	}
	if _, err := s.RotateAudit(ctx, sign(t, k, es[3], t0)); !errors.Is(err, audit.ErrBadInput) {
		t.Fatalf("rotate to an unstored checkpoint: %v", err)
	}
	n, err := s.RotateAudit(ctx, c3)
	if err != nil || n != 3 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	a, ok, err := s.AuditAnchor(ctx)
	if err != nil || !ok || a.Seq != 3 || a.Hash != es[2].Hash || !a.Verify(k.Public()) {
		t.Fatalf("anchor %+v %v %v", a, ok, err)
	}
	if got, _, _ := s.AuditEntries(ctx, audit.Query{}); len(got) != 3 || got[0].Seq != 4 {
		t.Fatalf("entries after rotation: %+v", got)
	}
	if r, err := audit.Verify(ctx, s, k.Public()); err != nil || !r.OK() || r.First != 4 || r.Anchor == nil {
		t.Fatalf("verify after rotation %+v %v", r, err)
	}
	if _, err := s.RotateAudit(ctx, c3); !errors.Is(err, audit.ErrBadInput) {
		t.Fatalf("rotate to the anchor again: %v", err)
	}
	if n, err := s.RotateAudit(ctx, c6); err != nil || n != 3 {
		t.Fatalf("rotate everything: %d %v", n, err)
	}
	h, err := s.AuditHead(ctx)
	if err != nil || h.Seq != 6 || h.Hash != es[5].Hash {
		t.Fatalf("head of a rotated-out log: %+v %v", h, err)
	}
	next := chain(h, 1, t0.Add(3*time.Hour), "bob")
	if err := s.AppendAudit(ctx, next, nil); err != nil {
		t.Fatal(err)
	}
	if r, err := audit.Verify(ctx, s, k.Public()); err != nil || !r.OK() || r.Entries != 1 || r.Tail != 1 {
		t.Fatalf("verify after full rotation %+v %v", r, err)
	}
}

// testShared: two Logs (two hub processes, or the hub and a local
// command) append to one store at once; the chain stays one.
func testShared(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k := key(t)
	clk := clock.NewFake(t0)
	var logs []*audit.Log
	for range 2 {
		l, err := audit.Open(ctx, audit.Options{Store: s, Key: k, Clock: clk, CheckpointEvery: 7})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	var wg sync.WaitGroup
	for i, l := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if err := l.Record(ctx, audit.Entry{Who: fmt.Sprintf("writer %d", i), Action: "test", Rows: j}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, l := range logs {
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r, err := audit.Verify(ctx, s, k.Public())
	if err != nil || !r.OK() || r.Entries != 100 || r.Tail != 0 {
		t.Fatalf("verify %+v %v", r, err)
	}
}

// testForeignKey: hubs sharing a store must share the checkpoint key. A
// log whose newest checkpoint another key signed does not open with a key
// (audit.ErrForeignKey), but opens with that key among the previous
// versions (a rotated keyring) and without a key (a local command).
func testForeignKey(t *testing.T, s audit.Store) {
	ctx := context.Background()
	k1, k2 := key(t), key(t)
	clk := clock.NewFake(t0)
	l, err := audit.Open(ctx, audit.Options{Store: s, Key: k1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, audit.Entry{Who: "alice", Role: audit.RoleOperator, Action: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx); err != nil { // the final checkpoint, signed by k1
		t.Fatal(err)
	}
	if _, err := audit.Open(ctx, audit.Options{Store: s, Key: k2, Clock: clk}); !errors.Is(err, audit.ErrForeignKey) {
		t.Fatalf("opened with another key: %v", err)
	}
	for _, o := range []audit.Options{{Store: s, Key: k1, Clock: clk}, {Store: s, Key: k2, PreviousKeys: []*gm.PublicKey{k1.Public()}, Clock: clk},
		{Store: s, Clock: clk}} {
		l, err := audit.Open(ctx, o)
		if err != nil {
			t.Fatalf("open (key %v, %d previous): %v", o.Key != nil, len(o.PreviousKeys), err)
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
