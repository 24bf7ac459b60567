package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/scan"
)

// wedgeFlushDelay is how long after the last key the router asks the
// wedge to release held keys: a little more than the wedge's gap.
const wedgeFlushDelay = scan.DefaultWedgeGap + 15*time.Millisecond

// keyRouter sends the keys typed while an officer is signed in through the
// Wedge: with no field focused, and in the fields that are wedgeEntries
// (scan, notes, plate, search). Scanned codes are verified; typed keys go to
// the field they were typed in, or to the scan field when none was
// focused. Keys are stamped with the injected clock. It runs on fyne's
// goroutine.
type keyRouter struct {
	a *App
	w Wedge
	// target is the field the held keys were typed in (nil: none).
	target *wedgeEntry
	timer  bool
	// after runs f on fyne's goroutine after d (a timer; tests replace it).
	after func(d time.Duration, f func())
	buf   []rune // without a Wedge: unfocused keys up to Enter
}

func newKeyRouter(a *App) *keyRouter {
	return &keyRouter{a: a, w: a.deps.Wedge, after: func(d time.Duration, f func()) {
		time.AfterFunc(d, func() { fyne.Do(f) })
	}}
}

// active reports whether keys go through the wedge now.
func (k *keyRouter) active() bool {
	return k.w != nil && k.a.officer != nil && !k.a.locked
}

// key handles one key typed in target (nil: no field focused); enter
// marks Enter/Return.
func (k *keyRouter) key(target *wedgeEntry, r rune, enter bool) {
	k.a.touch()
	if target != k.target && k.w.Pending() > 0 {
		k.release() // the focus moved: held keys belong to the old field
	}
	k.target = target
	k.deliver(k.w.Feed(scan.KeyEvent{Rune: r, Enter: enter, Time: k.a.deps.Clock.Now()}))
	k.schedule()
}

func (k *keyRouter) schedule() {
	if k.timer || k.w.Pending() == 0 {
		return
	}
	k.timer = true
	k.after(wedgeFlushDelay, k.flush)
}

// flush releases keys held longer than the wedge's gap (the timer's work).
func (k *keyRouter) flush() {
	k.timer = false
	if k.w == nil {
		return
	}
	k.deliver(k.w.Flush(k.a.deps.Clock.Now()))
	k.schedule()
}

// release hands every held key to its field at once (before an editing
// key such as Backspace, or a focus change: scanners send neither inside
// a code).
func (k *keyRouter) release() {
	if k.w != nil && k.w.Pending() > 0 {
		k.deliver(k.w.Flush(k.a.deps.Clock.Now().Add(time.Hour)))
	}
}

// deliver verifies codes and types typed text into its field.
func (k *keyRouter) deliver(items []scan.WedgeItem) {
	for _, it := range items {
		if it.Code {
			k.a.submit(it.Text)
			continue
		}
		t := k.target
		if t == nil {
			if k.a.scanScr == nil {
				continue
			}
			t = k.a.scanScr.entry
			k.a.focusScan()
		}
		for _, r := range it.Text {
			if r == '\n' {
				t.Entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
			} else {
				t.Entry.TypedRune(r)
			}
		}
	}
}

// unfocusedRune and unfocusedKey receive the keys typed while no field has
// the focus.
func (k *keyRouter) unfocusedRune(r rune) {
	if k.a.officer == nil || k.a.locked {
		return
	}
	if k.w != nil {
		k.key(nil, r, false)
		return
	}
	k.a.touch()
	k.buf = append(k.buf, r)
}

func (k *keyRouter) unfocusedKey(ev *fyne.KeyEvent) {
	if k.a.officer == nil || k.a.locked || (ev.Name != fyne.KeyReturn && ev.Name != fyne.KeyEnter) {
		return
	}
	if k.w != nil {
		k.key(nil, 0, true)
		return
	}
	code := string(k.buf)
	k.buf = k.buf[:0]
	k.a.submit(code)
}

// wedgeEntry is a one-line text field whose typed keys pass through the
// keyRouter, so that a scanner burst typed while it has the focus becomes
// a scan rather than text in the field. With a nil router, or while no
// officer is signed in, it is a plain widget.Entry.
type wedgeEntry struct {
	widget.Entry
	keys *keyRouter
}

func newWedgeEntry(k *keyRouter) *wedgeEntry {
	e := &wedgeEntry{keys: k}
	e.ExtendBaseWidget(e)
	return e
}

// TypedRune implements fyne.Focusable.
func (e *wedgeEntry) TypedRune(r rune) {
	if e.keys == nil || !e.keys.active() {
		e.Entry.TypedRune(r)
		return
	}
	e.keys.key(e, r, false)
}

// TypedKey implements fyne.Focusable: Enter goes to the wedge; any other
// key first releases the held keys, then edits the field.
func (e *wedgeEntry) TypedKey(ev *fyne.KeyEvent) {
	if e.keys == nil || !e.keys.active() {
		e.Entry.TypedKey(ev)
		return
	}
	if ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter {
		e.keys.key(e, 0, true)
		return
	}
	e.keys.release()
	e.Entry.TypedKey(ev)
}

// installKeys routes keys typed while no field has the focus to the key
// router, Ctrl+V to paste, and dropped files to the decoder.
func (a *App) installKeys() {
	c := a.win.Canvas()
	c.SetOnTypedRune(a.keys.unfocusedRune)
	c.SetOnTypedKey(a.keys.unfocusedKey)
	c.AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) {
		if a.officer != nil && !a.locked {
			a.touch()
			a.pasteClipboard()
		}
	})
	a.win.SetOnDropped(a.dropped)
}
