package ui

import (
	"slices"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/scan"
)

// burstWedge assembles a USB scanner's bursts on top of a Wedge (which
// tells a scanner's keys from a person's by their pace), so that a code is
// never split, whatever the machine's load does to the keys' timing:
//
//   - A fast run of keys that starts like an RTC code ("RT", "RTC1:…")
//     and is cut by a pause is a scanner's head: it is held, never typed
//     into the field that has the focus, and joined with what follows
//     within joinWindow. The code ends at its Enter.
//   - A head that nothing continues within joinWindow is a cut code: no
//     text is typed and the officer reads "扫描不完整，请重扫" (onCut).
//   - A code that does not start with "RTC" continues the text typed into
//     a field just before it, when together they start with "RTC": that
//     text is taken back out of the field and the whole is the code.
//     Otherwise it is not verified: a long run of Base45 characters is
//     reported cut (the tail of a code), anything else is handed on (and
//     shown as "not an RTC code").
//   - The gap that separates a scanner's keys from a person's adapts to
//     the scanner: it is learnt from the codes seen (2.5 × the 90th
//     percentile of their key intervals, 35–100 ms).
//
// Every key reaches its field or a code; the only keys dropped are those
// of a cut code, which is reported. It runs on fyne's goroutine.
type burstWedge struct {
	inner Wedge
	gap   time.Duration
	onCut func(text string)
	// target reports the field keys are typed into now (the key router's).
	target func() *wedgeEntry

	// keys fed to inner and not yet returned in an item, with their times.
	queue []timedKey
	// head is a held scanner fragment (nil: none), last its latest key.
	head []rune
	last time.Time
	// typed is the text last handed on as typed, and where.
	typed      string
	typedAt    time.Time
	typedField *wedgeEntry
	// intervals are key intervals of recent codes (for the gap).
	intervals []time.Duration
	// cutAt is when a cut code was last reported (its rest may follow).
	cutAt time.Time
}

type timedKey struct {
	at time.Time
}

// joinWindow is the longest pause between two fragments of one code (a
// busy tablet can hold keys back for a second); tailWindow how long after
// a cut code what follows is taken for its rest.
const (
	joinWindow = 1500 * time.Millisecond
	tailWindow = 3 * time.Second
)

// Bounds of the learnt gap.
const (
	minBurstGap = scan.DefaultWedgeGap
	maxBurstGap = 100 * time.Millisecond
)

func newBurstWedge(inner Wedge, onCut func(string)) *burstWedge {
	return &burstWedge{inner: inner, gap: scan.DefaultWedgeGap, onCut: onCut}
}

// Feed implements Wedge.
func (w *burstWedge) Feed(ev scan.KeyEvent) []scan.WedgeItem {
	w.queue = append(w.queue, timedKey{at: ev.Time})
	return w.process(w.inner.Feed(ev), ev.Time)
}

// Flush implements Wedge: it also ends a held head whose join window has
// passed (a cut code).
func (w *burstWedge) Flush(now time.Time) []scan.WedgeItem {
	out := w.process(w.inner.Flush(now), now)
	if w.head != nil && now.Sub(w.last) > joinWindow {
		w.cut()
	}
	return out
}

// Pending implements Wedge: the keys held by the inner wedge and the head.
func (w *burstWedge) Pending() int { return w.inner.Pending() + len(w.head) }

// reset drops a held head (扫描下一个 clears leftovers).
func (w *burstWedge) reset() {
	w.head = nil
	w.typed = ""
}

func (w *burstWedge) cut() {
	text := string(w.head)
	w.head = nil
	w.cutAt = w.last
	if w.onCut != nil {
		w.onCut(text)
	}
}

// take removes the times of n keys from the queue.
func (w *burstWedge) take(n int) []time.Time {
	n = min(n, len(w.queue))
	ts := make([]time.Time, n)
	for i := range n {
		ts[i] = w.queue[i].at
	}
	w.queue = w.queue[n:]
	return ts
}

// fast reports whether keys at ts follow each other within the gap.
func (w *burstWedge) fast(ts []time.Time) bool {
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d < 0 || d > w.gap {
			return false
		}
	}
	return true
}

// headLike reports whether s can be the start of an RTC code.
func headLike(s string) bool {
	u := strings.ToUpper(s)
	return len([]rune(s)) >= 2 && (strings.HasPrefix(u, "RTC") || strings.HasPrefix("RTC", u))
}

// tailLike reports whether s looks like the middle or end of an RTC1 text:
// a long run of Base45 characters.
func tailLike(s string) bool {
	if len(s) < 16 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || strings.ContainsRune(" $%*+-./:", r)) {
			return false
		}
	}
	return true
}

