package pgstore_test

import (
	"context"
	"io/fs"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore/pgtest"
)

// TestMigrateCompactIndexes: a hub's records stored under schema version 1
// (32-byte plates, the (key, id) indexes) are found by every filter after
// migration 00002, beside records stored under it; 00002 goes down and up
// again, each way in one transaction, with the indexes of each version.
func TestMigrateCompactIndexes(t *testing.T) {
	ctx := context.Background()
	v1 := fstest.MapFS{}
	data, err := fs.ReadFile(pgstore.Migrations(), "00001_hub.sql")
	if err != nil {
		t.Fatal(err)
	}
	v1["00001_hub.sql"] = &fstest.MapFile{Data: data}
	url := pgtest.NewDB(t, "")
	if rep, err := pgstore.Migrate(ctx, url, v1, nil); err != nil || rep.To != 1 {
		t.Fatalf("migrate to 1: %+v %v", rep, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	plate := gm.SM3([]byte("粤B12345")) // a 32-byte plate hash, as version 1 stored it
	old := hub.StoredRecord{ID: id(t0.UnixMilli(), 1), Seq: 1, Hash: gm.SM3([]byte("old")), Wall: t0, Received: t0, Officer: "O1",
		Verdict: "INVALID", Kind: 3, PlateHash: plate[:], Issuer: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Sealed: []byte{1}}
	if _, err := conn.Exec(ctx, `INSERT INTO tokens (hash, role, created) VALUES ('\x01', 'device', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO devices (id, public_key, enrolled, next_seq, last_hash) VALUES ('T-1', '\x01', 0, 2, $1)`, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO records (id, wall, received, seq, issuer, device_no, kind, hash, officer, verdict, plate, sealed)
		VALUES ($1, $2, $2, 1, 72623859790382856, 1, 3, $3, 'O1', 'INVALID', $4, '\x01')`, old.ID, t0.UnixMilli(), old.Hash[:], plate[:]); err != nil {
		t.Fatal(err)
	}

	rep, err := pgstore.Migrate(ctx, url, pgstore.Migrations(), nil)
	if err != nil || rep.From != 1 || rep.To != pgstore.KnownVersion() {
		t.Fatalf("migrate: %+v %v", rep, err)
	}
	s, err := pgstore.Open(ctx, url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A record stored under version 2, with the same plate.
	err = s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		r := old
		r.ID, r.Seq, r.Hash, r.Device, r.Wall = id(t0.UnixMilli()+1000, 2), 2, gm.SM3([]byte("new")), "T-1", t0.Add(time.Second)
		if err := tx.PutRecord(r); err != nil {
			return err
		}
		return tx.SetChain(3, r.Hash, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	other := gm.SM3([]byte("粤B54321"))
	for _, tc := range []struct {
		name string
		q    hub.RecordQuery
		want int
	}{
		{"plate", hub.RecordQuery{PlateHash: plate[:]}, 2},
		{"plate and time", hub.RecordQuery{PlateHash: plate[:], From: t0, To: t0}, 1},
		{"other plate", hub.RecordQuery{PlateHash: other[:]}, 0},
		{"device", hub.RecordQuery{Device: "T-1"}, 2},
		{"officer", hub.RecordQuery{Officer: "O1"}, 2},
		{"issuer", hub.RecordQuery{Issuer: old.Issuer}, 2},
		{"verdict", hub.RecordQuery{Verdict: "INVALID"}, 2},
	} {
		recs, _, err := s.Records(ctx, tc.q)
		if err != nil || len(recs) != tc.want {
			t.Errorf("%s: %d records, want %d (%v)", tc.name, len(recs), tc.want, err)
		}
	}
	err = s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		for seq, want := range map[uint64][16]byte{1: old.ID, 2: id(t0.UnixMilli()+1000, 2)} {
			rid, ok, err := tx.RecordAt(seq)
			if err != nil || !ok {
				t.Errorf("RecordAt(%d): %v %v", seq, ok, err)
				continue
			}
			r, ok, err := tx.Record(rid)
			// The hash is not kept from version 5 on (the hub takes it
			// from the evidence).
			if err != nil || !ok || rid != want || r.Seq != seq || r.Hash != [32]byte{} {
				t.Errorf("Record(%d): %v %v", seq, ok, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Down to version 1 and up again: the indexes of each version.
	indexes := func() []string {
		rows, err := conn.Query(ctx, `SELECT indexname FROM pg_indexes WHERE tablename = 'records' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	v2 := indexes()
	db := stdlib.OpenDB(*conn.Config())
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, pgstore.Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	want1 := []string{"records_device", "records_device_seq", "records_flagged", "records_invalid", "records_issuer", "records_limited",
		"records_officer", "records_pkey", "records_plate", "records_stop"}
	if got := indexes(); !slices.Equal(got, want1) {
		t.Fatalf("indexes at version 1: %v", got)
	}
	var cols int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		WHERE c.relname IN ('records_device', 'records_officer', 'records_issuer', 'records_plate') AND x.indnatts = 2`).Scan(&cols); err != nil || cols != 4 {
		t.Fatalf("version 1 indexes with (key, id): %d %v", cols, err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexes(); !slices.Equal(got, v2) || !slices.Contains(got, "records_device") || slices.Contains(got, "records_device_seq") {
		t.Fatalf("indexes at the latest version: %v, first %v", got, v2)
	}
	// The device and officer filters page in id order (version 4): keys
	// (device_no, id) carrying seq, and (officer, id).
	var dev, off [2]int
	if err := conn.QueryRow(ctx, `SELECT x.indnkeyatts, x.indnatts FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relname = 'records_device'`).Scan(&dev[0], &dev[1]); err != nil || dev != [2]int{2, 3} {
		t.Fatalf("records_device: %v %v", dev, err)
	}
	if err := conn.QueryRow(ctx, `SELECT x.indnkeyatts, x.indnatts FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE c.relname = 'records_officer'`).Scan(&off[0], &off[1]); err != nil || off != [2]int{2, 2} {
		t.Fatalf("records_officer: %v %v", off, err)
	}
}

// id is a record id of millisecond ms ending in b.
func id(ms int64, b byte) [16]byte {
	var k [16]byte
	for i := range 6 {
		k[i] = byte(ms >> (40 - 8*i))
	}
	k[15] = b
	return k
}
