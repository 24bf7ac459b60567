package syncclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// busyHub stands in front of a real hub: it answers the first busy pushes
// with its status and Retry-After itself and passes everything else on.
// It notes the (fake) time at which each push arrives.
type busyHub struct {
	next   http.Handler
	clk    clock.Clock
	status int
	after  func(now time.Time) string // the Retry-After value

	mu       sync.Mutex
	busy     int
	arrivals []time.Time
}

func (b *busyHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/v1/records" {
		b.mu.Lock()
		b.arrivals = append(b.arrivals, b.clk.Now())
		refuse := b.busy > 0
		if refuse {
			b.busy--
		}
		b.mu.Unlock()
		if refuse {
			w.Header().Set("Retry-After", b.after(b.clk.Now()))
			w.WriteHeader(b.status)
			return
		}
	}
	b.next.ServeHTTP(w, r)
}

func (b *busyHub) pushArrivals() []time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Time(nil), b.arrivals...)
}

// fakeSleeper advances the fake clock instead of waiting and notes each
// wait it was asked for.
type fakeSleeper struct {
	clk *clock.Fake

	mu    sync.Mutex
	waits []time.Duration
}

func (s *fakeSleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	s.clk.Advance(d)
	return ctx.Err()
}

func (s *fakeSleeper) asked() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// TestRetryAfterHonoured: a hub that answers 503 (or 429) with Retry-After
// is asked again only after the delay it gave — longer than the client's
// own backoff cap — measured on the injected clock, and the record then
// arrives once.
func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name   string
		status int
		busy   int
		after  func(now time.Time) string
		want   time.Duration // the wait before each retry
	}{
		{name: "503 Retry-After 1 second", status: http.StatusServiceUnavailable, busy: 1,
			after: func(time.Time) string { return "1" }, want: time.Second},
		{name: "429 Retry-After 2 seconds twice", status: http.StatusTooManyRequests, busy: 2,
			after: func(time.Time) string { return "2" }, want: 2 * time.Second},
		{name: "503 Retry-After as an HTTP date of the hub's clock", status: http.StatusServiceUnavailable, busy: 1,
			after: func(now time.Time) string { return now.Add(3 * time.Second).UTC().Format(http.TimeFormat) }, want: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			h := startHub(t, storage.Options{NoSync: true}, clk)
			busy := &busyHub{next: h.srv, clk: clk, status: tt.status, after: tt.after, busy: tt.busy}
			front := httptest.NewServer(busy)
			t.Cleanup(front.Close)
			tm := newTerminal(t, storage.Options{NoSync: true}, clk)
			tm.enroll(t, h, front.URL)
			ids := tm.appendN(t, 3, nil)
			sl := &fakeSleeper{clk: clk}
			// The client's own backoff is capped at 20 ms: only the hub's
			// Retry-After can make it wait longer.
			c := tm.client(t, func(cfg *syncclient.Config) { cfg.Sleep = sl.Sleep })
			rep, err := c.Push(context.Background())
			if err != nil || rep.Accepted != 3 || rep.Remaining != 0 {
				t.Fatalf("push: %+v %v", rep, err)
			}
			waits := sl.asked()
			if len(waits) != tt.busy {
				t.Fatalf("waits %v, want %d of %v", waits, tt.busy, tt.want)
			}
			for _, w := range waits {
				if w != tt.want {
					t.Fatalf("waited %v, want %v (the hub's Retry-After)", w, tt.want)
				}
			}
			arr := busy.pushArrivals()
			if len(arr) != tt.busy+1 {
				t.Fatalf("%d push attempts, want %d", len(arr), tt.busy+1)
			}
			for i := 1; i < len(arr); i++ {
				if gap := arr[i].Sub(arr[i-1]); gap < tt.want {
					t.Fatalf("attempt %d sent %v after the refusal, before the %v the hub asked for", i+1, gap, tt.want)
				}
			}
			checkHubHolds(t, h.store, tm.rec.DeviceID(), ids)
		})
	}
}

// TestRetryAfterCancelled: a context that ends during the hub's
// Retry-After ends the push at once; the records stay pending.
func TestRetryAfterCancelled(t *testing.T) {
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	busy := &busyHub{next: h.srv, clk: clk, status: http.StatusServiceUnavailable, busy: 100,
		after: func(time.Time) string { return "600" }}
	front := httptest.NewServer(busy)
	t.Cleanup(front.Close)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, front.URL)
	tm.appendN(t, 2, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var asked []time.Duration
	c := tm.client(t, func(cfg *syncclient.Config) {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			asked = append(asked, d)
			cancel() // the officer closes the app while the client waits
			return ctx.Err()
		}
	})
	rep, err := c.Push(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rep.Remaining != 2 || len(asked) != 1 || asked[0] != syncclient.MaxRetryAfter {
		t.Fatalf("remaining %d, waits %v (want one of %v, the capped Retry-After)", rep.Remaining, asked, syncclient.MaxRetryAfter)
	}
	if n := len(busy.pushArrivals()); n != 1 {
		t.Fatalf("%d push attempts, want 1", n)
	}
}
