package syncclient_test

import (
	"context"
	"errors"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd/hubcmdtest"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// hangingHub is a hub that takes requests and never answers them (until
// the client hangs up or the test ends). arrived receives one value per
// request.
func hangingHub(t *testing.T) (url string, arrived <-chan struct{}) {
	t.Helper()
	arr := make(chan struct{}, 64)
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the client hanging up
		arr <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close need not wait
	return s.URL, arr
}

// TestFollowsReenrolment: a client made for hub A syncs with hub B once
// the terminal enrolled with B, without Reconfigure (at its next Sync).
func TestFollowsReenrolment(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	a := startHub(t, storage.Options{NoSync: true}, clk)
	b := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, a, a.http.URL)
	first := tm.appendN(t, 2, nil)
	c := tm.client(t, nil)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tm.enroll(t, b, b.http.URL)
	rec, err := tm.rec.Append(ctx, check(7))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Sync(ctx)
	if err != nil || rep.Push.Accepted != 1 || rep.Pull.FeedSeq != 1 {
		t.Fatalf("sync after re-enrolment: %+v %v", rep, err)
	}
	checkHubHolds(t, a.store, tm.rec.DeviceID(), first)
	if n, _ := b.store.CountRecords(ctx, tm.rec.DeviceID()); n != 1 {
		t.Fatalf("hub B holds %d records, want 1 (%s)", n, rec.ID)
	}
}

// TestReconfigure: Reconfigure switches a running client to the new
// enrolment at once, ending a sync that hangs on the old hub, and the
// state shows no error of the old hub.
func TestReconfigure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := clock.NewFake(t0)
	// Hub A takes requests and never answers.
	a, arrived := hangingHub(t)
	aHub := startHub(t, storage.Options{NoSync: true}, clk) // only to enrol: A's address is the hanging server
	b := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, aHub, aHub.http.URL)
	if err := tm.rec.UpdateSyncState(ctx, func(s *records.SyncState) { s.HubURL = a }); err != nil {
		t.Fatal(err)
	}
	tm.appendN(t, 3, nil)
	// No timeout would end the hanging request: only Reconfigure can.
	c := tm.client(t, func(cfg *syncclient.Config) { cfg.Interval, cfg.Timeout = time.Hour, time.Hour })
	states, unsub := c.Subscribe()
	defer unsub()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	<-arrived // a sync hangs on hub A

	tm.enroll(t, b, b.http.URL)
	if err := c.Reconfigure(ctx); err != nil {
		t.Fatal(err)
	}
	for st := range states {
		if st.Online && !st.Syncing && st.Pending == 0 {
			if st.LastErrorKind != syncclient.KindNone || st.LastError != "" || st.FeedSeq != 1 {
				t.Fatalf("state after the switch: %+v", st)
			}
			break
		}
	}
	if n, _ := b.store.CountRecords(ctx, tm.rec.DeviceID()); n != 3 {
		t.Fatalf("hub B holds %d records, want 3", n)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

// TestReconfigureErrors: an enrolment the client cannot follow is
// reported and leaves the client on its hub.
func TestReconfigureErrors(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tests := []struct {
		name    string
		change  func(s *records.SyncState)
		wantErr error
	}{
		{name: "same enrolment", change: func(*records.SyncState) {}},
		{name: "plain http off loopback", change: func(s *records.SyncState) { s.HubURL = "http://192.0.2.1:8443" }, wantErr: syncclient.ErrInsecureHub},
		{name: "https without CA", change: func(s *records.SyncState) { s.HubURL, s.HubCAPEM = "https://127.0.0.1:1", nil }, wantErr: syncclient.ErrBadCA},
		{name: "enrolment gone", change: func(s *records.SyncState) { *s = records.SyncState{} }, wantErr: syncclient.ErrNotEnrolled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTerminal(t, storage.Options{NoSync: true}, clk)
			tm.enroll(t, h, h.http.URL)
			c := tm.client(t, nil)
			if err := tm.rec.UpdateSyncState(ctx, tt.change); err != nil {
				t.Fatal(err)
			}
			if err := c.Reconfigure(ctx); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			// Still on hub h: a push reaches it.
			tm.appendN(t, 1, nil)
			if _, err := c.Push(ctx); err != nil {
				t.Fatalf("push to the old hub: %v", err)
			}
		})
	}
}

