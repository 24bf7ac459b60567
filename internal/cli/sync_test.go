package cli

import (
	"bytes"
	"context"
	"fmt"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd/hubcmdtest"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
)

// sleepingClock is a fake clock that also waits, by advancing itself: the
// sleeper rcctl sync uses for its retry pauses.
type sleepingClock struct {
	*clock.Fake
	mu    sync.Mutex
	waits []time.Duration
}

func (c *sleepingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	c.Advance(d)
	return ctx.Err()
}

// TestSyncRetryProgress: while the hub cannot be reached (or is busy),
// rcctl sync says on stderr which retry it waits for and how long, one
// line per pause it makes; with --retries 0 it says nothing of retries.
func TestSyncRetryProgress(t *testing.T) {
	h := startHub(t, nil)
	_, db, _ := enrolled(t, h)
	appendDirect(t, db, 1)
	down := hubcmdtest.Dead(t)
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(busy.Close)
	tests := []struct {
		name     string
		args     []string
		wantWhy  string
		wantN    int
		wantCode int
		wantErr  string
	}{
		// The record remains pending: exit 1.
		{name: "unreachable, default retries", args: []string{"--hub", down}, wantWhy: "hub unreachable", wantN: 6, wantCode: ExitPartial, wantErr: "cannot be reached"},
		{name: "busy", args: []string{"--hub", busy.URL, "--retries", "2"}, wantWhy: "hub busy (HTTP 503)", wantN: 2, wantCode: ExitPartial, wantErr: "cannot be reached"},
		{name: "no retries", args: []string{"--hub", down, "--retries", "0"}, wantN: 0, wantCode: ExitPartial, wantErr: "cannot be reached"},
		{name: "hub answers", wantN: 0, wantCode: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &sleepingClock{Fake: clock.NewFake(demo.ReferenceTime)}
			var out, errb bytes.Buffer
			env := &Env{Stdin: strings.NewReader(testPIN + "\n"), Stdout: &out, Stderr: &errb, Clock: clk, PINIterations: testIterations}
			code := Main(context.Background(), env, append([]string{"--db", db, "sync", "--officer", "1001", "--pin-stdin"}, tt.args...))
			if code != tt.wantCode || !strings.Contains(errb.String(), tt.wantErr) {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", code, tt.wantCode, out.String(), errb.String())
			}
			var progress []string
			for _, l := range strings.Split(errb.String(), "\n") {
				if strings.Contains(l, ", retry ") {
					progress = append(progress, l)
				}
			}
			if len(progress) != tt.wantN || len(clk.waits) != tt.wantN {
				t.Fatalf("%d progress lines, %d pauses, want %d: %q", len(progress), len(clk.waits), tt.wantN, errb.String())
			}
			var total time.Duration
			for i, l := range progress {
				want := fmt.Sprintf("rcctl: %s, retry %d/%d in %s…", tt.wantWhy, i+1, tt.wantN, roundWait(clk.waits[i]))
				if l != want {
					t.Fatalf("progress line %d = %q, want %q", i+1, l, want)
				}
				total += clk.waits[i]
			}
			// The pauses were made on the injected clock, none on a timer.
			if got := clk.Now().Sub(demo.ReferenceTime); got != total {
				t.Fatalf("the clock moved %v, the pauses add up to %v", got, total)
			}
		})
	}
	if p := listJSON(t, db, "--pending"); len(p) != 0 {
		t.Fatalf("still pending after the hub answered: %v", p)
	}
}

func TestRoundWait(t *testing.T) {
	tests := []struct {
		d, want time.Duration
	}{
		{d: 1372 * time.Millisecond, want: 1400 * time.Millisecond},
		{d: 30 * time.Second, want: 30 * time.Second},
		{d: 250*time.Millisecond + 400*time.Microsecond, want: 250 * time.Millisecond},
		{d: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := roundWait(tt.d); got != tt.want {
				t.Fatalf("roundWait(%v) = %v, want %v", tt.d, got, tt.want)
			}
		})
	}
}
