package syncclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// TestFaultyNetwork pushes records through a proxy that breaks 30 % of the
// requests in every way it can: the hub ends with each record exactly once
// and the chain intact.
func TestFaultyNetwork(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1500
	}
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	proxy := newFaultProxy(t, h.http.Listener.Addr().String(), 0.30, 1)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	ids := tm.appendN(t, n, nil)
	// Batches small enough for every fault kind to strike several times.
	c := tm.client(t, func(cfg *syncclient.Config) { cfg.HubURL, cfg.BatchSize = proxy.URL(), max(n/80, 10) })
	syncUntilDone(t, c)
	t.Log(proxy.report())
	for i, k := range proxy.faultCounts() {
		if k == 0 {
			t.Errorf("fault %s never injected: the test did not exercise it", faultNames[i])
		}
	}
	checkHubHolds(t, h.store, tm.rec.DeviceID(), ids)
	if pend, _ := tm.rec.PendingCount(context.Background()); pend != 0 {
		t.Fatalf("%d still pending", pend)
	}
	st := c.State()
	if !st.Online || st.Pending != 0 || st.LastError != "" || st.FeedSeq != 1 {
		t.Fatalf("state %+v", st)
	}
}

func TestSyncStateAndSubscribe(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	tm.appendN(t, 5, nil)
	c := tm.client(t, nil)
	states, cancel := c.Subscribe()
	defer cancel()
	if s := <-states; s.Pending != 5 || s.Online {
		t.Fatalf("initial state %+v", s)
	}
	rep, err := c.Sync(ctx)
	if err != nil || rep.Push.Accepted != 5 || rep.Pull.FeedSeq != 1 || rep.Pull.Import.Count(0) != 0 {
		t.Fatalf("sync: %+v %v", rep, err)
	}
	if s := <-states; s.Pending != 0 || !s.Online || s.LastSuccess.IsZero() {
		t.Fatalf("state after sync %+v", s)
	}
	// Nothing new: the feed answers 304.
	rep, err = c.Sync(ctx)
	if err != nil || !rep.Pull.NotModified || rep.Push.Batches != 0 {
		t.Fatalf("second sync: %+v %v", rep.Pull, err)
	}
	// The hub goes away: the state says offline, records stay pending.
	h.http.Close()
	tm.appendN(t, 1, nil)
	_, err = c.Sync(ctx)
	if !errors.Is(err, syncclient.ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	if s := c.State(); s.Online || s.Pending != 1 || s.LastError == "" {
		t.Fatalf("offline state %+v", s)
	}
	// The hub time of the last sync is remembered for clock checks.
	st, _ := tm.rec.SyncState(ctx)
	if !st.HubTime.Equal(t0) {
		t.Fatalf("hub time %v", st.HubTime)
	}
}

// TestClockSkewedTerminal: a terminal whose clock is a day behind signs
// with the hub's time after the first refusal, and the clock doubt is
// flagged on its records.
func TestClockSkewedTerminal(t *testing.T) {
	ctx := context.Background()
	hubClk := clock.NewFake(t0)
	termClk := clock.NewFake(t0.Add(-24 * time.Hour))
	h := startHub(t, storage.Options{NoSync: true}, hubClk)
	tm := newTerminal(t, storage.Options{NoSync: true}, termClk)
	tm.enroll(t, h, h.http.URL)
	// Enrolment already told the terminal the hub's time: records are
	// flagged as skewed from the start.
	tm.appendN(t, 3, nil)
	c := tm.client(t, nil)
	if rep, err := c.Sync(ctx); err != nil || rep.Push.Flagged != 3 {
		t.Fatalf("first sync: %+v %v", rep, err)
	}
	if off := c.State().HubClockOffset; off != 24*time.Hour {
		t.Fatalf("offset %v", off)
	}
	// Records after the sync carry the skew; one after a jump back too.
	termClk.Advance(time.Minute)
	r, err := tm.rec.Append(ctx, check(9))
	if err != nil || r.Clock.Flags != records.ClockSkewed {
		t.Fatalf("flags %v %v", r.Clock.Flags, err)
	}
	termClk.Set(t0.Add(-48 * time.Hour))
	r, _ = tm.rec.Append(ctx, check(10))
	if r.Clock.Flags != records.ClockSkewed|records.ClockBackwards {
		t.Fatalf("flags %v", r.Clock.Flags)
	}
	rep, err := c.Sync(ctx)
	if err != nil || rep.Push.Flagged != 2 {
		t.Fatalf("push %+v %v", rep.Push, err)
	}
	flags, _, _ := h.store.Flags(ctx, hubFlagQuery(tm.rec.DeviceID(), wire.FlagKindClock))
	if len(flags) != 5 {
		t.Fatalf("clock flags for supervisors: %+v", flags)
	}
}
