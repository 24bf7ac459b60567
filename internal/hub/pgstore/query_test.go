package pgstore_test

import (
	"context"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub"
)

// TestQueryAcrossDays: pages of one filter whose range spans several days
// (read in windows of days) and of ranges without a
// start or an end hold every record of the range once, in id order, for
// every page size, whether the range's days have partitions or not (the
// default partition).
func TestQueryAcrossDays(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	s, _ := openEnrolled(t, "T-DAYS", t0)
	rng := mrand.New(mrand.NewPCG(7, 8))
	// Days 26 to 28 have partitions (newURL); 20 December does not.
	var walls []time.Time
	for _, day := range []time.Time{t0, t0.AddDate(0, 0, 1), t0.AddDate(0, 0, 2), time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)} {
		for range 40 {
			walls = append(walls, day.Add(time.Duration(rng.Int64N(int64(24*time.Hour)))).Truncate(time.Millisecond))
		}
	}
	walls = append(walls, t0.AddDate(0, 0, 1), t0.AddDate(0, 0, 2).Add(-time.Millisecond)) // the edges of a day
	slices.SortFunc(walls, func(a, b time.Time) int { return a.Compare(b) })
	walls = slices.Compact(walls)
	err := s.Ingest(ctx, "T-DAYS", func(tx hub.IngestTx) error {
		for i, w := range walls {
			if err := putAt(tx, "T-DAYS", uint64(i+1), w, "VALID"); err != nil {
				return err
			}
		}
		return tx.SetChain(uint64(len(walls)+1), [32]byte{1}, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
	}{
		{"days", t0.Add(12 * time.Hour), t0.AddDate(0, 0, 2).Add(20 * time.Hour)},
		{"one day", t0.AddDate(0, 0, 1), t0.AddDate(0, 0, 2).Add(-time.Millisecond)},
		{"from a day's last instant", t0.AddDate(0, 0, 2).Add(-time.Millisecond), t0.AddDate(0, 0, 3)},
		{"no start", time.Time{}, t0.AddDate(0, 0, 1).Add(6 * time.Hour)},
		{"no end", t0.AddDate(0, 0, 2).Add(3 * time.Hour), time.Time{}},
		{"everything", time.Time{}, time.Time{}},
		{"into the default partition", t0.AddDate(0, 0, 1), time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)},
	} {
		var want []time.Time
		for _, w := range walls {
			if (tc.from.IsZero() || !w.Before(tc.from)) && (tc.to.IsZero() || !w.After(tc.to)) {
				want = append(want, w)
			}
		}
		for _, device := range []string{"", "T-DAYS"} {
			for _, limit := range []int{1, 7, 40, 1000} {
				q := hub.RecordQuery{From: tc.from, To: tc.to, Device: device, Limit: limit}
				var got []time.Time
				for pages := 0; ; pages++ {
					page, err := s.QueryRecords(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if len(page.Records) > limit || pages > len(walls) {
						t.Fatalf("%s, device %q, limit %d: page of %d records", tc.name, device, limit, len(page.Records))
					}
					for _, r := range page.Records {
						got = append(got, r.Wall)
					}
					if !page.More {
						break
					}
					q.After = page.Next
				}
				if !slices.EqualFunc(got, want, time.Time.Equal) {
					t.Errorf("%s, device %q, limit %d: %d records, want %d\ngot  %v\nwant %v", tc.name, device, limit, len(got), len(want), got, want)
				}
			}
		}
	}
}
