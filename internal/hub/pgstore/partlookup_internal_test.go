package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore/pgtest"
)

// TestLookupPlanByKey: the duplicate lookup's plan, made once per
// connection and partition (generic), finds ids by the primary key even
// when made on a partition of a day just begun, whose statistics make a
// sequential scan look cheaper: cached, that plan would scan a full day's
// partition for every lookup.
func TestLookupPlanByKey(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDB(t, "")
	if _, err := Migrate(ctx, url, Migrations(), nil); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, url, Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	if _, err := s.EnsurePartitions(ctx, day, day); err != nil {
		t.Fatal(err)
	}
	var id [16]byte // an id of the day
	binary.BigEndian.PutUint64(id[:8], uint64(day.Add(time.Hour).UnixMilli())<<16)
	// A day that has just begun: a few records, its statistics taken.
	for i := range 3 {
		rid := id
		rid[15] = byte(i + 1)
		if _, err := s.pool.Exec(ctx, `INSERT INTO records (id, wall, received, seq, device_no, kind, officer, verdict, sealed)
			VALUES ($1, 0, 0, $2, 1, 1, 'O1', 'VALID', '\x01')`, rid, i+1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(ctx, "ANALYZE "+pgx.Identifier{partitionName(day)}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	l := queueLookup(b, map[int64]bool{day.UnixMilli(): true}, [][16]byte{id})
	// What the lookup planned, as it planned it: between its settings.
	b.Queue("PREPARE lookup_plan AS SELECT " + recordCols + " FROM " + pgx.Identifier{partitionName(day)}.Sanitize() + " WHERE id = ANY($1)")
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	br := c.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		t.Fatal(err)
	}
	if l.statements != 1 || !l.set {
		t.Fatalf("lookup %+v, want one statement between settings", l)
	}
	if _, err := br.Exec(); err != nil { // settings
		t.Fatal(err)
	}
	if _, err := br.Exec(); err != nil { // the lookup
		t.Fatal(err)
	}
	if _, err := br.Exec(); err != nil { // settings back
		t.Fatal(err)
	}
	if _, err := br.Exec(); err != nil { // PREPARE
		t.Fatal(err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	// The lookup's settings again, then its plan.
	if _, err := c.Exec(ctx, "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)"); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := c.Query(ctx, fmt.Sprintf("EXPLAIN EXECUTE lookup_plan('{%x-%x-%x-%x-%x}')", id[:4], id[4:6], id[6:8], id[8:10], id[10:]), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got := plan.String(); strings.Contains(got, "Seq Scan") || !strings.Contains(got, "_pkey") {
		t.Fatalf("lookup plan on a day just begun:\n%s", got)
	}
	if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
}
