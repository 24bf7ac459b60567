package pgstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io/fs"
	"maps"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/limit/limittest"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore/pgtest"
	"github.com/roadcheck/roadcheck/internal/hub/storetest"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/trust"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// migrated is the template database with the schema, made once per binary.
const migrated = "hub_migrated"

// newURL returns the URL of a fresh, migrated database.
func newURL(t testing.TB) string {
	t.Helper()
	pgtest.Template(t, migrated, func(ctx context.Context, url string) error {
		if _, err := pgstore.Migrate(ctx, url, pgstore.Migrations(), nil); err != nil {
			return err
		}
		// Day partitions around the suite's times (2026-11-27), so that it
		// runs on partitions and on the default partition alike.
		s, err := pgstore.Open(ctx, url, pgstore.Options{})
		if err != nil {
			return err
		}
		defer s.Close()
		t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
		_, err = s.EnsurePartitions(ctx, t0.AddDate(0, 0, -3), t0.AddDate(0, 0, 12))
		return err
	})
	return pgtest.NewDB(t, migrated)
}

func open(t testing.TB) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), newURL(t), pgstore.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hub.Store { return open(t) })
}

func TestLimitStore(t *testing.T) {
	limittest.Run(t, func(t *testing.T) limit.Store { return open(t) })
}