// process post-processes the inner wedge's items.
func (w *burstWedge) process(items []scan.WedgeItem, now time.Time) []scan.WedgeItem {
	var out []scan.WedgeItem
	for _, it := range items {
		n := len([]rune(it.Text))
		if it.Code {
			n++ // its Enter
		}
		ts := w.take(n)
		first := now
		if len(ts) > 0 {
			first = ts[0]
		}
		if !it.Code && w.head != nil && first.Sub(w.last) <= joinWindow && w.fast(ts) {
			// A fragment continuing the held head.
			text, rest, ended := strings.Cut(it.Text, "\n")
			w.head = append(w.head, []rune(text)...)
			w.last = lastOr(ts, now)
			if ended {
				out = append(out, w.code(string(w.head), nil))
				w.head = nil
				if rest != "" {
					out = append(out, w.typedItem(rest, now))
				}
			}
			continue
		}
		if w.head != nil && (it.Code && first.Sub(w.last) <= joinWindow) {
			text := string(w.head) + it.Text
			w.head = nil
			out = append(out, w.code(text, ts))
			continue
		}
		if w.head != nil {
			w.cut() // what follows is not its continuation
		}
		switch {
		case !it.Code && w.fast(ts) && headLike(it.Text) && !strings.Contains(it.Text, "\n"):
			w.head = []rune(it.Text)
			w.last = lastOr(ts, now)
		case it.Code && !isRTCText(it.Text):
			if joined, ok := w.joinTyped(it.Text, first); ok {
				out = append(out, w.code(joined, ts))
			} else if !w.cutAt.IsZero() && first.Sub(w.cutAt) <= tailWindow {
				// The rest of the code just reported cut: already told.
				w.cutAt = lastOr(ts, now)
			} else if tailLike(it.Text) {
				w.cutAt = lastOr(ts, now)
				if w.onCut != nil {
					w.onCut(it.Text)
				}
			} else {
				out = append(out, it)
			}
		case it.Code:
			out = append(out, w.code(it.Text, ts))
		default:
			out = append(out, w.typedItem(it.Text, lastOr(ts, now)))
		}
	}
	return out
}

func lastOr(ts []time.Time, t time.Time) time.Time {
	if len(ts) > 0 {
		return ts[len(ts)-1]
	}
	return t
}

// typedItem hands text on as typed, remembering it and its field.
func (w *burstWedge) typedItem(text string, at time.Time) scan.WedgeItem {
	w.typed, w.typedAt = text, at
	w.typedField = nil
	if w.target != nil {
		w.typedField = w.target()
	}
	return scan.WedgeItem{Text: text}
}

// joinTyped joins code (not starting with "RTC") to the text typed just
// before it when together they start an RTC code, taking that text back
// out of its field.
func (w *burstWedge) joinTyped(code string, at time.Time) (string, bool) {
	if w.typed == "" || at.Sub(w.typedAt) > joinWindow {
		return "", false
	}
	s := []rune(w.typed)
	for p := len(s) - 1; p >= 0 && p >= len(s)-64; p-- {
		headText := string(s[p:])
		if !isRTCText(headText + code) {
			continue
		}
		if f := w.typedField; f != nil {
			if !strings.HasSuffix(f.Text, headText) {
				return "", false
			}
			f.SetText(strings.TrimSuffix(f.Text, headText))
		}
		w.typed = ""
		return headText + code, true
	}
	return "", false
}

// code returns a code item and learns the scanner's pace from its keys.
func (w *burstWedge) code(text string, ts []time.Time) scan.WedgeItem {
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d >= 0 && d <= maxBurstGap {
			w.intervals = append(w.intervals, d)
		}
	}
	if len(w.intervals) > 512 {
		w.intervals = w.intervals[len(w.intervals)-512:]
	}
	w.learn()
	w.typed = ""
	return scan.WedgeItem{Code: true, Text: text}
}

// learn sets the gap from the intervals seen (and the inner wedge's, when
// it is a scan.Wedge with nothing held).
func (w *burstWedge) learn() {
	if len(w.intervals) < 32 {
		return
	}
	s := slices.Clone(w.intervals)
	slices.Sort(s)
	p90 := s[len(s)*9/10]
	gap := min(max(p90*5/2, minBurstGap), maxBurstGap)
	if d := gap - w.gap; d > -5*time.Millisecond && d < 5*time.Millisecond {
		return
	}
	if _, ok := w.inner.(*scan.Wedge); ok && w.inner.Pending() == 0 {
		w.inner = scan.NewWedge(scan.WedgeOptions{MaxGap: gap})
		w.gap = gap
	}
}
