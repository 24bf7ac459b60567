package limit_test

import (
	"context"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/limit/limittest"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

func TestMemoryStoreSuite(t *testing.T) {
	limittest.Run(t, func(t *testing.T) limit.Store { return limit.NewMemoryStore() })
}

func newLimiter(t *testing.T, l limit.Limits, clk clock.Clock, shared limit.Store) *limit.Limiter {
	t.Helper()
	lim, err := limit.New(l, clk, shared)
	if err != nil {
		t.Fatal(err)
	}
	return lim
}

// push charges a push of n records of device as the hub does without a
// store that takes nonces too: PlanPush, then Apply.
func push(ctx context.Context, lim *limit.Limiter, device string, n int) (limit.Decision, error) {
	p := lim.PlanPush(device, n)
	return lim.Apply(ctx, &p)
}

func TestRecordsAndFlags(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	lim := newLimiter(t, limit.Limits{RecordsPerDay: 86400, RecordBurst: 1000, FlagsPerDay: 8640, FlagBurst: 100}, clk, nil)
	steps := []struct {
		name      string
		advance   time.Duration
		records   int
		flags     int // charged after the push
		wantOK    bool
		wantWhat  string
		wantAfter time.Duration
	}{
		{name: "a full batch", records: 1000, wantOK: true},
		{name: "empty bucket", records: 10, wantWhat: "records", wantAfter: 10 * time.Second},
		{name: "refilled", advance: 10 * time.Second, records: 10, flags: 150, wantOK: true},
		{name: "flags spent", advance: 10 * time.Second, records: 1, wantWhat: "flags", wantAfter: 500 * time.Second},
		{name: "flags recovered", advance: 510 * time.Second, records: 1, wantOK: true},
		{name: "other device is not affected", records: 0, wantOK: true},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		dev := "T-ROGUE"
		if st.name == "other device is not affected" {
			dev, st.records = "T-GOOD", 1000
		}
		d, err := push(ctx, lim, dev, st.records)
		if err != nil || d.OK != st.wantOK || d.What != st.wantWhat || (st.wantAfter > 0 && (d.RetryAfter < st.wantAfter-time.Second || d.RetryAfter > st.wantAfter+time.Second)) {
			t.Fatalf("%s: %+v %v", st.name, d, err)
		}
		if err := lim.Flags(ctx, dev, st.flags); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRequestsAndShared(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	shared := limit.NewMemoryStore()
	l := limit.Limits{RequestsPerSecond: 1, RequestBurst: 5}
	// Two hub processes share one budget of 60 + 5 requests a minute.
	a, b := newLimiter(t, l, clk, shared), newLimiter(t, l, clk, shared)
	passed := 0
	for range 200 {
		clk.Advance(100 * time.Millisecond)
		for _, lim := range []*limit.Limiter{a, b} {
			d, err := lim.Request(ctx, "T-1")
			if err != nil {
				t.Fatal(err)
			}
			if d.OK {
				passed++
			} else if d.RetryAfterSeconds() < 1 || d.What != "requests" {
				t.Fatalf("refusal %+v", d)
			}
		}
	}
	// 20 s: each process alone allows 5 + 20; shared windows cap the sum
	// of both at 65 per minute.
	if passed > 50 || passed < 40 {
		t.Fatalf("%d requests passed in 20 s", passed)
	}
}

func TestBodiesAndPreAuth(t *testing.T) {
	lim := newLimiter(t, limit.Limits{BodiesPerDevice: 2, Bodies: 3, PreAuth: 1}, clock.NewFake(t0), nil)
	r1, d1 := lim.Body("T-1")
	r2, d2 := lim.Body("T-1")
	_, d3 := lim.Body("T-1")
	if !d1.OK || !d2.OK || d3.OK || d3.What != "bodies" {
		t.Fatalf("per device: %v %v %v", d1, d2, d3)
	}
	r4, d4 := lim.Body("T-2")
	_, d5 := lim.Body("T-3")
	if !d4.OK || d5.OK {
		t.Fatalf("global: %v %v", d4, d5)
	}
	r1()
	r1() // twice is harmless
	if r, d := lim.Body("T-3"); !d.OK {
		t.Fatalf("after a release: %v", d)
	} else {
		r()
	}
	r2()
	r4()
	p, d := lim.PreAuth()
	if _, d2 := lim.PreAuth(); !d.OK || d2.OK {
		t.Fatalf("pre-auth: %v %v", d, d2)
	}
	p()
	if _, d := lim.PreAuth(); !d.OK {
		t.Fatal("pre-auth after release")
	}
}

func TestFailuresPerSource(t *testing.T) {
	clk := clock.NewFake(t0)
	lim := newLimiter(t, limit.Limits{FailuresPerMinute: 6, FailureBurst: 3}, clk, nil)
	for i := range 3 {
		if d := lim.Source("198.51.100.7"); !d.OK {
			t.Fatalf("try %d refused", i)
		}
		lim.Failure("198.51.100.7")
	}
	d := lim.Source("198.51.100.7")
	if d.OK || d.What != "failures" || d.RetryAfter > 10*time.Second {
		t.Fatalf("after 3 failures: %+v", d)
	}
	if d := lim.Source("203.0.113.1"); !d.OK {
		t.Fatal("another source refused")
	}
	clk.Advance(10 * time.Second)
	if d := lim.Source("198.51.100.7"); !d.OK {
		t.Fatalf("after waiting: %+v", d)
	}
}

// TestObjectsHaveTheirOwnBudget: trust-object downloads spend their own
// bucket, so a fresh terminal fetching the whole set leaves its request
// budget whole, and a device over its request quota can still catch up
// on trust data (and the other way round).
func TestObjectsHaveTheirOwnBudget(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	for _, shared := range []limit.Store{nil, limit.NewMemoryStore()} {
		lim := newLimiter(t, limit.Limits{RequestsPerSecond: 1, RequestBurst: 3, ObjectsPerSecond: 10, ObjectBurst: 100}, clk, shared)
		for i := range 100 {
			if d, err := lim.Object(ctx, "T-1"); err != nil || !d.OK {
				t.Fatalf("object %d: %+v %v", i, d, err)
			}
		}
		if d, err := lim.Object(ctx, "T-1"); err != nil || d.OK || d.What != "objects" {
			t.Fatalf("object over the burst: %+v %v", d, err)
		}
		for i := range 3 {
			if d, err := lim.Request(ctx, "T-1"); err != nil || !d.OK {
				t.Fatalf("request %d after the objects: %+v %v", i, d, err)
			}
		}
		if d, err := lim.Request(ctx, "T-1"); err != nil || d.OK || d.What != "requests" {
			t.Fatalf("request over the burst: %+v %v", d, err)
		}
		if d, err := lim.Object(ctx, "T-2"); err != nil || !d.OK {
			t.Fatalf("another device's object: %+v %v", d, err)
		}
		clk.Advance(time.Hour)
	}
}

// TestPushShared: a push's shared takes (flag look, request, records) go
// to the store in one call, in order: a process whose own flag budget is
// whole is still refused while another's pushes spent the shared one,
// and a refused push charges neither its request nor its records.
func TestPushShared(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	shared := limit.NewMemoryStore()
	l := limit.Limits{RequestsPerSecond: 10, RequestBurst: 10, RecordsPerDay: 2400, RecordBurst: 100, FlagsPerDay: 240, FlagBurst: 5}
	a, b, c := newLimiter(t, l, clk, shared), newLimiter(t, l, clk, shared), newLimiter(t, l, clk, shared)
	look := func(key string) int {
		taken, err := shared.TakeWindows(ctx, []limit.Take{{Key: key, Start: t0.Truncate(time.Minute), N: 0, Max: 1 << 30}})
		if err != nil {
			t.Fatal(err)
		}
		return taken[0].Total
	}
	if d, err := push(ctx, a, "T-1", 100); err != nil || !d.OK {
		t.Fatalf("first push: %+v %v", d, err)
	}
	if d, err := push(ctx, b, "T-1", 100); err != nil || !d.OK {
		t.Fatalf("second process: %+v %v", d, err)
	}
	// Shared: 100 an hour plus the burst of 100; a third process's own
	// budget is whole.
	if d, err := push(ctx, c, "T-1", 1); err != nil || d.OK || d.What != "records" {
		t.Fatalf("over the shared records quota: %+v %v", d, err)
	}
	if got := look("records/T-1"); got != 200 {
		t.Fatalf("records window %d, want 200", got)
	}
	if err := a.Flags(ctx, "T-2", 20); err != nil {
		t.Fatal(err)
	}
	d, err := push(ctx, b, "T-2", 1)
	if err != nil || d.OK || d.What != "flags" {
		t.Fatalf("flags spent at the other process: %+v %v", d, err)
	}
	if got := look("records/T-2") + look("requests/T-2"); got != 0 {
		t.Fatalf("a refused push charged %d", got)
	}
	if got := look("requests/T-1"); got != 3 {
		t.Fatalf("requests window %d, want 3 (each push that reached it)", got)
	}
}
