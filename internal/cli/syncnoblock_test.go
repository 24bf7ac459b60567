package cli

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
)

// gatedClock is a fake clock whose Sleep (the retry pauses of rcctl sync)
// reports that a pause began, then waits until the test opens the gate.
type gatedClock struct {
	*clock.Fake
	pausing chan struct{} // closed at the first pause
	once    sync.Once
	gate    chan struct{}
}

func (c *gatedClock) Sleep(ctx context.Context, d time.Duration) error {
	c.once.Do(func() { close(c.pausing) })
	select {
	case <-c.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.Advance(d)
	return nil
}

// TestSyncNeverBlocksChecks: while rcctl sync waits out a hub's 503
// Retry-After, rcctl verify and rcctl record add on the same --db succeed
// (the sync holds no database lock while it waits), and the record added
// meanwhile is delivered by the same sync once the hub answers.
func TestSyncNeverBlocksChecks(t *testing.T) {
	var busy atomic.Bool
	busy.Store(true)
	h := startHub(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if busy.Load() && r.Method == http.MethodPost && r.URL.Path == "/v1/records" {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	dir, db, _ := enrolled(t, h)
	appendDirect(t, db, 1)

	clk := &gatedClock{Fake: clock.NewFake(demo.ReferenceTime), pausing: make(chan struct{}), gate: make(chan struct{})}
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		env := &Env{Stdin: strings.NewReader(testPIN + "\n"), Stdout: &out, Stderr: &errb, Clock: clk, PINIterations: testIterations}
		done <- Main(context.Background(), env, []string{"--db", db, "sync", "--officer", "1001", "--pin-stdin"})
	}()
	select {
	case <-clk.pausing:
	case code := <-done:
		t.Fatalf("sync ended (%d) without pausing: %s %s", code, out.String(), errb.String())
	}

	// The sync is in its retry pause: checks go on.
	if r := run(t, "", "--db", db, "verify", readCode(t, dir, "valid-vehicle")); r.code != ExitOK {
		t.Fatalf("verify during the sync's pause: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, "valid-vehicle"), "--action", "放行", "--officer", "1001"); r.code != ExitOK {
		t.Fatalf("record add during the sync's pause: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}

	busy.Store(false)
	close(clk.gate)
	if code := <-done; code != ExitOK || !strings.Contains(out.String(), "records: 2 delivered") {
		t.Fatalf("sync: exit %d: %q %q", code, out.String(), errb.String())
	}
	if p := listJSON(t, db, "--pending"); len(p) != 0 {
		t.Fatalf("still pending: %v", p)
	}
}
