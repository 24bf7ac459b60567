package scan

import (
	"strings"
	"time"
)

// KeyEvent is one key press from a keyboard or a hardware scanner in
// keyboard-wedge mode (USB HID keyboard emulation).
type KeyEvent struct {
	// Rune is the character typed; ignored when Enter is set. '\r' and
	// '\n' count as Enter too.
	Rune rune
	// Enter marks the Enter (Return) key, which scanners send after a code.
	Enter bool
	// Time is when the key arrived; the wedge uses no other clock.
	Time time.Time
}

// WedgeOptions tune the burst detection. Zero fields take the defaults.
type WedgeOptions struct {
	// MaxGap is the longest pause between the keys of a scanned code
	// (default 35 ms; scanners send a key every 1–10 ms, people rarely
	// manage 8 keys in a row under 35 ms).
	MaxGap time.Duration
	// MinLen is the fewest characters a code has (default 8).
	MinLen int
}

// Default wedge settings.
const (
	DefaultWedgeGap    = 35 * time.Millisecond
	DefaultWedgeMinLen = 8
)

// WedgeItem is a piece of the key stream: either a scanned code or keys a
// person typed, in arrival order.
type WedgeItem struct {
	// Code is true for a scanned code (Text without the final Enter),
	// false for typed keys (Text with any Enter as "\n").
	Code bool
	Text string
}

// Wedge tells scanned codes apart from human typing in a keyboard stream:
// a code is a burst of at least MinLen characters, each within MaxGap of
// the previous, ended by Enter within MaxGap. Everything else is returned
// as typed text. No character is ever lost: the concatenation of all items
// (codes followed by "\n") is exactly the input. Not safe for concurrent
// use.
//
// WARNING: a scanner that pauses longer than MaxGap inside a code (a USB
// hiccup) splits it; its characters then come back as typed text.
type Wedge struct {
	opts    WedgeOptions
	buf     []rune
	last    time.Time
	hasLast bool
}

// NewWedge returns a Wedge with opts (defaults filled in).
func NewWedge(opts WedgeOptions) *Wedge {
	if opts.MaxGap <= 0 {
		opts.MaxGap = DefaultWedgeGap
	}
	if opts.MinLen <= 0 {
		opts.MinLen = DefaultWedgeMinLen
	}
	return &Wedge{opts: opts}
}

// Feed processes one key and returns the items it completes, if any. Typed
// keys are held back while they could still be the start of a burst and
// come out with a later Feed or Flush.
func (w *Wedge) Feed(ev KeyEvent) []WedgeItem {
	enter := ev.Enter || ev.Rune == '\r' || ev.Rune == '\n'
	fast := w.hasLast && ev.Time.Sub(w.last) <= w.opts.MaxGap && !ev.Time.Before(w.last)
	w.last, w.hasLast = ev.Time, true
	var out []WedgeItem
	switch {
	case enter:
		if fast && len(w.buf) >= w.opts.MinLen {
			out = append(out, WedgeItem{Code: true, Text: string(w.buf)})
			w.buf = w.buf[:0]
			return out
		}
		if !fast {
			out = w.release(out)
		}
		w.buf = append(w.buf, '\n')
		return w.release(out)
	case ev.Rune < 0x20 || ev.Rune == 0x7f:
		// Control keys (Tab, Backspace, Escape) never occur inside a code.
		w.buf = append(w.buf, ev.Rune)
		return w.release(out)
	}
	if !fast {
		// A pause: what is held can no longer be the start of a burst.
		out = w.release(out)
	}
	w.buf = append(w.buf, ev.Rune)
	return out
}

// Flush releases held keys as typed text when the burst they might start
// has ended, i.e. when now is more than MaxGap after the last key. Call it
// from a timer while idle so that typed text is not held back.
func (w *Wedge) Flush(now time.Time) []WedgeItem {
	if len(w.buf) == 0 || !w.hasLast || now.Sub(w.last) <= w.opts.MaxGap {
		return nil
	}
	return w.release(nil)
}

// release appends the held keys as typed text.
func (w *Wedge) release(out []WedgeItem) []WedgeItem {
	if len(w.buf) == 0 {
		return out
	}
	var b strings.Builder
	for _, r := range w.buf {
		b.WriteRune(r)
	}
	w.buf = w.buf[:0]
	return append(out, WedgeItem{Text: b.String()})
}

// Pending reports how many keys are held back.
func (w *Wedge) Pending() int { return len(w.buf) }
