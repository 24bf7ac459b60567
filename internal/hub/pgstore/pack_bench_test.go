package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
)

// BenchmarkPackDay: Store.PackPartitions on one closed day partition of
// RC_BENCH_DAY_RECORDS records (default 200,000; a busy national day is
// 5,000,000), loaded with COPY like the query fixture (the fixture's
// shape, ids in order, spread evenly over the day), checkpointed and
// vacuumed, as a day is long before maintenance packs it. It reports the
// seconds the pack takes (REINDEX CONCURRENTLY of the day's indexes) and
// the day's indexes in bytes per record before and after.
//
// Meanwhile a terminal pushes a batch of 100 records into today's
// partition and a supervisor reads a page of today's records and one of
// the packed day's, every 100 ms: it reports the slowest push and the
// slowest page during the pack and during as long before it, and the
// batches pushed during the pack (a pack that blocked them would show
// few, and slow ones).
func BenchmarkPackDay(b *testing.B) {
	ctx := context.Background()
	n := benchEnv("RC_BENCH_DAY_RECORDS", 200_000)
	for range b.N {
		b.StopTimer()
		bs := openBench(b, "postgres")
		st := bs.store.(*pgstore.Store)
		url := bs.url
		today := time.Now().UTC().Truncate(24 * time.Hour)
		day := today.AddDate(0, 0, -7)
		if _, err := st.EnsurePartitions(ctx, day, day); err != nil {
			b.Fatal(err)
		}
		keys, err := hub.NewKeys(bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		step := float64(24*time.Hour/time.Millisecond) / float64(n)
		if err := newFixtureGen(keys, false).copy(ctx, url, n, func(i int) int64 { return day.UnixMilli() + int64(float64(i)*step) }); err != nil {
			b.Fatal(err)
		}
		part := "records_" + day.Format("20060102")
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		for _, stmt := range []string{"VACUUM ANALYZE " + part, "CHECKPOINT"} {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				b.Fatal(err)
			}
		}
		fmt.Fprintf(os.Stderr, "pack day: %d records loaded with COPY in %s\n", n, time.Since(start).Round(time.Second))
		before := indexBytes(b, conn, part)

		live := newLiveLoad(b, st, day, today)
		idling := live.during(ctx)
		time.Sleep(5 * time.Second)
		idle := idling()
		b.StartTimer()
		start = time.Now()
		packing := live.during(ctx)
		packed, err := st.PackPartitions(ctx, day.AddDate(0, 0, 1), 0)
		el := time.Since(start)
		b.StopTimer()
		during := packing()
		if err != nil || packed != 1 {
			b.Fatalf("packed %d partitions (%v), want 1", packed, err)
		}
		if idle.err != nil || during.err != nil {
			b.Fatal(idle.err, during.err)
		}
		after := indexBytes(b, conn, part)
		conn.Close(ctx)
		b.ReportMetric(el.Seconds(), "s/pack")
		b.ReportMetric(float64(before)/float64(n), "index-B/record-before")
		b.ReportMetric(float64(after)/float64(n), "index-B/record-after")
		b.ReportMetric(float64(idle.push.Microseconds())/1000, "ms-max-push-idle")
		b.ReportMetric(float64(during.push.Microseconds())/1000, "ms-max-push-packing")
		b.ReportMetric(float64(idle.page.Microseconds())/1000, "ms-max-page-idle")
		b.ReportMetric(float64(during.page.Microseconds())/1000, "ms-max-page-packing")
		b.ReportMetric(float64(during.batches), "batches-packing")
	}
}

// indexBytes is the size of the indexes of partition part; RC_BENCH_SIZES=1
// logs each.
func indexBytes(b *testing.B, conn *pgx.Conn, part string) int64 {
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT i.relname::text, pg_relation_size(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE x.indrelid = $1::regclass ORDER BY 2 DESC`, part)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			b.Fatal(err)
		}
		if os.Getenv("RC_BENCH_SIZES") != "" {
			b.Logf("%-40s %12d B", name, size)
		}
		total += size
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return total
}

// liveLoad is a terminal pushing into today's partition and a supervisor
// reading it and a closed day, while a day is packed.
type liveLoad struct {
	st       *pgstore.Store
	day, now time.Time
	seq      uint64
	ends     []chan liveResult
}

// liveResult is what a liveLoad saw: its slowest push and page, the
// batches it pushed, the first error.
type liveResult struct {
	push, page time.Duration
	batches    int
	err        error
}

func newLiveLoad(b *testing.B, st *pgstore.Store, day, today time.Time) *liveLoad {
	b.Helper()
	ctx := context.Background()
	h := gm.SM3([]byte("live token"))
	if err := st.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: today}); err != nil {
		b.Fatal(err)
	}
	if err := st.Enroll(ctx, h, hub.Device{ID: "D-LIVE", PublicKey: []byte{1}, Enrolled: today, NextSeq: 1}, today); err != nil {
		b.Fatal(err)
	}
	return &liveLoad{st: st, day: day, now: today.Add(time.Hour)}
}

// run pushes and reads every 100 ms until stop is closed (at least once).
func (l *liveLoad) run(ctx context.Context, stop <-chan struct{}) liveResult {
	var r liveResult
	for i := 0; ; i++ {
		select {
		case <-stop:
			if i > 0 {
				return r
			}
		default:
		}
		t := time.Now()
		err := l.st.Ingest(ctx, "D-LIVE", func(tx hub.IngestTx) error {
			for range 100 {
				l.seq++
				if err := putAt(tx, "D-LIVE", l.seq, l.now.Add(time.Duration(l.seq)*time.Millisecond), "VALID"); err != nil {
					return err
				}
			}
			return tx.SetChain(l.seq+1, [32]byte{byte(l.seq)}, l.now)
		})
		r.push = max(r.push, time.Since(t))
		r.batches++
		if err != nil && r.err == nil {
			r.err = err
		}
		for _, q := range []hub.RecordQuery{
			{Device: "D-LIVE", From: l.now.Truncate(24 * time.Hour), To: l.now.Add(24 * time.Hour), Limit: 100},
			{Verdict: "INVALID", From: l.day.Add(time.Duration(i%24) * time.Hour), To: l.day.Add(24*time.Hour - time.Millisecond), Limit: 100},
		} {
			t := time.Now()
			page, err := l.st.QueryRecords(ctx, q)
			r.page = max(r.page, time.Since(t))
			if err == nil && len(page.Records) == 0 {
				err = fmt.Errorf("no records for %+v", q)
			}
			if err != nil && r.err == nil {
				r.err = err
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// during starts run until the returned function is called, which returns
// its result.
func (l *liveLoad) during(ctx context.Context) func() liveResult {
	stop := make(chan struct{})
	res := make(chan liveResult, 1)
	go func() { res <- l.run(ctx, stop) }()
	return func() liveResult {
		close(stop)
		return <-res
	}
}