// TestOnRetry: each retry is announced with its number, the retries
// allowed, the pause the sleeper is then asked for, and why.
func TestOnRetry(t *testing.T) {
	ctx := context.Background()
	down := hubcmdtest.Dead(t)
	busy := httptest.NewServer(answering(http.StatusServiceUnavailable, ""))
	t.Cleanup(busy.Close)
	tests := []struct {
		name       string
		url        string
		retries    int
		wantStatus int
		wantErr    error
	}{
		{name: "unreachable", url: down, retries: 4, wantErr: syncclient.ErrUnreachable},
		{name: "busy", url: busy.URL, retries: 3, wantStatus: http.StatusServiceUnavailable, wantErr: syncclient.ErrUnreachable},
		{name: "no retries", url: down, retries: -1, wantErr: syncclient.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			tm := newTerminal(t, storage.Options{NoSync: true}, clk)
			tm.appendN(t, 1, nil)
			sl := &fakeSleeper{clk: clk}
			var got []syncclient.Retry
			c := tm.client(t, func(cfg *syncclient.Config) {
				cfg.HubURL, cfg.RetryMax, cfg.Sleep = tt.url, tt.retries, sl.Sleep
				cfg.OnRetry = func(r syncclient.Retry) { got = append(got, r) }
			})
			if _, err := c.Sync(ctx); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			waits := sl.asked()
			if want := max(tt.retries, 0); len(got) != want || len(waits) != want {
				t.Fatalf("%d retries announced, %d pauses, want %d", len(got), len(waits), want)
			}
			for i, r := range got {
				if r.Attempt != i+1 || r.Max != tt.retries || r.Wait != waits[i] || r.Status != tt.wantStatus ||
					(r.Err == nil) != (tt.wantStatus != 0) || r.Method != http.MethodPost || r.Path != "/v1/records" {
					t.Fatalf("retry %d: %+v (pause %v)", i+1, r, waits[i])
				}
			}
			if !clk.Now().Equal(t0.Add(sum(waits))) {
				t.Fatalf("the clock moved %v, the pauses add up to %v", clk.Now().Sub(t0), sum(waits))
			}
		})
	}
}

func sum(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s
}

// TestReconfigureEndsSync: the Sync hanging on the old hub returns
// ErrReconfigured, which is not recorded as the state's error.
func TestReconfigureEndsSync(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	a, arrived := hangingHub(t)
	old := startHub(t, storage.Options{NoSync: true}, clk) // only to enrol: its address is then the hanging hub's
	b := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, old, old.http.URL)
	if err := tm.rec.UpdateSyncState(ctx, func(s *records.SyncState) { s.HubURL = a }); err != nil {
		t.Fatal(err)
	}
	tm.appendN(t, 2, nil)
	c := tm.client(t, func(cfg *syncclient.Config) { cfg.Timeout = time.Hour })
	done := make(chan error, 1)
	go func() { _, err := c.Sync(ctx); done <- err }()
	<-arrived
	tm.enroll(t, b, b.http.URL)
	if err := c.Reconfigure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, syncclient.ErrReconfigured) {
		t.Fatalf("the hanging sync returned %v, want ErrReconfigured", err)
	}
	if st := c.State(); st.LastError != "" || st.LastErrorKind != syncclient.KindNone || st.Pending != 2 {
		t.Fatalf("state %+v", st)
	}
	if rep, err := c.Sync(ctx); err != nil || rep.Push.Accepted != 2 {
		t.Fatalf("sync with the new hub: %+v %v", rep, err)
	}
}