// TestFailedMigration: a migration that fails leaves the schema as it was
// before it (one transaction), and says which one failed; the store then
// refuses the database (older schema), as it refuses a newer one.
func TestFailedMigration(t *testing.T) {
	ctx := context.Background()
	// The real migrations, then a broken one (and later a newer one).
	real := fstest.MapFS{}
	names, err := fs.Glob(pgstore.Migrations(), "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(pgstore.Migrations(), n)
		if err != nil {
			t.Fatal(err)
		}
		real[n] = &fstest.MapFile{Data: b}
	}
	latest, err := strconv.ParseInt(strings.SplitN(names[len(names)-1], "_", 2)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	with := func(name, sql string) fstest.MapFS {
		m := maps.Clone(real)
		m[name] = &fstest.MapFile{Data: []byte(sql)}
		return m
	}
	broken := with("00999_broken.sql", "-- +goose Up\nCREATE TABLE half_done (x int);\nALTER TABLE records ADD COLUMN extra int;\nSELECT 1/0;\n-- +goose Down\n")
	url := pgtest.NewDB(t, "")
	rep, err := pgstore.Migrate(ctx, url, broken, nil)
	if err == nil || !strings.Contains(err.Error(), "00999_broken.sql") || rep.To != latest {
		t.Fatalf("migrate: %+v %v", rep, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var half, extra bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('half_done') IS NOT NULL,
		EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'records' AND column_name = 'extra')`).Scan(&half, &extra); err != nil {
		t.Fatal(err)
	}
	if half || extra {
		t.Fatalf("the failed migration left changes: table %v, column %v", half, extra)
	}
	// The schema is the real one: the store opens it.
	s, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A schema newer than this build knows is refused, by Open and Migrate.
	newer := with("00999_more.sql", "-- +goose Up\nCREATE TABLE more (x int);\n-- +goose Down\nDROP TABLE more;\n")
	if _, err := pgstore.Migrate(ctx, url, newer, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Open(ctx, url, pgstore.Options{}); !errors.Is(err, hub.ErrSchema) || !strings.Contains(err.Error(), "upgrade rchub") {
		t.Fatalf("open a newer schema: %v", err)
	}
	if _, err := pgstore.Migrate(ctx, url, pgstore.Migrations(), nil); !errors.Is(err, hub.ErrSchema) {
		t.Fatalf("migrate a newer schema: %v", err)
	}
	// An empty database: run migrate first.
	if _, err := pgstore.Open(ctx, pgtest.NewDB(t, ""), pgstore.Options{}); !errors.Is(err, hub.ErrSchema) || !strings.Contains(err.Error(), "rchub migrate") {
		t.Fatalf("open an empty database: %v", err)
	}
}

// openEnrolled opens a store on a fresh database with device enrolled at
// t0, closed when the test ends, and returns it with the database's URL.
func openEnrolled(t *testing.T, device string, t0 time.Time) (*pgstore.Store, string) {
	t.Helper()
	ctx := context.Background()
	url := newURL(t)
	s, err := pgstore.Open(ctx, url, pgstore.Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	h := gm.SM3([]byte("token of " + device))
	if err := s.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enroll(ctx, h, hub.Device{ID: device, PublicKey: []byte{1}, Enrolled: t0, NextSeq: 1}, t0); err != nil {
		t.Fatal(err)
	}
	return s, url
}

// putAt stores record seq of device, of wall time wall (its id too).
func putAt(tx hub.IngestTx, device string, seq uint64, wall time.Time, verdict string) error {
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], uint64(wall.UnixMilli())<<16)
	id[15] = byte(seq)
	return tx.PutRecord(hub.StoredRecord{ID: id, Device: device, Seq: seq, Hash: [32]byte{byte(seq)}, Wall: wall, Received: wall,
		Officer: "9001", Verdict: verdict, Kind: 3, Sealed: []byte{1}})
}

// TestCounterDeltasFold: ingestion appends rollup deltas; counters are
// exact before a fold, after it, and with new deltas beside folded rows.
func TestCounterDeltasFold(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	s, url := openEnrolled(t, "T-FOLD", t0)
	seq := uint64(0)
	ingest := func(verdicts ...string) {
		t.Helper()
		err := s.Ingest(ctx, "T-FOLD", func(tx hub.IngestTx) error {
			for _, v := range verdicts {
				seq++
				if err := putAt(tx, "T-FOLD", seq, t0.Add(time.Duration(seq)*time.Minute), v); err != nil {
					return err
				}
			}
			return tx.SetChain(seq+1, [32]byte{byte(seq)}, t0)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(total, invalid int64) {
		t.Helper()
		rows, err := s.Counters(ctx, hub.CounterQuery{Dim: hub.DimAll, From: t0, To: t0.Add(24 * time.Hour)})
		if err != nil || len(rows) != 1 || rows[0].Count.Total != total || rows[0].Count.Invalid != invalid {
			t.Fatalf("counters %+v %v, want total %d invalid %d", rows, err, total, invalid)
		}
	}
	pending := func() (n int64) {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM counter_deltas").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ingest("VALID", "INVALID", "VALID")
	want(3, 1)
	if n, err := s.FoldCounters(ctx); err != nil || n == 0 {
		t.Fatalf("fold: %d %v", n, err)
	}
	if p := pending(); p != 0 {
		t.Fatalf("%d deltas left after a fold", p)
	}
	want(3, 1)
	ingest("INVALID", "LIMITED")
	if pending() == 0 {
		t.Fatal("no deltas appended")
	}
	want(5, 2)
	if _, err := s.FoldCounters(ctx); err != nil {
		t.Fatal(err)
	}
	want(5, 2)
}

// TestPartitionMoveUnderReaders: records that arrived for days without a
// partition (in the default partition) are moved into new day partitions
// while readers count them: no reader ever sees one missing.
func TestPartitionMoveUnderReaders(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC) // no partitions there
	s, url := openEnrolled(t, "T-MOVE", t0)
	const days, perDay = 6, 40
	err := s.Ingest(ctx, "T-MOVE", func(tx hub.IngestTx) error {
		seq := uint64(0)
		for d := range days {
			for i := range perDay {
				seq++
				if err := putAt(tx, "T-MOVE", seq, t0.AddDate(0, 0, d).Add(time.Duration(i)*time.Minute), "VALID"); err != nil {
					return err
				}
			}
		}
		return tx.SetChain(seq+1, [32]byte{byte(seq)}, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	stop := make(chan struct{})
	var wrong atomic.Int64
	var reads atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := pool.QueryRow(ctx, "SELECT count(*) FROM records WHERE device_no IS NOT NULL AND id >= $1",
					[16]byte{0x01}).Scan(&n); err != nil {
					t.Error(err)
					return
				}
				reads.Add(1)
				if n != days*perDay {
					wrong.Add(1)
				}
			}
		}()
	}
	if n, err := s.EnsurePartitions(ctx, t0, t0.AddDate(0, 0, days-1)); err != nil || n != days {
		t.Errorf("made %d partitions (%v), want %d", n, err, days)
	}
	close(stop)
	wg.Wait()
	if wrong.Load() > 0 {
		t.Fatalf("%d of %d counts during the moves missed records", wrong.Load(), reads.Load())
	}
	var left int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM records_default").Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d records left in the default partition (%v)", left, err)
	}
}

// TestHashFromEvidence: the store keeps no record hash (schema version 5),
// so the hub takes a stored record's hash from its evidence: a batch
// pushed again is duplicate, a record of a stored id with other content is
// rejected as edited, a late record linking to its stored predecessor is
// not flagged as breaking the chain, and a head report is compared with
// the stored record it names.
func TestHashFromEvidence(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	s := open(t)
	key, pub := deviceKey(t)
	h := gm.SM3([]byte("token of T-HASH"))
	if err := s.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enroll(ctx, h, hub.Device{ID: "T-HASH", PublicKey: pub, Enrolled: t0, NextSeq: 1}, t0); err != nil {
		t.Fatal(err)
	}
	ts, err := trust.Open(ctx, t.TempDir(), trust.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	keys, err := hub.NewKeys(bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hub.New(hub.Config{Store: s, Trust: ts, Keys: keys, Clock: clock.NewFake(t0.Add(time.Hour)), Security: benchSecurity()})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(r *records.Record) wire.PushRecord { return signRecord(t, key, r) }
	var recs []*records.Record
	var pushed []wire.PushRecord
	var prev [gm.SM3Size]byte
	for seq := uint64(1); seq <= 3; seq++ {
		r := benchRecord("T-HASH", seq, prev, t0.Add(time.Duration(seq)*time.Minute))
		p := sign(r)
		prev = records.Hash(p.Body)
		recs, pushed = append(recs, r), append(pushed, p)
	}
	gmPub := key.Public()
	push := func(batch ...wire.PushRecord) []wire.PushResult {
		t.Helper()
		dev, err := s.Device(ctx, "T-HASH")
		if err != nil {
			t.Fatal(err)
		}
		res, err := srv.Ingest(ctx, dev, gmPub, batch)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// 1 and 3 (a gap), then 2 late: it links to the stored 1.
	push(pushed[0], pushed[2])
	res := push(pushed[1])
	if res[0].Status != wire.StatusAccepted || !slices.Contains(res[0].Flags, wire.FlagLate) || slices.Contains(res[0].Flags, wire.FlagChainMismatch) {
		t.Fatalf("late record: %+v", res[0])
	}
	for i, r := range push(pushed...) {
		if r.Status != wire.StatusDuplicate {
			t.Errorf("record %d pushed again: %+v", i+1, r)
		}
	}
	edited := *recs[1]
	edited.Check.Officer = "999999"
	if res := push(sign(&edited)); res[0].Status != wire.StatusRejected || res[0].Reason != wire.ReasonEdited {
		t.Fatalf("edited record: %+v", res[0])
	}
	// A head report at record 2 (behind the 3 received) is compared with
	// the stored record 2.
	for _, tc := range []struct {
		hash     [gm.SM3Size]byte
		mismatch bool
	}{{records.Hash(pushed[1].Body), false}, {records.Hash(pushed[0].Body), true}} {
		sig, err := key.Sign(rand.Reader, records.HeadSigningString("T-HASH", 2, tc.hash[:]))
		if err != nil {
			t.Fatal(err)
		}
		dev, err := s.Device(ctx, "T-HASH")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.CheckHead(ctx, dev, gmPub, &hub.Head{Seq: 2, Hash: tc.hash, Sig: sig})
		if err != nil || slices.Contains(resp.Flags, wire.FlagKindHeadMismatch) != tc.mismatch {
			t.Errorf("head at 2 (mismatch %v): %+v %v", tc.mismatch, resp, err)
		}
	}
}

// TestPackPartitions: the indexes of closed day partitions are rebuilt
// filled, once (an index a failed rebuild left invalid is dropped first);
// records stay found, and a late record still lands in a packed partition.
func TestPackPartitions(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	s, url := openEnrolled(t, "T-PACK", t0)
	rng := mrand.New(mrand.NewPCG(5, 6))
	const n = 3000
	err := s.Ingest(ctx, "T-PACK", func(tx hub.IngestTx) error {
		for seq := uint64(1); seq <= n; seq++ { // ids in random order within the day
			if err := putAt(tx, "T-PACK", seq, t0.Add(time.Duration(rng.Int64N(int64(24*time.Hour)))), "VALID"); err != nil {
				return err
			}
		}
		return tx.SetChain(n+1, [32]byte{1}, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pkeySize := func() (n int64) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT pg_relation_size(x.indexrelid) FROM pg_index x
			WHERE x.indrelid = 'records_20261127'::regclass AND x.indisprimary`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := pkeySize()
	// An index a failed REINDEX CONCURRENTLY left behind, invalid.
	if _, err := conn.Exec(ctx, "CREATE INDEX records_20261127_ccnew ON records_20261127 (seq)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'records_20261127_ccnew'::regclass"); err != nil {
		t.Fatal(err)
	}
	// Days up to the 27th are over on the 28th: the suite's partitions
	// from the 24th, 4 of them.
	// At most 3 at a time, the newest first.
	packed, err := s.PackPartitions(ctx, t0.AddDate(0, 0, 1), 3)
	if err != nil || packed != 3 {
		t.Fatalf("packed %d partitions (%v), want 3", packed, err)
	}
	if after := pkeySize(); after > before*80/100 {
		t.Errorf("primary key of the day: %d bytes before packing, %d after", before, after)
	}
	var invalid, loose int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT x.indisvalid),
		count(*) FILTER (WHERE coalesce(array_to_string(i.reloptions, ','), '') NOT LIKE '%fillfactor=100%')
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = 'records_20261127'::regclass`).Scan(&invalid, &loose); err != nil {
		t.Fatal(err)
	}
	if invalid != 0 || loose != 0 {
		t.Errorf("after packing: %d invalid indexes, %d not filled", invalid, loose)
	}
	if rest, err := s.PackPartitions(ctx, t0.AddDate(0, 0, 1), 0); err != nil || rest != 1 {
		t.Fatalf("packed %d more partitions (%v), want 1 (the 24th)", rest, err)
	}
	if again, err := s.PackPartitions(ctx, t0.AddDate(0, 0, 1), 0); err != nil || again != 0 {
		t.Fatalf("packed %d partitions again (%v)", again, err)
	}
	// A late record lands in the packed day; every record is found.
	err = s.Ingest(ctx, "T-PACK", func(tx hub.IngestTx) error {
		if err := putAt(tx, "T-PACK", n+1, t0.Add(12*time.Hour+time.Millisecond), "INVALID"); err != nil {
			return err
		}
		return tx.SetChain(n+2, [32]byte{2}, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	q := hub.RecordQuery{Device: "T-PACK", From: t0, To: t0.Add(24*time.Hour - time.Millisecond), Limit: 1000}
	for {
		page, err := s.QueryRecords(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		total += len(page.Records)
		if !page.More {
			break
		}
		q.After = page.Next
	}
	if total != n+1 {
		t.Errorf("%d records found by device, want %d", total, n+1)
	}
	if recs, _, err := s.Records(ctx, hub.RecordQuery{Verdict: "INVALID", From: t0, To: t0.Add(24 * time.Hour)}); err != nil || len(recs) != 1 {
		t.Errorf("late record by verdict: %d (%v)", len(recs), err)
	}
}

// deviceKey is a new device key pair: the key and its PKIX public key.
func deviceKey(t testing.TB) (*gm.PrivateKey, []byte) {
	t.Helper()
	key, err := gm.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.Public().MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	return key, pub
}

// TestPoolStats: /metrics' pool figures count both of the store's pools,
// the main one and the request path's.
func TestPoolStats(t *testing.T) {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, newURL(t), pgstore.Options{MaxConns: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := s.PoolStats()
	if _, err := s.Device(ctx, "D-NONE"); !errors.Is(err, hub.ErrNotFound) { // the request path's pool
		t.Fatalf("Device = %v, want ErrNotFound", err)
	}
	if _, err := s.Devices(ctx); err != nil { // the main pool
		t.Fatal(err)
	}
	after := s.PoolStats()
	if after.Max != 6+4 {
		t.Fatalf("Max = %d, want 10 (6 + the request path's 4)", after.Max)
	}
	if after.Acquires < before.Acquires+2 || after.Total < 2 {
		t.Fatalf("acquires %d → %d, total %d: both pools' use not counted", before.Acquires, after.Acquires, after.Total)
	}
}

// signRecord is r as a device signs it for a push.
func signRecord(t testing.TB, key *gm.PrivateKey, r *records.Record) wire.PushRecord {
	t.Helper()
	canon, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := key.Sign(rand.Reader, canon)
	if err != nil {
		t.Fatal(err)
	}
	return wire.PushRecord{Body: canon, Sig: sig}
}
