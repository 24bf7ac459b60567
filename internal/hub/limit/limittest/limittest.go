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
	t.Run("InOrder", func(t *testing.T) { testInOrder(t, open(t)) })
}

// take applies one take.
func take(ctx context.Context, s limit.Store, key string, start time.Time, n, max int) (bool, int, error) {
	taken, err := s.TakeWindows(ctx, []limit.Take{{Key: key, Start: start, N: n, Max: max}})
	if err != nil {
		return false, 0, err
	}
	if len(taken) != 1 {
		return false, 0, fmt.Errorf("%d outcomes of 1 take", len(taken))
	}
	return taken[0].OK, taken[0].Total, nil
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
			ok, total, err := take(ctx, s, tt.key, tt.start, tt.n, tt.max)
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
				ok, _, err := take(ctx, s, "requests/T-C", t0, 1, 100)
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

// testInOrder: the takes of one call apply in order and stop at the first
// refused (a charge over its quota, or a look at a window over it); those
// after it neither apply nor report.
func testInOrder(t *testing.T, s limit.Store) {
	ctx := context.Background()
	look := limit.Take{Key: "flags/T-O", Start: t0, N: 0, Max: 10}
	req := limit.Take{Key: "requests/T-O", Start: t0, N: 1, Max: 5}
	recs := func(n int) limit.Take { return limit.Take{Key: "records/T-O", Start: t0, N: n, Max: 50} }
	steps := []struct {
		name  string
		takes []limit.Take
		want  []limit.Taken
	}{
		{name: "all pass", takes: []limit.Take{look, req, recs(40)},
			want: []limit.Taken{{OK: true, Total: 0}, {OK: true, Total: 1}, {OK: true, Total: 40}}},
		{name: "the last refused", takes: []limit.Take{look, req, recs(20)},
			want: []limit.Taken{{OK: true, Total: 0}, {OK: true, Total: 2}, {OK: false, Total: 40}}},
		{name: "the first refused: nothing else applies", takes: []limit.Take{recs(11), req},
			want: []limit.Taken{{OK: false, Total: 40}, {}}},
		{name: "flags charged after the fact", takes: []limit.Take{{Key: "flags/T-O", Start: t0, N: 11, Max: 1 << 30}},
			want: []limit.Taken{{OK: true, Total: 11}}},
		{name: "a look over its quota stops the rest", takes: []limit.Take{look, req, recs(1)},
			want: []limit.Taken{{OK: false, Total: 11}, {}, {}}},
		{name: "the request count is as the calls left it", takes: []limit.Take{{Key: "requests/T-O", Start: t0, N: 0, Max: 5}},
			want: []limit.Taken{{OK: true, Total: 2}}},
	}
	for _, st := range steps {
		got, err := s.TakeWindows(ctx, st.takes)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Fatalf("%s: %v, want %v", st.name, got, st.want)
		}
	}
}
