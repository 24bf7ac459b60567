package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/scan"
)

// feedBurst feeds text as a scanner would, a key every gap, then Enter.
func feedBurst(w *burstWedge, at time.Time, text string, gap time.Duration) ([]scan.WedgeItem, time.Time) {
	var out []scan.WedgeItem
	for _, r := range text {
		at = at.Add(gap)
		out = append(out, w.Feed(scan.KeyEvent{Rune: r, Time: at})...)
	}
	at = at.Add(gap)
	out = append(out, w.Feed(scan.KeyEvent{Enter: true, Time: at})...)
	return out, at
}

// The gap adapts to a slow scanner: after a few of its codes, keys 40 ms
// apart (beyond the default 35 ms) still make one code.
func TestBurstGapLearnt(t *testing.T) {
	var cuts []string
	w := newBurstWedge(scan.NewWedge(scan.WedgeOptions{}), func(s string) { cuts = append(cuts, s) })
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	code := "RTC1:" + strings.Repeat("ABCD1234", 8)
	for i := range 3 {
		items, end := feedBurst(w, at, code, 30*time.Millisecond)
		if len(items) != 1 || !items[0].Code || items[0].Text != code {
			t.Fatalf("code %d at 30 ms a key: %+v", i, items)
		}
		at = end.Add(5 * time.Second)
	}
	if w.gap <= scan.DefaultWedgeGap || w.gap > maxBurstGap {
		t.Fatalf("gap %v after codes at 30 ms a key", w.gap)
	}
	items, _ := feedBurst(w, at, code, 40*time.Millisecond)
	if len(items) != 1 || !items[0].Code || items[0].Text != code || len(cuts) != 0 {
		t.Errorf("code at 40 ms a key after learning: %+v, cuts %q", items, cuts)
	}
}

// A person typing "RT…" slowly is not held as a scanner's head.
func TestBurstPersonTypingRT(t *testing.T) {
	w := newBurstWedge(scan.NewWedge(scan.WedgeOptions{}), func(string) { t.Error("a person's typing reported as a cut scan") })
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var typed strings.Builder
	for _, r := range "RTC1 test" {
		at = at.Add(180 * time.Millisecond)
		for _, it := range w.Feed(scan.KeyEvent{Rune: r, Time: at}) {
			typed.WriteString(it.Text)
		}
	}
	for _, it := range w.Flush(at.Add(time.Second)) {
		typed.WriteString(it.Text)
	}
	if typed.String() != "RTC1 test" || w.Pending() != 0 {
		t.Errorf("typed %q, %d held", typed.String(), w.Pending())
	}
}
