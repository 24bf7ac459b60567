package pgstore

import (
	"slices"
	"testing"
	"time"
)

// TestWindows: a page's range is read from its first UTC day (from the
// later of from and the page token) in windows of 1, 1, 2, 4… days; one
// window when the range has no start or holds one day; the last window
// ends with the range, or holds the rest of a range without an end once
// the windows reach maxWindowDays.
func TestWindows(t *testing.T) {
	d0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	day := func(n int) int64 { return d0.AddDate(0, 0, n).UnixMilli() }
	var after [16]byte
	copy(after[:], func() []byte { k := ulidAt(day(3) + 5000); return k[:] }())
	for _, tc := range []struct {
		name     string
		from, to time.Time
		after    [16]byte
		want     []window
	}{
		{"no start", time.Time{}, d0.AddDate(0, 0, 30), [16]byte{}, []window{{}}},
		{"one day", d0.Add(time.Hour), d0.AddDate(0, 0, 1).Add(-time.Millisecond), [16]byte{}, []window{{}}},
		{"two days", d0.Add(time.Hour), d0.AddDate(0, 0, 1), [16]byte{}, []window{{hi: day(1)}, {lo: day(1)}}},
		{"a month", d0, d0.AddDate(0, 0, 30).Add(-time.Millisecond), [16]byte{}, []window{
			{hi: day(1)}, {lo: day(1), hi: day(2)}, {lo: day(2), hi: day(4)}, {lo: day(4), hi: day(8)},
			{lo: day(8), hi: day(16)}, {lo: day(16)}}},
		{"a month from a page token", d0, d0.AddDate(0, 0, 30).Add(-time.Millisecond), after, []window{
			{hi: day(4)}, {lo: day(4), hi: day(5)}, {lo: day(5), hi: day(7)}, {lo: day(7), hi: day(11)},
			{lo: day(11), hi: day(19)}, {lo: day(19)}}},
		{"a page token before from", d0.AddDate(0, 0, 5), d0.AddDate(0, 0, 7), after, []window{
			{hi: day(6)}, {lo: day(6), hi: day(7)}, {lo: day(7)}}},
		{"no end", d0, time.Time{}, [16]byte{}, []window{
			{hi: day(1)}, {lo: day(1), hi: day(2)}, {lo: day(2), hi: day(4)}, {lo: day(4), hi: day(8)},
			{lo: day(8), hi: day(16)}, {lo: day(16), hi: day(32)}, {lo: day(32), hi: day(64)}, {lo: day(64)}}},
	} {
		if got := slices.Collect(windows(tc.from, tc.to, tc.after)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: windows\n%+v, want\n%+v", tc.name, got, tc.want)
		}
	}
}
