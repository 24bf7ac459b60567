package audit_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/audit/audittest"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

func openDB(t testing.TB) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openStore(t testing.TB, db *storage.DB) *audit.BoltStore {
	t.Helper()
	s, err := audit.NewBoltStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBoltStoreSuite(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audit.Store { return openStore(t, openDB(t)) })
}

// logWith writes n entries through a Log (checkpoint every 4) and closes it.
func logWith(t *testing.T, s audit.Store, k *gm.PrivateKey, clk clock.Clock, n int) {
	t.Helper()
	ctx := context.Background()
	l, err := audit.Open(ctx, audit.Options{Store: s, Key: k, Clock: clk, CheckpointEvery: 4, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		e := audit.Entry{Who: "supervisor alice", Role: "viewer", Source: "192.0.2.7:5123", Action: "GET /v1/records", Status: 200,
			Filters: "plate=*", Rows: i, Fields: []string{audit.FieldHolder}}
		if err := l.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// raw edits the audit bucket directly, as someone with write access to the
// database file could.
func raw(t *testing.T, db *storage.DB, fn func(b *bolt.Bucket) error) {
	t.Helper()
	if err := db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(storage.BucketHubAudit)) }); err != nil {
		t.Fatal(err)
	}
}

func key8(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// edit decodes entry seq as a generic map, changes it with fn and stores it.
func edit(t *testing.T, db *storage.DB, seq uint64, fn func(m map[int]any)) {
	t.Helper()
	raw(t, db, func(b *bolt.Bucket) error {
		var m map[int]any
		if err := cbor.Unmarshal(b.Get(key8(seq)), &m); err != nil {
			return err
		}
		fn(m)
		v, err := cbor.Marshal(m)
		if err != nil {
			return err
		}
		return b.Put(key8(seq), v)
	})
}

// rehash recomputes every entry's hash and link from seq on, as an
// attacker who knows the format would after an edit.
func rehash(t *testing.T, db *storage.DB, s audit.Store, from uint64) {
	t.Helper()
	all, _, err := s.AuditEntries(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var prev [gm.SM3Size]byte
	for _, e := range all {
		if e.Seq >= from {
			e.Prev = prev
			e.Hash = e.ComputeHash()
			h := e.Hash
			edit(t, db, e.Seq, func(m map[int]any) { m[13], m[14] = e.Prev[:], h[:] })
		}
		prev = e.Hash
	}
}

// TestVerifyDetectsTampering: `rchub audit verify` finds an edited, a
// deleted, a reordered entry, a rebuilt chain and a cut-off tail.
func TestVerifyDetectsTampering(t *testing.T) {
	k, err := gm.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		tamper   func(t *testing.T, db *storage.DB, s audit.Store)
		wantKind string
		wantSeq  uint64
	}{
		{name: "untouched"},
		{name: "edited rows", wantKind: audit.ProblemEdited, wantSeq: 5, tamper: func(t *testing.T, db *storage.DB, s audit.Store) {
			edit(t, db, 5, func(m map[int]any) { m[9] = 0 })
		}},
		{name: "edited fields", wantKind: audit.ProblemEdited, wantSeq: 2, tamper: func(t *testing.T, db *storage.DB, s audit.Store) {
			edit(t, db, 2, func(m map[int]any) { delete(m, 10) })
		}},
		{name: "deleted", wantKind: audit.ProblemMissing, wantSeq: 6, tamper: func(t *testing.T, db *storage.DB, s audit.Store) {
			raw(t, db, func(b *bolt.Bucket) error { return b.Delete(key8(6)) })
		}},
		{name: "reordered", wantKind: audit.ProblemEdited, wantSeq: 3, tamper: func(t *testing.T, db *storage.DB, s audit.Store) {
			raw(t, db, func(b *bolt.Bucket) error {
				a, c := append([]byte(nil), b.Get(key8(3))...), append([]byte(nil), b.Get(key8(4))...)
				if err := b.Put(key8(3), c); err != nil {
					return err
				}
				return b.Put(key8(4), a)
			})
		}},
		{name: "deleted and renumbered with a rebuilt chain", wantKind: audit.ProblemCheckpointMismatch, wantSeq: 4, tamper: func(t *testing.T, db *storage.DB, s audit.Store) {
			raw(t, db, func(b *bolt.Bucket) error {
				for seq := uint64(2); seq < 10; seq++ {
					if err := b.Put(key8(seq), append([]byte(nil), b.Get(key8(seq+1))...)); err != nil {
						return err
					}
				}
				return b.Delete(key8(10))
			})
			rehash(t, db, s, 2)
		}},
		{name: "edited with a rebuilt chain", wantKind: audit.ProblemCheckpointMismatch, wantSeq: 8, tamper: func(t *testing.T, db *storage.DB, s audit.Store) {
			edit(t, db, 7, func(m map[int]any) { m[2] = "supervisor bob" })
			rehash(t, db, s, 7)
		}},
		{name: "tail cut", wantKind: audit.ProblemTruncated, wantSeq: 10, tamper: func(t *testing.T, db *storage.DB, s audit.Store) {
			raw(t, db, func(b *bolt.Bucket) error { return b.Delete(key8(10)) })
		}},
		{name: "checkpoint forged with another key", wantKind: audit.ProblemBadSignature, wantSeq: 4, tamper: func(t *testing.T, db *storage.DB, s audit.Store) {
			other, _ := gm.GenerateKey(nil)
			db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(storage.BucketHubAuditCheckpoints)
				var m map[int]any
				if err := cbor.Unmarshal(b.Get(key8(4)), &m); err != nil {
					return err
				}
				c := audit.Checkpoint{Seq: 4, Hash: [gm.SM3Size]byte(m[2].([]byte)), At: time.UnixMilli(int64(m[3].(uint64))), KeyID: m[4].(string)}
				m[5], _ = other.Sign(nil, c.SigningString())
				v, _ := cbor.Marshal(m)
				return b.Put(key8(4), v)
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			s := openStore(t, db)
			logWith(t, s, k, clock.NewFake(t0), 10) // checkpoints at 4, 8 and 10 (close)
			if tt.tamper != nil {
				tt.tamper(t, db, s)
			}
			r, err := audit.Verify(context.Background(), s, k.Public())
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantKind == "" {
				if !r.OK() || r.Entries != 10 || r.Checkpoints != 3 || r.Tail != 0 {
					t.Fatalf("clean log: %+v", r)
				}
				return
			}
			found := false
			for _, p := range r.Problems {
				t.Logf("%s #%d: %s", p.Kind, p.Seq, p.Detail)
				found = found || p.Kind == tt.wantKind && p.Seq == tt.wantSeq
			}
			if !found {
				t.Fatalf("no %s at %d in %+v", tt.wantKind, tt.wantSeq, r.Problems)
			}
		})
	}
}

func TestLogRotateAndBurst(t *testing.T) {
	ctx := context.Background()
	k, _ := gm.GenerateKey(nil)
	clk := clock.NewFake(t0)
	s := openStore(t, openDB(t))
	l, err := audit.Open(ctx, audit.Options{Store: s, Key: k, Clock: clk, CheckpointEvery: 1000, CheckpointInterval: time.Hour, BurstThreshold: 5})
	if err != nil {
		t.Fatal(err)
	}
	for day := range 3 {
		for i := range 3 {
			if err := l.Record(ctx, audit.Entry{Who: "operator", Role: audit.RoleOperator, Action: "token.create", Rows: i}); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(2 * time.Hour) // the next commit is checkpointed
		_ = day
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Nothing older than the first entry: nothing to rotate.
	if _, err := l.Rotate(ctx, t0, "operator"); !errors.Is(err, audit.ErrNoCheckpoint) {
		t.Fatalf("rotate before the first checkpoint: %v", err)
	}
	rep, err := l.Rotate(ctx, t0.Add(3*time.Hour), "operator")
	if err != nil || rep.Removed == 0 || rep.Anchor.Seq != uint64(rep.Removed) {
		t.Fatalf("rotate: %+v %v", rep, err)
	}
	// Six denied requests in a minute: one burst entry, counted.
	for range 6 {
		l.Note(ctx, audit.Entry{Who: "-", Role: audit.RoleAnonymous, Source: "198.51.100.9:1", Action: "POST /v1/records", Outcome: audit.OutcomeDenied, Status: 401})
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Bursts != 1 || st.Denied != 6 || st.WriteErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
	all, _, _ := s.AuditEntries(ctx, audit.Query{})
	var actions []string
	for _, e := range all {
		actions = append(actions, e.Action)
	}
	joined := strings.Join(actions, ",")
	if !strings.Contains(joined, audit.ActionRotate) || strings.Count(joined, audit.ActionFailureBurst) != 1 {
		t.Fatalf("actions %s", joined)
	}
	r, err := audit.Verify(ctx, s, k.Public())
	if err != nil || !r.OK() || r.Anchor == nil || r.Tail != 0 {
		t.Fatalf("verify after rotation: %+v %v", r, err)
	}
	if err := l.Record(ctx, audit.Entry{Action: "late"}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("record after close: %v", err)
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"T-ABC", "T-ABC"},
		{"深圳一中队", "深圳一中队"},
		{"T-A\u200bBC", `T-A\u200bBC`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"a\\b", `a\\b`},
		{"tab\there\n", `tab\x09here\x0a`},
		{"rtl\u202eevil", `rtl\u202eevil`},
		{"bad\xffutf8", `bad\ufffdutf8`},
	}
	for _, tt := range tests {
		if got := audit.Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMemoryStoreSuite(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audit.Store { return audit.NewMemoryStore() })
}

func TestSeqAt(t *testing.T) {
	ctx := context.Background()
	s := audit.NewMemoryStore()
	clk := clock.NewFake(t0)
	l, err := audit.Open(ctx, audit.Options{Store: s, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := l.Record(ctx, audit.Entry{Action: "x"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	l.Close(ctx)
	for _, tt := range []struct {
		at   time.Time
		want uint64
	}{{t0.Add(-time.Hour), 1}, {t0, 1}, {t0.Add(30 * time.Second), 2}, {t0.Add(9 * time.Minute), 10}, {t0.Add(time.Hour), 11}} {
		if got, err := audit.SeqAt(ctx, s, tt.at); err != nil || got != tt.want {
			t.Errorf("SeqAt(%v) = %d %v, want %d", tt.at, got, err, tt.want)
		}
	}
}

// BenchmarkNote: the cost of one entry (numbered, hashed, committed with
// others) on a bbolt file without fsync.
func BenchmarkNote(b *testing.B) {
	ctx := context.Background()
	k, _ := gm.GenerateKey(nil)
	s := openStore(b, openDB(b))
	l, err := audit.Open(ctx, audit.Options{Store: s, Key: k})
	if err != nil {
		b.Fatal(err)
	}
	e := audit.Entry{Who: "device T-BENCH", Role: audit.RoleDevice, Source: "192.0.2.1:40000", Action: "POST /v1/records", Status: 200, Rows: 250,
		Nonce: "0123456789abcdef0123456789abcdef"}
	for b.Loop() {
		l.Note(ctx, e)
	}
	if err := l.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
