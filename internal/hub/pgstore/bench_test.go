package pgstore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore/pgtest"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// The hub benchmarks (make bench-hub) run on both stores, with fsync on:
// bbolt on a file, PostgreSQL on a throwaway durable cluster.

// benchStore is a store under benchmark and how to measure its size.
type benchStore struct {
	name  string
	store hub.Store
	bytes func() int64 // storage of records, indexes and rollups
	// PostgreSQL only: the database's URL and the WAL written so far.
	url      string
	walBytes func() int64
	pack     func() // pack the indexes of the days written (PackPartitions)
}

var durableOnce struct {
	sync.Once
	c   *pgtest.Cluster
	err error
}

// durable is a cluster with fsync on, shared by the benchmarks of a run.
func durable(b *testing.B) *pgtest.Cluster {
	durableOnce.Do(func() {
		settings := map[string]string{"shared_buffers": "512MB", "commit_delay": "200", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}
		if os.Getenv("RC_BENCH_PGSS") != "" {
			settings["shared_preload_libraries"] = "pg_stat_statements"
			settings["pg_stat_statements.track_planning"] = "on"
		}
		// RC_BENCH_PGSET=name=value,…: settings to try.
		for _, kv := range strings.Split(os.Getenv("RC_BENCH_PGSET"), ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				settings[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		durableOnce.c, durableOnce.err = pgtest.Start(context.Background(), pgtest.Options{Durable: true, Settings: settings})
	})
	if durableOnce.err != nil {
		b.Fatal(durableOnce.err)
	}
	return durableOnce.c
}

var benchDB atomic.Int64

func openBench(b *testing.B, kind string) benchStore {
	b.Helper()
	ctx := context.Background()
	if kind == "bbolt" {
		path := filepath.Join(b.TempDir(), "hub.db")
		db, err := storage.Open(ctx, path, storage.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		st, err := hub.NewBoltStore(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		return benchStore{name: kind, store: st, bytes: func() int64 {
			fi, _ := os.Stat(path)
			return fi.Size()
		}}
	}
	c := durable(b)
	name := fmt.Sprintf("bench%d", benchDB.Add(1))
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	url := c.URL(name)
	if _, err := pgstore.Migrate(ctx, url, pgstore.Migrations(), nil); err != nil {
		b.Fatal(err)
	}
	st, err := pgstore.Open(ctx, url, pgstore.Options{MaxConns: 64})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	if err := st.Maintain(ctx, time.Now()); err != nil {
		b.Fatal(err)
	}
	bs := benchStore{name: kind, store: st, url: url, bytes: func() int64 { return pgBytes(b, url) }}
	bs.walBytes = func() int64 {
		var lsn int64
		if err := pgQueryRow(url, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint", &lsn); err != nil {
			b.Fatal(err)
		}
		return lsn
	}
	bs.pack = func() {
		if _, err := st.PackPartitions(ctx, time.Now().AddDate(0, 0, 2), 0); err != nil {
			b.Fatal(err)
		}
	}
	return bs
}

func pgQueryRow(url, sql string, dest ...any) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

// pgBytes is the size of the records (every partition, with its indexes
// and TOAST) and of the rollups.
func pgBytes(b *testing.B, url string) int64 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "CHECKPOINT")
	var n int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		WHERE c.relkind = 'r' AND (c.relname LIKE 'records%' OR c.relname = 'counters')`).Scan(&n)
	if err != nil {
		b.Fatal(err)
	}
	if os.Getenv("RC_BENCH_SIZES") != "" {
		logSizes(b, conn)
	}
	return n
}

// logSizes logs the storage of records by part (every partition summed):
// the heap's main fork, its other forks with TOAST, each index (by the
// parent index's name) and the rollups; RC_BENCH_SIZES=1 turns it on.
func logSizes(b *testing.B, conn *pgx.Conn) {
	ctx := context.Background()
	rows, err := conn.Query(ctx, `
		SELECT 'heap', sum(pg_relation_size(c.oid, 'main'))::bigint FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'records%'
		UNION ALL
		SELECT 'heap other forks, toast', sum(pg_table_size(c.oid) - pg_relation_size(c.oid, 'main'))::bigint FROM pg_class c
			WHERE c.relkind = 'r' AND c.relname LIKE 'records%'
		UNION ALL
		SELECT * FROM (SELECT coalesce(p.relname, i.relname)::text, sum(pg_relation_size(i.oid))::bigint FROM pg_index x
			JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
			LEFT JOIN pg_inherits h ON h.inhrelid = i.oid LEFT JOIN pg_class p ON p.oid = h.inhparent
			WHERE t.relkind = 'r' AND t.relname LIKE 'records%' GROUP BY 1 ORDER BY 2 DESC) ix
		UNION ALL
		SELECT 'counters', pg_total_relation_size('counters')::bigint
		UNION ALL
		SELECT 'records', count(*) FROM records`)
	if err != nil {
		b.Fatal(err)
	}
	type part struct {
		name string
		n    int64
	}
	var parts []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.name, &p.n); err != nil {
			b.Fatal(err)
		}
		parts = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	recs := parts[len(parts)-1].n
	for _, p := range parts[:len(parts)-1] {
		b.Logf("%-28s %12d B %8.1f B/record", p.name, p.n, float64(p.n)/float64(max(recs, 1)))
	}
}

// terminalSim is a simulated terminal: its key and pre-signed batches.
type terminalSim struct {
	id      string
	key     *gm.PrivateKey
	batches [][]byte // JSON push bodies
}

// newTerminals enrols n terminals in st and signs for each `batches`
// batches of `size` records, in chain order.
func newTerminals(b *testing.B, st hub.Store, n, batches, size int, t0 time.Time) []*terminalSim {
	b.Helper()
	ctx := context.Background()
	out := make([]*terminalSim, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		tm := &terminalSim{id: fmt.Sprintf("T-%04d", i)}
		out[i] = tm
		var err error
		if tm.key, err = gm.GenerateKey(rand.Reader); err != nil {
			b.Fatal(err)
		}
		pub, err := tm.key.Public().MarshalPKIX()
		if err != nil {
			b.Fatal(err)
		}
		h := gm.SM3([]byte("bench token " + tm.id + strconv.FormatInt(t0.UnixNano(), 10)))
		if err := st.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: t0}); err != nil {
			b.Fatal(err)
		}
		if err := st.Enroll(ctx, h, hub.Device{ID: tm.id, PublicKey: pub, Enrolled: t0, NextSeq: 1}, t0); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev [gm.SM3Size]byte
			seq := uint64(0)
			for range batches {
				var req wire.PushRequest
				for range size {
					seq++
					r := benchRecord(tm.id, seq, prev, t0.Add(time.Duration(seq)*time.Second))
					canon, err := r.Canonical()
					if err != nil {
						errs <- err
						return
					}
					sig, err := tm.key.Sign(rand.Reader, canon)
					if err != nil {
						errs <- err
						return
					}
					prev = records.Hash(canon)
					req.Records = append(req.Records, wire.PushRecord{Body: canon, Sig: sig})
				}
				body, err := json.Marshal(req)
				if err != nil {
					errs <- err
					return
				}
				tm.batches = append(tm.batches, body)
			}
		}()
		if i%runtime.GOMAXPROCS(0) == 0 {
			wg.Wait()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return out
}

func benchRecord(dev string, seq uint64, prev [gm.SM3Size]byte, at time.Time) *records.Record {
	var id records.ID
	binary.BigEndian.PutUint64(id[:8], uint64(at.UnixMilli())<<16)
	rand.Read(id[6:])
	return &records.Record{ID: id, Seq: seq, Device: dev, Prev: prev, Wall: at,
		Check: records.Check{Officer: fmt.Sprintf("%06d", seq%7), Number: "粤交运管深字440300123456号", Kind: 3, Verdict: verify.Valid,
			KID: []byte{1, 2, 3, 4, 5, 6, 7, 8}, IDHash: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
			Location: &records.Location{Lat: 22.543096, Lon: 114.057865, Place: "G4 京港澳高速 K12+300"},
			Action:   records.ActionRelease, Holder: "深圳市顺达货运有限公司", HolderID: "91440300MA5FXXXX1X", Plate: fmt.Sprintf("粤B%05d", seq%100000)}}
}

// benchServer serves st over loopback HTTP.
func benchServer(b *testing.B, st hub.Store) (*httptest.Server, *hub.Keys) {
	b.Helper()
	ts, err := trust.Open(context.Background(), b.TempDir(), trust.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ts.Close() })
	keys, err := hub.NewKeys(bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16))
	if err != nil {
		b.Fatal(err)
	}
	sec := benchSecurity()
	if ls, ok := st.(limit.Store); ok && os.Getenv("RC_BENCH_LOCAL_LIMITS") == "" {
		sec.SharedLimits = ls // as rchub serve on PostgreSQL: replicas share the quotas
	}
	srv, err := hub.New(hub.Config{Store: st, Trust: ts, Keys: keys, Clock: clock.Real{}, Security: sec})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	return hs, keys
}

// signPush returns the push request of body from tm, signed at now, as
// HTTP/1.1 bytes.
func signPush(tm *terminalSim, url string, body []byte, now time.Time) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/records", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := wire.Sign(req, body, tm.id, now, func(m []byte) ([]byte, error) { return tm.key.Sign(rand.Reader, m) }); err != nil {
		return nil, err
	}
	var raw bytes.Buffer
	if err := req.Write(&raw); err != nil {
		return nil, err
	}
	return raw.Bytes(), nil
}

// presign signs every terminal's push requests ahead (terminals whose
// requests are ready when the clock starts).
func presign(b *testing.B, url string, terms []*terminalSim) [][][]byte {
	out := make([][][]byte, len(terms))
	now := time.Now()
	for i, tm := range terms {
		for _, body := range tm.batches {
			raw, err := signPush(tm, url, body, now)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = append(out[i], raw)
		}
	}
	return out
}

// push sends the signed push requests of terminals (from presign), each
// terminal on its own keep-alive connection and goroutine, and returns
// the records accepted. A request refused for a while (429, 503) is sent
// again, signed anew, after 20 ms.
//
// The load generator runs on the machine it measures: it writes the
// requests signed ahead as bytes and reads the answers with
// http.ReadResponse, not through an http.Client, so that the cores go to
// the hub (signing and a client cost about 190 µs of CPU per 1-record
// push, a sixth of what the hub and PostgreSQL spend on it).
func push(b *testing.B, url string, terms []*terminalSim, reqs [][][]byte) int64 {
	var accepted atomic.Int64
	var wg sync.WaitGroup
	addr := strings.TrimPrefix(url, "http://")
	for i, tm := range terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			for j, raw := range reqs[i] {
				for attempt := 0; ; attempt++ {
					if attempt > 0 {
						if raw, err = signPush(tm, url, tm.batches[j], time.Now()); err != nil {
							b.Error(err)
							return
						}
					}
					if _, err := conn.Write(raw); err != nil {
						b.Error(err)
						return
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					var pr wire.PushResponse
					err = json.NewDecoder(resp.Body).Decode(&pr)
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
						if attempt > 50 {
							b.Errorf("push: still %d", resp.StatusCode)
							return
						}
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if err != nil || resp.StatusCode != http.StatusOK {
						b.Errorf("push: %d %v", resp.StatusCode, err)
						return
					}
					for _, r := range pr.Results {
						if r.Status == wire.StatusAccepted {
							accepted.Add(1)
						}
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	return accepted.Load()
}

// benchSecurity lifts the quotas (50 terminals at once exceed the
// defaults' concurrency caps: the benchmark measures the stores) and logs
// device requests only when refused.
func benchSecurity() hub.Security {
	l := limit.Default()
	l.RequestsPerSecond, l.RequestBurst = 1e6, 1e6
	l.RecordsPerDay, l.RecordBurst = 1e9, 1e9
	l.BodiesPerDevice, l.Bodies, l.PreAuth = 8, 1024, 1024
	return hub.Security{Limits: &l, QuietDevices: true}
}

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkIngest: 50 terminals push at once over loopback HTTP (device
// signatures checked, records verified and sealed), in batches of 250
// and one record at a time. It reports records (or requests) per second
// and the storage per record, records with indexes and rollups, as
// written and once the days' indexes are packed (PostgreSQL), the CPU per
// record of this process and of PostgreSQL, and the WAL per record.
func BenchmarkIngest(b *testing.B) {
	const terminals = 50
	for _, kind := range []string{"bbolt", "postgres"} {
		for _, size := range []int{250, 1} {
			b.Run(fmt.Sprintf("%s/batch=%d", kind, size), func(b *testing.B) {
				batches := benchEnv("RC_BENCH_BATCHES", 8)
				if size == 1 {
					batches = benchEnv("RC_BENCH_SINGLES", 100)
				}
				for range b.N {
					b.StopTimer()
					bs := openBench(b, kind)
					hs, _ := benchServer(b, bs.store)
					terms := newTerminals(b, bs.store, terminals, batches, size, time.Now().Add(-time.Hour))
					reqs := presign(b, hs.URL, terms)
					runtime.GC()
					var pg *pgtest.Cluster
					if kind == "postgres" {
						pg = durable(b)
						statementsReset(b, pg)
					}
					b.StartTimer()
					var wal0 int64
					if bs.walBytes != nil {
						wal0 = bs.walBytes()
					}
					start, cpu0, pgcpu0 := time.Now(), cpuTime(), serverCPU(pg)
					n := push(b, hs.URL, terms, reqs)
					el, cpu, pgcpu := time.Since(start), cpuTime()-cpu0, serverCPU(pg)-pgcpu0
					b.StopTimer()
					if pg != nil {
						// PostgreSQL's own CPU (every process of the
						// cluster) and the WAL it wrote, per record.
						b.ReportMetric(float64(pgcpu.Microseconds())/float64(max(n, 1)), "µs-pgcpu/record")
						b.ReportMetric(float64(bs.walBytes()-wal0)/float64(max(n, 1)), "WAL-B/record")
						tablesLog(b, bs.url)
						statementsLog(b, pg)
					}
					// CPU of this process (hub and the simulated terminals'
					// request signing), not of PostgreSQL: a figure that does
					// not depend on what else the machine runs.
					b.ReportMetric(float64(cpu.Microseconds())/float64(n), "µs-cpu/record")
					if want := int64(terminals * batches * size); n != want {
						b.Fatalf("%d records accepted, want %d", n, want)
					}
					if size == 1 {
						b.ReportMetric(float64(n)/el.Seconds(), "req/s")
					} else {
						b.ReportMetric(float64(n)/el.Seconds(), "records/s")
						b.ReportMetric(float64(bs.bytes())/float64(n), "B/record")
						if bs.pack != nil {
							// Once the days are over, as maintenance leaves them.
							bs.pack()
							b.ReportMetric(float64(bs.bytes())/float64(n), "B/record-packed")
						}
					}
				}
			})
		}
	}
}

// The query, counter and export benchmarks run on a fixture of
// RC_BENCH_RECORDS records (default 200,000; make bench-hub: 10,000,000)
// over 30 days, loaded with COPY (with their rollups) into the throwaway
// durable cluster once per run, and its days' indexes then packed as the
// hub's maintenance leaves closed days (PackPartitions): loading and
// packing 10 M records takes a while.

const fixtureDays = 30

var fixtureT0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

type fixture struct {
	c     *pgtest.Cluster
	url   string
	n     int
	store *pgstore.Store
	keys  *hub.Keys
}

var fixtureOnce struct {
	sync.Once
	f   *fixture
	err error
}

func loadFixture(b *testing.B) *fixture {
	fixtureOnce.Do(func() { fixtureOnce.f, fixtureOnce.err = buildFixture(b) })
	if fixtureOnce.err != nil {
		b.Fatal(fixtureOnce.err)
	}
	return fixtureOnce.f
}

// Fixture shape: devices, officers, issuers, share of plates and stops.
const (
	fxDevices  = 2000
	fxOfficers = 3000
	fxIssuers  = 24
	fxPlates   = 400_000
)

func buildFixture(b *testing.B) (*fixture, error) {
	ctx := context.Background()
	n := benchEnv("RC_BENCH_RECORDS", 200_000)
	c := durable(b)
	name := fmt.Sprintf("fixture%d", n)
	f := &fixture{c: c, url: c.URL(name), n: n}
	var err error
	if f.keys, err = hub.NewKeys(bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16)); err != nil {
		return nil, err
	}
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE "+name); err != nil {
		return nil, err
	}
	if _, err := pgstore.Migrate(ctx, f.url, pgstore.Migrations(), nil); err != nil {
		return nil, err
	}
	if f.store, err = pgstore.Open(ctx, f.url, pgstore.Options{MaxConns: 16}); err != nil {
		return nil, err
	}
	if _, err := f.store.EnsurePartitions(ctx, fixtureT0, fixtureT0.AddDate(0, 0, fixtureDays-1)); err != nil {
		return nil, err
	}
	start := time.Now()
	for d := range fxDevices {
		h := gm.SM3([]byte(fmt.Sprint("fixture token ", d)))
		if err := f.store.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: fixtureT0}); err != nil {
			return nil, err
		}
		if err := f.store.Enroll(ctx, h, hub.Device{ID: fmt.Sprintf("D-%04d", d), PublicKey: []byte{1}, Enrolled: fixtureT0, NextSeq: 1}, fixtureT0); err != nil {
			return nil, err
		}
	}
	// Records in id order, spread evenly over the days; COPY in chunks
	// through the store's own batches would take far longer.
	g := newFixtureGen(f.keys, true)
	step := int64(fixtureDays*24*3600*1000) / int64(n)
	if err := g.copy(ctx, f.url, n, func(i int) int64 { return fixtureT0.UnixMilli() + int64(i)*step }); err != nil {
		return nil, err
	}
	counters := g.counters
	conn, err := pgx.Connect(ctx, f.url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	// In the order ingestion writes them (hour by hour), not the map's.
	var crow [][]any
	for k, c := range counters {
		crow = append(crow, []any{int16(k[0].(hub.CounterDim)), int32(k[1].(int64)), k[2].(string), int16(0), c.Total, c.Valid, c.Limited, c.Invalid, c.Flagged})
	}
	slices.SortFunc(crow, func(a, b []any) int {
		if c := int(a[1].(int32)) - int(b[1].(int32)); c != 0 {
			return c
		}
		if c := int(a[0].(int16)) - int(b[0].(int16)); c != 0 {
			return c
		}
		return strings.Compare(a[2].(string), b[2].(string))
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"counters"}, []string{"dim", "hour", "key", "shard", "total", "valid", "limited", "invalid", "flagged"},
		pgx.CopyFromRows(crow)); err != nil {
		return nil, err
	}
	loaded := time.Since(start)
	// Its days are long over: maintenance would have packed their indexes
	// (PackPartitions), and packs them as it would, newest first.
	start = time.Now()
	if _, err := f.store.PackPartitions(ctx, fixtureT0.AddDate(0, 0, fixtureDays), 0); err != nil {
		return nil, err
	}
	packed := time.Since(start)
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "fixture: %d records loaded with COPY in %s, their days packed in %s\n", n, loaded.Round(time.Second), packed.Round(time.Second))
	return f, nil
}

// fixtureGen makes records of the fixture's shape (devices, officers,
// issuers, verdicts, plates, stops, flags) for COPY into records, each
// with one real evidence (a signed record) sealed for its id, so that
// exports unseal what they read, and adds them up in counters (when kept).
type fixtureGen struct {
	rng      *mrand.Rand
	keys     *hub.Keys
	canon    []byte
	sig      []byte
	seq      []int64
	counters map[[3]any]*hub.Count // nil: not kept
}

func newFixtureGen(keys *hub.Keys, counters bool) *fixtureGen {
	key, _ := gm.GenerateKey(rand.Reader)
	canon, _ := benchRecord("D-0000", 1, [32]byte{}, fixtureT0).Canonical()
	sig, _ := key.Sign(rand.Reader, canon)
	g := &fixtureGen{rng: mrand.New(mrand.NewPCG(1, 2)), keys: keys, canon: canon, sig: sig, seq: make([]int64, fxDevices)}
	if counters {
		g.counters = map[[3]any]*hub.Count{}
	}
	return g
}

// fixtureColumns are the columns of fixtureGen.row, in its order.
var fixtureColumns = []string{"id", "wall", "received", "seq", "issuer", "device_no", "kind", "officer", "verdict", "plate", "flags", "stop", "sealed"}

// row is a record of wall time ms (Unix milliseconds).
func (g *fixtureGen) row(ms int64) ([]any, error) {
	rng := g.rng
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], uint64(ms)<<16)
	binary.BigEndian.PutUint64(id[8:], rng.Uint64())
	dev := int32(rng.IntN(fxDevices))
	g.seq[dev]++
	verdict := "VALID"
	switch x := rng.IntN(100); {
	case x < 3:
		verdict = "INVALID"
	case x < 10:
		verdict = "LIMITED"
	}
	officer := fmt.Sprintf("%06d", (int(dev)*3+rng.IntN(3))%fxOfficers)
	kid := int64(1<<56 | rng.IntN(fxIssuers))
	plate := gm.SM3([]byte(fmt.Sprint("plate ", rng.IntN(fxPlates))))
	var flags []string
	if rng.IntN(100) == 0 {
		flags = []string{"clock_skewed"}
	}
	var stop *string
	if rng.IntN(10) == 0 {
		s := fmt.Sprintf("S-%d-%d", dev, g.seq[dev]/4)
		stop = &s
	}
	sealed, err := g.keys.SealEvidence(id, g.canon, g.sig)
	if err != nil {
		return nil, err
	}
	kind := int16(1 + rng.IntN(3))
	if g.counters != nil {
		var kidB [8]byte
		binary.BigEndian.PutUint64(kidB[:], uint64(kid))
		r := hub.StoredRecord{Verdict: verdict, Flags: flags, Wall: time.UnixMilli(ms), Officer: officer,
			Device: fmt.Sprintf("D-%04d", dev), Issuer: kidB[:], Kind: uint8(kind)}
		cnt := hub.CountOf(&r)
		for _, k := range hub.CounterKeys(&r) {
			ck := [3]any{k.Dim, k.Hour, k.Key}
			if g.counters[ck] == nil {
				g.counters[ck] = &hub.Count{}
			}
			g.counters[ck].Add(cnt)
		}
	}
	return []any{id, ms, ms + 60_000, g.seq[dev], kid, dev + 1, kind, officer, verdict, plate[:16], flags, stop, sealed}, nil
}

// copy loads n records into the records of url with COPY, in chunks, the
// i-th of wall time at(i) (ascending: ids in order).
func (g *fixtureGen) copy(ctx context.Context, url string, n int, at func(i int) int64) error {
	const chunk = 50_000
	for lo := 0; lo < n; lo += chunk {
		rows := make([][]any, 0, chunk)
		for i := lo; i < min(lo+chunk, n); i++ {
			r, err := g.row(at(i))
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		_, err = conn.CopyFrom(ctx, pgx.Identifier{"records"}, fixtureColumns, pgx.CopyFromRows(rows))
		conn.Close(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

func p95(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)*95/100]
}

// BenchmarkQuery: first pages (100 records) of supervisor queries, one
// filter and a time range of one day, on the fixture (its days packed);
// it reports the 95th percentile per filter. FILTER-month: the fixture's
// whole month, its first two pages (the second from the first's page
// token). Each filter runs its 200 (or 100) queries on the store's pool,
// so that PostgreSQL's plan cache is in play as in a serving hub.
func BenchmarkQuery(b *testing.B) {
	f := loadFixture(b)
	ctx := context.Background()
	rng := mrand.New(mrand.NewPCG(3, 4))
	day := func() (time.Time, time.Time) {
		from := fixtureT0.AddDate(0, 0, rng.IntN(fixtureDays))
		return from, from.Add(24*time.Hour - time.Millisecond)
	}
	filters := map[string]func(q *hub.RecordQuery){
		"time":    func(q *hub.RecordQuery) {},
		"device":  func(q *hub.RecordQuery) { q.Device = fmt.Sprintf("D-%04d", rng.IntN(fxDevices)) },
		"officer": func(q *hub.RecordQuery) { q.Officer = fmt.Sprintf("%06d", rng.IntN(fxOfficers)) },
		"plate": func(q *hub.RecordQuery) {
			h := gm.SM3([]byte(fmt.Sprint("plate ", rng.IntN(fxPlates))))
			q.PlateHash = h[:]
		},
		"verdict": func(q *hub.RecordQuery) { q.Verdict = "INVALID" },
		"issuer": func(q *hub.RecordQuery) {
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], uint64(1<<56|rng.IntN(fxIssuers)))
			q.Issuer = k[:]
		},
		"flagged": func(q *hub.RecordQuery) { q.FlaggedOnly = true },
		"kind":    func(q *hub.RecordQuery) { q.Kind = 2 },
		"stop":    func(q *hub.RecordQuery) { q.Stop = fmt.Sprintf("S-%d-%d", rng.IntN(fxDevices), rng.IntN(20)) },
	}
	names := make([]string, 0, len(filters))
	for k := range filters {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				var lat []time.Duration
				for range 200 {
					from, to := day()
					q := hub.RecordQuery{From: from, To: to, Limit: 100}
					filters[name](&q)
					start := time.Now()
					if _, err := f.store.QueryRecords(ctx, q); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
				}
				b.ReportMetric(float64(p95(lat).Microseconds())/1000, "ms-p95/page")
			}
		})
	}
	for _, name := range names {
		b.Run(name+"-month", func(b *testing.B) {
			for range b.N {
				var lat []time.Duration
				for range 100 {
					q := hub.RecordQuery{From: fixtureT0, To: fixtureT0.AddDate(0, 0, fixtureDays).Add(-time.Millisecond), Limit: 100}
					filters[name](&q)
					for range 2 {
						start := time.Now()
						page, err := f.store.QueryRecords(ctx, q)
						if err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
						if !page.More {
							break
						}
						q.After = page.Next
					}
				}
				b.ReportMetric(float64(p95(lat).Microseconds())/1000, "ms-p95/page")
			}
		})
	}
}

// BenchmarkCounters: counters of one day and of the fixture's month, by
// officer and by day (exact, from the rollups); 20 queries each, p95.
func BenchmarkCounters(b *testing.B) {
	f := loadFixture(b)
	ctx := context.Background()
	for _, span := range []struct {
		name string
		days int
	}{{"day", 1}, {"month", fixtureDays}} {
		for _, dim := range []hub.CounterDim{hub.DimOfficer, hub.DimAll} {
			b.Run(fmt.Sprintf("%s/%c", span.name, dim), func(b *testing.B) {
				for range b.N {
					var lat []time.Duration
					for i := range 20 {
						from := fixtureT0.AddDate(0, 0, i%(fixtureDays-span.days+1))
						start := time.Now()
						rows, err := f.store.Counters(ctx, hub.CounterQuery{Dim: dim, From: from, To: from.AddDate(0, 0, span.days), ByHour: dim == hub.DimAll})
						if err != nil || len(rows) == 0 {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
					}
					b.ReportMetric(float64(p95(lat).Microseconds())/1000, "ms-p95")
				}
			})
		}
	}
}

// cpuTime is the user and system CPU time of this process.
// serverCPU is the CPU time the cluster's processes have used: the
// postmaster with its exited children and its live ones (0 for nil).
func serverCPU(c *pgtest.Cluster) time.Duration {
	if c == nil {
		return 0
	}
	pidFile, err := os.ReadFile(filepath.Join(c.Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	pm, _, _ := strings.Cut(string(pidFile), "\n")
	stat := func(pid string) (ppid string, ticks int64) {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return "", 0
		}
		_, rest, _ := strings.Cut(string(b), ") ") // after "pid (comm) "
		f := strings.Fields(rest)                  // f[0] is field 3 (state)
		if len(f) < 15 {
			return "", 0
		}
		for _, i := range []int{11, 12} { // utime, stime
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
		if pid == pm {
			for _, i := range []int{13, 14} { // cutime, cstime: exited children
				v, _ := strconv.ParseInt(f[i], 10, 64)
				ticks += v
			}
		}
		return f[1], ticks
	}
	_, total := stat(pm)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if ppid, t := stat(e.Name()); ppid == pm {
			total += t
		}
	}
	return time.Duration(total) * time.Second / 100 // USER_HZ
}

// statementsReset clears pg_stat_statements (RC_BENCH_PGSS=1 loads it).
func statementsReset(b *testing.B, c *pgtest.Cluster) {
	if os.Getenv("RC_BENCH_PGSS") == "" {
		return
	}
	if err := c.Exec(context.Background(), "postgres", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "SELECT pg_stat_statements_reset()"); err != nil {
		b.Fatal(err)
	}
}

// statementsLog logs the statements that took the most time since
// statementsReset (RC_BENCH_PGSS=1).
func statementsLog(b *testing.B, c *pgtest.Cluster) {
	if os.Getenv("RC_BENCH_PGSS") == "" {
		return
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT calls, rows, total_exec_time, total_plan_time, plans, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 25`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	b.Logf("%8s %8s %9s %9s %7s  %s", "calls", "rows", "exec ms", "plan ms", "plans", "query")
	for rows.Next() {
		var calls, nrows, plans int64
		var exec, plan float64
		var q string
		if err := rows.Scan(&calls, &nrows, &exec, &plan, &plans, &q); err != nil {
			b.Fatal(err)
		}
		b.Logf("%8d %8d %9.1f %9.1f %7d  %s", calls, nrows, exec, plan, plans, q)
	}
}

// tablesLog logs, with RC_BENCH_PGSS=1, the updates of the request path's
// tables, the share of them HOT (no index touched), and their vacuums.
func tablesLog(b *testing.B, url string) {
	if os.Getenv("RC_BENCH_PGSS") == "" {
		return
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup, autovacuum_count
		FROM pg_stat_user_tables WHERE relname IN ('rate_windows', 'nonces', 'devices', 'counter_deltas', 'counters') ORDER BY relname`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	b.Logf("%-16s %9s %9s %9s %9s %5s", "table", "inserts", "updates", "HOT", "dead", "vacs")
	for rows.Next() {
		var name string
		var ins, upd, hot, dead, vacs int64
		if err := rows.Scan(&name, &ins, &upd, &hot, &dead, &vacs); err != nil {
			b.Fatal(err)
		}
		b.Logf("%-16s %9d %9d %9d %9d %5d", name, ins, upd, hot, dead, vacs)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rssKB() int64 {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkExport: a streamed CSV export of RC_BENCH_EXPORT records
// (default 1,000,000, at most the fixture) through the hub's HTTP handler;
// it reports the time and the process's resident memory above idle at its
// peak (sampled every 10 ms; the client discards what it reads).
func BenchmarkExport(b *testing.B) {
	f := loadFixture(b)
	n := min(benchEnv("RC_BENCH_EXPORT", 1_000_000), f.n)
	ts, err := trust.Open(context.Background(), b.TempDir(), trust.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ts.Close()
	srv, err := hub.New(hub.Config{Store: f.store, Trust: ts, Keys: f.keys, Clock: clock.Real{}, Security: benchSecurity()})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	tok, err := hub.CreateToken(context.Background(), f.store, hub.RoleSupervisor, "bench", 0, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	step := time.Duration(int64(fixtureDays*24*time.Hour) / int64(f.n))
	to := fixtureT0.Add(time.Duration(n)*step - time.Millisecond)
	for range b.N {
		runtime.GC()
		idle := rssKB()
		var peak atomic.Int64
		stop := make(chan struct{})
		go func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if r := rssKB(); r > peak.Load() {
						peak.Store(r)
					}
				}
			}
		}()
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/v1/records/export?format=csv&from="+fixtureT0.Format(time.RFC3339)+"&to="+to.Format(time.RFC3339Nano), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		lines := 0
		br := bufio.NewReaderSize(resp.Body, 1<<20)
		for {
			_, err := br.ReadSlice('\n')
			if err == io.EOF {
				break
			}
			if err != nil && err != bufio.ErrBufferFull {
				b.Fatal(err)
			}
			if err == nil {
				lines++
			}
		}
		resp.Body.Close()
		el := time.Since(start)
		close(stop)
		if lines < n { // header + n rows (notes may hold no newline)
			b.Fatalf("%d lines, want %d", lines, n+1)
		}
		b.ReportMetric(el.Seconds(), "s/export")
		b.ReportMetric(float64(n)/el.Seconds(), "records/s")
		b.ReportMetric(float64(max(peak.Load()-idle, 0))/1024, "MB-RSS-above-idle")
	}
}
