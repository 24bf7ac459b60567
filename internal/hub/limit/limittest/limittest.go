// Package limittest is the shared test suite every limit.Store
// implementation must pass: run it from the implementation's tests with Run.
package limittest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/limit"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// Run runs the suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) limit.Store) {
	t.Run("Windows", func(t *testing.T) { testWindows(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open(t)) })
}

func testWindows(t *testing.T, s limit.Store) {
	ctx := context.Background()
	w1, w2 := t0, t0.Add(time.Hour)
	tests := []struct {
		name      string
		key       string
		start     time.Time
		n, max    int
		wantOK    bool
		wantTotal int
	}{
		{name: "first", key: "records/T-1", start: w1, n: 600, max: 1000, wantOK: true, wantTotal: 600},
		{name: "fits exactly", key: "records/T-1", start: w1, n: 400, max: 1000, wantOK: true, wantTotal: 1000},
		{name: "over", key: "records/T-1", start: w1, n: 1, max: 1000, wantOK: false, wantTotal: 1000},
		{name: "another key", key: "records/T-2", start: w1, n: 1, max: 1000, wantOK: true, wantTotal: 1},
		{name: "next window", key: "records/T-1", start: w2, n: 5, max: 1000, wantOK: true, wantTotal: 5},
		{name: "too big alone", key: "flags/T-1", start: w1, n: 11, max: 10, wantOK: false, wantTotal: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, total, err := s.TakeWindow(ctx, tt.key, tt.start, tt.n, tt.max)
			if err != nil || ok != tt.wantOK || total != tt.wantTotal {
				t.Fatalf("ok %v total %d err %v; want %v %d", ok, total, err, tt.wantOK, tt.wantTotal)
			}
		})
	}
}

// testConcurrent: 8 writers take 1 at a time from a window of 100: exactly
// 100 succeed.
func testConcurrent(t *testing.T, s limit.Store) {
	ctx := context.Background()
	var mu sync.Mutex
	took := 0
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				ok, _, err := s.TakeWindow(ctx, "requests/T-C", t0, 1, 100)
				if err != nil {
					t.Error(fmt.Errorf("writer %d: %w", w, err))
					return
				}
				if ok {
					mu.Lock()
					took++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if took != 100 {
		t.Fatalf("%d charges passed a window of 100", took)
	}
}
