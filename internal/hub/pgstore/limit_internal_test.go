package pgstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/limit"
)

// TestSettle: an admission's takes pass in order and stop at the first
// refused; a charge made past a refused take (another hub charged the
// refused take's window between the round's snapshot and its write) is
// given back and reported not reached.
func TestSettle(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	look := limit.Take{Key: "flags/T", Start: t0, N: 0, Max: 10}
	req := limit.Take{Key: "requests/T", Start: t0, N: 1, Max: 5}
	recs := limit.Take{Key: "records/T", Start: t0, N: 3, Max: 50}
	v := func(n int32) *int32 { return &n }
	tests := []struct {
		name     string
		got      map[string]takeAnswer
		want     []limit.Taken
		wantBack []limit.Take
	}{
		{name: "all pass", got: map[string]takeAnswer{"flags/T": {cur: v(2)}, "requests/T": {took: v(1)}, "records/T": {took: v(3)}},
			want: []limit.Taken{{OK: true, Total: 2}, {OK: true, Total: 1}, {OK: true, Total: 3}}},
		{name: "a look over its quota: nothing else tried", got: map[string]takeAnswer{"flags/T": {cur: v(11)}},
			want: []limit.Taken{{Total: 11}, {}, {}}},
		{name: "the last refused", got: map[string]takeAnswer{"flags/T": {cur: v(0)}, "requests/T": {took: v(2)}, "records/T": {cur: v(49)}},
			want: []limit.Taken{{OK: true}, {OK: true, Total: 2}, {Total: 49}}},
		{name: "raced: charged past a refused take, given back", got: map[string]takeAnswer{"flags/T": {cur: v(0)}, "requests/T": {cur: v(4)}, "records/T": {took: v(3)}},
			want: []limit.Taken{{OK: true}, {Total: 4}, {}}, wantBack: []limit.Take{recs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, back := settle([]limit.Take{look, req, recs}, tt.got)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || fmt.Sprint(back) != fmt.Sprint(tt.wantBack) {
				t.Fatalf("settle: %v, give back %v; want %v, %v", got, back, tt.want, tt.wantBack)
			}
		})
	}
}
