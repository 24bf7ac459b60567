package scan

import (
	"strings"
	"testing"
	"time"
)

// keys builds events: each rune of s arrives gap after the previous one,
// starting at t0; '\n' is Enter.
func keys(t0 time.Time, gap time.Duration, s string) []KeyEvent {
	var ev []KeyEvent
	at := t0
	for _, r := range s {
		if r == '\n' {
			ev = append(ev, KeyEvent{Enter: true, Time: at})
		} else {
			ev = append(ev, KeyEvent{Rune: r, Time: at})
		}
		at = at.Add(gap)
	}
	return ev
}

// after shifts a key sequence to start d after the end of prev.
func after(prev []KeyEvent, d time.Duration, next []KeyEvent) []KeyEvent {
	start := prev[len(prev)-1].Time.Add(d)
	shift := start.Sub(next[0].Time)
	out := append([]KeyEvent(nil), prev...)
	for _, e := range next {
		e.Time = e.Time.Add(shift)
		out = append(out, e)
	}
	return out
}

// runWedge feeds all events, flushes well after the last, and renders the
// items as "[code]" and "typed" pieces.
func runWedge(w *Wedge, ev []KeyEvent) []string {
	var out []string
	add := func(items []WedgeItem) {
		for _, it := range items {
			if it.Code {
				out = append(out, "["+it.Text+"]")
			} else {
				out = append(out, it.Text)
			}
		}
	}
	for _, e := range ev {
		add(w.Feed(e))
	}
	if len(ev) > 0 {
		add(w.Flush(ev[len(ev)-1].Time.Add(time.Second)))
	}
	return out
}

func TestWedge(t *testing.T) {
	ms := time.Millisecond
	code := "RTC1:NCF%RNMG2FDH.MH8"
	tests := []struct {
		name string
		opts WedgeOptions
		ev   []KeyEvent
		want []string
	}{
		{name: "scanner burst", ev: keys(pinned, 4*ms, code+"\n"), want: []string{"[" + code + "]"}},
		{name: "human typing", ev: keys(pinned, 150*ms, "hello\n"), want: []string{"h", "e", "l", "l", "o", "\n"}},
		{
			name: "typed then scanned",
			ev:   after(keys(pinned, 200*ms, "ab"), 300*ms, keys(pinned, 5*ms, code+"\n")),
			want: []string{"a", "b", "[" + code + "]"},
		},
		{
			name: "scanned then typed",
			ev:   after(keys(pinned, 5*ms, code+"\n"), 500*ms, keys(pinned, 180*ms, "ok\n")),
			want: []string{"[" + code + "]", "o", "k", "\n"},
		},
		{name: "fast but short", ev: keys(pinned, 5*ms, "12345\n"), want: []string{"12345\n"}},
		{name: "exactly min length", ev: keys(pinned, 5*ms, "12345678\n"), want: []string{"[12345678]"}},
		{name: "gap at the limit", ev: keys(pinned, 35*ms, "ABCDEFGHIJ\n"), want: []string{"[ABCDEFGHIJ]"}},
		{name: "gap just over the limit", ev: keys(pinned, 36*ms, "ABCDEFGHIJ\n"), want: []string{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "\n"}},
		{
			name: "slow enter after burst",
			ev:   after(keys(pinned, 5*ms, "ABCDEFGHIJ"), 200*ms, keys(pinned, 0, "\n")),
			want: []string{"ABCDEFGHIJ", "\n"},
		},
		{
			name: "burst without enter flushed",
			ev:   keys(pinned, 5*ms, "ABCDEFGHIJ"),
			want: []string{"ABCDEFGHIJ"},
		},
		{
			name: "hiccup splits a code",
			ev:   after(keys(pinned, 5*ms, "ABCDE"), 80*ms, keys(pinned, 5*ms, "FGHIJKLMN\n")),
			want: []string{"ABCDE", "[FGHIJKLMN]"},
		},
		{
			name: "two codes back to back",
			ev:   after(keys(pinned, 3*ms, "CODEONE1\n"), 3*ms, keys(pinned, 3*ms, "CODETWO2\n")),
			want: []string{"[CODEONE1]", "[CODETWO2]"},
		},
		{name: "control key breaks a burst", ev: keys(pinned, 3*ms, "ABCD\tEFGHIJKL\n"), want: []string{"ABCD\t", "[EFGHIJKL]"}},
		{name: "carriage return is enter", ev: keys(pinned, 3*ms, "ABCDEFGH\r"), want: []string{"[ABCDEFGH]"}},
		{name: "lone enter", ev: keys(pinned, 0, "\n"), want: []string{"\n"}},
		{name: "custom limits", opts: WedgeOptions{MaxGap: 100 * ms, MinLen: 3}, ev: keys(pinned, 90*ms, "abc\n"), want: []string{"[abc]"}},
		{
			name: "clock going backwards is not fast",
			ev:   []KeyEvent{{Rune: 'a', Time: pinned}, {Rune: 'b', Time: pinned.Add(-ms)}},
			want: []string{"a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runWedge(NewWedge(tt.opts), tt.ev)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("items = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWedgeFlushTiming(t *testing.T) {
	w := NewWedge(WedgeOptions{})
	for _, e := range keys(pinned, 5*time.Millisecond, "ABC") {
		if items := w.Feed(e); len(items) != 0 {
			t.Fatalf("Feed released %v during a burst", items)
		}
	}
	last := pinned.Add(10 * time.Millisecond)
	if items := w.Flush(last.Add(DefaultWedgeGap)); len(items) != 0 || w.Pending() != 3 {
		t.Errorf("Flush within the gap released %v (pending %d)", items, w.Pending())
	}
	items := w.Flush(last.Add(DefaultWedgeGap + time.Millisecond))
	if len(items) != 1 || items[0].Code || items[0].Text != "ABC" || w.Pending() != 0 {
		t.Errorf("Flush after the gap = %v (pending %d), want typed ABC", items, w.Pending())
	}
}
