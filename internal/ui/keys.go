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

// keyRouter sends every typed key through the Wedge: with no field
// focused, and in every text field of the GUI (all are wedgeEntries: scan,
// notes, plate, search, supervisor filters, settings, sign-in and set-up).
// Typed keys go to the field they were typed in, or to the scan field when
// none was focused. A scanned code is verified while an officer is signed
// in; on the sign-in and set-up screens (nobody signed in, or the terminal
// locked) it is dropped with a hint on that screen instead of being typed
// into the ID or PIN field: nothing is verified before an officer is
// identified, and a scan does not count as a PIN attempt. Keys are stamped
// with the injected clock. It runs on fyne's goroutine.
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

// active reports whether keys go through the wedge.
func (k *keyRouter) active() bool { return k.w != nil }

// signedIn reports whether an officer may verify codes now.
func (k *keyRouter) signedIn() bool { return k.a.officer != nil && !k.a.locked }

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

// deliver verifies codes (or, signed out, refuses them with a hint) and
// types typed text into its field.
func (k *keyRouter) deliver(items []scan.WedgeItem) {
	for _, it := range items {
		if it.Code {
			if k.signedIn() {
				k.a.submit(it.Text)
			} else {
				k.a.codeWhileSignedOut()
			}
			continue
		}
		t := k.target
		if t == nil {
			if k.a.scanScr == nil || !k.signedIn() {
				continue // typed with no field focused while signed out: dropped
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
// the focus. With a Wedge they go through it whoever is signed in (a scan
// on the sign-in screen gets its hint); without one, keys up to Enter are
// a code while an officer is signed in.
func (k *keyRouter) unfocusedRune(r rune) {
	if k.w != nil {
		k.key(nil, r, false)
		return
	}
	if !k.signedIn() {
		return
	}
	k.a.touch()
	k.buf = append(k.buf, r)
}

func (k *keyRouter) unfocusedKey(ev *fyne.KeyEvent) {
	if ev.Name != fyne.KeyReturn && ev.Name != fyne.KeyEnter {
		return
	}
	if k.w != nil {
		k.key(nil, 0, true)
		return
	}
	if !k.signedIn() {
		return
	}
	code := string(k.buf)
	k.buf = k.buf[:0]
	k.a.submit(code)
}

// wedgeEntry is a one-line text field whose typed keys pass through the
// keyRouter, so that a scanner burst typed while it has the focus becomes
// a scan rather than text in the field. With a nil router, or a router
// without a Wedge, it is a plain widget.Entry.
type wedgeEntry struct {
	widget.Entry
	keys *keyRouter
}

func newWedgeEntry(k *keyRouter) *wedgeEntry {
	e := &wedgeEntry{keys: k}
	e.ExtendBaseWidget(e)
	return e
}

// newWedgePasswordEntry is a wedgeEntry for a PIN: concealed, with fyne's
// reveal button.
func newWedgePasswordEntry(k *keyRouter) *wedgeEntry {
	e := &wedgeEntry{keys: k}
	e.Password = true
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.ExtendBaseWidget(e)
	return e
}

// settle hands keys the wedge still holds to their field at once: call it
// before reading a field's text for a button (a person may tap the button
// within the wedge's gap after the last key).
func (k *keyRouter) settle() {
	if k != nil {
		k.release()
	}
}

// TypedRune implements fyne.Focusable.
func (e *wedgeEntry) TypedRune(r rune) {
	if e.keys == nil || !e.keys.active() {
		e.Entry.TypedRune(r)
		return
	}
	e.keys.key(e, r, false)
}

// TypedKey implements fyne.Focusable: Enter goes to the wedge; an
// editing or moving key (Backspace, arrows…) first releases the held keys,
// then edits the field. fyne's desktop driver also reports every other key
// here (Shift, and the letter and digit keys whose characters then arrive
// through TypedRune): those must not release anything, or a scanner's
// burst would come apart key by key, and widget.Entry does nothing with
// them, so they stop here.
func (e *wedgeEntry) TypedKey(ev *fyne.KeyEvent) {
	if e.keys == nil || !e.keys.active() {
		e.Entry.TypedKey(ev)
		return
	}
	switch {
	case ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter:
		e.keys.key(e, 0, true)
	case editingKeys[ev.Name]:
		e.keys.release()
		e.Entry.TypedKey(ev)
	}
}

// editingKeys are the keys widget.Entry acts on besides Enter: they edit
// the text or move the cursor, so the keys held before them must be in the
// field first. Scanners send none of them inside a code.
var editingKeys = map[fyne.KeyName]bool{
	fyne.KeyBackspace: true, fyne.KeyDelete: true, fyne.KeyTab: true, fyne.KeyEscape: true,
	fyne.KeyUp: true, fyne.KeyDown: true, fyne.KeyLeft: true, fyne.KeyRight: true,
	fyne.KeyHome: true, fyne.KeyEnd: true, fyne.KeyPageUp: true, fyne.KeyPageDown: true,
	fyne.KeyInsert: true,
}

// codeWhileSignedOut tells the officer on the sign-in (or set-up) screen
// that the code just scanned was not verified and not typed anywhere.
func (a *App) codeWhileSignedOut() {
	key := "signin.codeBeforeSignIn"
	if a.locked {
		key = "signin.codeWhileLocked"
	}
	var msg *widget.Label
	switch {
	case a.signInScr != nil:
		msg = a.signInScr.message
	case a.setupScr != nil:
		msg = a.setupScr.message
	default:
		return
	}
	msg.Importance = widget.WarningImportance
	msg.SetText(a.tr(key))
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
