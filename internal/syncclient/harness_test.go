package syncclient_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var (
	worldOnce sync.Once
	world     *demo.World
	worldErr  error
)

func demoWorld(t testing.TB) *demo.World {
	t.Helper()
	worldOnce.Do(func() { world, worldErr = demo.Build(demo.DefaultSeed, time.Time{}) })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return world
}

// hubEnv is a real hub on a bbolt file, served over loopback.
type hubEnv struct {
	path  string
	db    *storage.DB
	store *hub.BoltStore
	trust *trust.Store
	keys  *hub.Keys
	srv   *hub.Server
	http  *httptest.Server
	clk   clock.Clock
}

func openHub(t testing.TB, path string, sopts storage.Options, clk clock.Clock) *hubEnv {
	t.Helper()
	ctx := context.Background()
	h := &hubEnv{path: path, clk: clk}
	var err error
	if h.db, err = storage.Open(ctx, path, sopts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.db.Close() })
	if h.store, err = hub.NewBoltStore(ctx, h.db); err != nil {
		t.Fatal(err)
	}
	if h.trust, err = trust.New(ctx, h.db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.trust.Close() }) // before the database: cleanups run last first
	if h.keys, err = hub.LoadKeys(hub.KeyFilePath(path), true); err != nil {
		t.Fatal(err)
	}
	if h.srv, err = hub.New(hub.Config{Store: h.store, Trust: h.trust, Keys: h.keys, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	return h
}

// startHub opens a hub with the demo world's anchors and bundle published
// and serves it over loopback.
func startHub(t testing.TB, sopts storage.Options, clk clock.Clock) *hubEnv {
	t.Helper()
	w := demoWorld(t)
	h := openHub(t, filepath.Join(t.TempDir(), "hub.db"), sopts, clk)
	if _, err := h.trust.AddAnchors(context.Background(), w.AnchorsPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Publish(context.Background(), h.store, h.trust, w.BundlePEM, w.At); err != nil {
		t.Fatal(err)
	}
	h.http = httptest.NewServer(h.srv)
	t.Cleanup(h.http.Close)
	return h
}

func (h *hubEnv) token(t testing.TB, role hub.Role) string {
	t.Helper()
	tok, err := hub.CreateToken(context.Background(), h.store, role, "test", 0, h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// terminal is a real terminal database: records and trust store.
type terminal struct {
	path  string
	db    *storage.DB
	rec   *records.Store
	trust *trust.Store
	clk   clock.Clock
}

func newTerminal(t testing.TB, sopts storage.Options, clk clock.Clock) *terminal {
	t.Helper()
	ctx := context.Background()
	tm := &terminal{path: filepath.Join(t.TempDir(), "terminal.db"), clk: clk}
	var err error
	if tm.db, err = storage.Open(ctx, tm.path, sopts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.db.Close() })
	if tm.rec, err = records.Open(ctx, tm.db, records.KeyFile(records.KeyFilePath(tm.path)), records.Options{Clock: clk}); err != nil {
		t.Fatal(err)
	}
	if tm.trust, err = trust.New(ctx, tm.db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.trust.Close() }) // waits for its background work
	if _, err := tm.trust.AddAnchors(ctx, demoWorld(t).AnchorsPEM); err != nil {
		t.Fatal(err)
	}
	return tm
}

func (tm *terminal) enroll(t testing.TB, h *hubEnv, url string) {
	t.Helper()
	err := syncclient.Enroll(context.Background(), tm.rec, syncclient.EnrollOptions{HubURL: url, Token: h.token(t, hub.RoleDevice), Clock: tm.clk})
	if err != nil {
		t.Fatal(err)
	}
}

func (tm *terminal) client(t testing.TB, mod func(*syncclient.Config)) *syncclient.Client {
	t.Helper()
	cfg := syncclient.Config{Records: tm.rec, Trust: tm.trust, Clock: tm.clk, BatchSize: 100,
		RetryMax: 10, RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond, Timeout: 10 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := syncclient.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func check(i int) records.Check {
	return records.Check{
		Officer: "010203", Number: "粤交运管深字440300123456号", Kind: 3, Verdict: verify.Valid,
		IDHash: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i >> 8), byte(i)},
		Action: records.ActionRelease, Holder: "深圳市顺达货运有限公司", Plate: "粤B12345",
	}
}

// appendN appends n records and returns their ids in chain order.
func (tm *terminal) appendN(t testing.TB, n int, note func(i int) string) []records.ID {
	t.Helper()
	ids := make([]records.ID, 0, n)
	for i := range n {
		c := check(i)
		if note != nil {
			c.Notes = note(i)
		}
		r, err := tm.rec.Append(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// syncUntilDone calls Sync until nothing is pending (bounded).
func syncUntilDone(t testing.TB, c *syncclient.Client) {
	t.Helper()
	var last error
	for range 100 {
		rep, err := c.Sync(context.Background())
		if err == nil && rep.Push.Remaining == 0 {
			return
		}
		last = err
	}
	t.Fatalf("records still pending after 100 syncs; last error: %v", last)
}

// checkHubHolds checks that the hub holds exactly ids for the device, once
// each, in chain order, with no gap or tampering flag.
func checkHubHolds(t testing.TB, st hub.Store, device string, ids []records.ID) {
	t.Helper()
	ctx := context.Background()
	n, err := st.CountRecords(ctx, device)
	if err != nil || n != len(ids) {
		t.Fatalf("hub holds %d records of %s, want %d (%v)", n, device, len(ids), err)
	}
	if total, _ := st.CountRecords(ctx, ""); total != len(ids) {
		t.Fatalf("hub holds %d records in all, want %d", total, len(ids))
	}
	seen := map[records.ID]uint64{}
	q := hub.RecordQuery{Device: device, Limit: 1000}
	for {
		page, more, err := st.Records(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if _, dup := seen[records.ID(r.ID)]; dup {
				t.Fatalf("record %s stored twice", records.ID(r.ID))
			}
			seen[records.ID(r.ID)] = r.Seq
			if len(r.Flags) != 0 {
				t.Fatalf("record %d flagged %v", r.Seq, r.Flags)
			}
		}
		if !more {
			break
		}
		q.After = page[len(page)-1].ID
	}
	for i, id := range ids {
		if seq, ok := seen[id]; !ok || seq != uint64(i+1) {
			t.Fatalf("record %d (%s): stored=%v seq=%d", i+1, id, ok, seq)
		}
	}
	d, err := st.Device(ctx, device)
	if err != nil || d.NextSeq != uint64(len(ids)+1) {
		t.Fatalf("device chain head %d, want %d (%v)", d.NextSeq, len(ids)+1, err)
	}
	flags, _, err := st.Flags(ctx, hub.FlagQuery{Device: device})
	if err != nil || len(flags) != 0 {
		t.Fatalf("flags: %+v %v", flags, err)
	}
}

func hubFlagQuery(device, kind string) hub.FlagQuery {
	return hub.FlagQuery{Device: device, Kind: kind}
}

func trustNew(ctx context.Context, db *storage.DB) (*trust.Store, error) { return trust.New(ctx, db) }
