package ui

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// checkButtons fails when two visible buttons under root overlap or one is
// narrower than its text needs (a truncated or clipped label).
func checkButtons(t *testing.T, where string, root fyne.CanvasObject) {
	t.Helper()
	d := fyne.CurrentApp().Driver()
	type box struct {
		b    *widget.Button
		p, s fyne.Position
	}
	var bs []box
	type scroll struct {
		s   *container.Scroll
		has map[fyne.CanvasObject]bool
	}
	var scrolls []scroll
	for _, o := range test.LaidOutObjects(root) {
		if sc, ok := o.(*container.Scroll); ok {
			has := map[fyne.CanvasObject]bool{}
			for _, x := range test.LaidOutObjects(sc.Content) {
				has[x] = true
			}
			scrolls = append(scrolls, scroll{sc, has})
		}
	}
	for _, o := range test.LaidOutObjects(root) {
		b, ok := o.(*widget.Button)
		if !ok || !b.Visible() || b.Size().Width == 0 {
			continue
		}
		shown := true
		for p := fyne.CanvasObject(b); p != nil; p = parentOf(root, p) {
			if !p.Visible() {
				shown = false
			}
		}
		if !shown {
			continue
		}
		if b.Size().Width+0.5 < b.MinSize().Width || b.Size().Height+0.5 < b.MinSize().Height {
			t.Errorf("%s: button %q is %v, needs %v", where, b.Text, b.Size(), b.MinSize())
		}
		p := d.AbsolutePositionForObject(b)
		q := fyne.NewPos(p.X+b.Size().Width, p.Y+b.Size().Height)
		// What a scroll does not show is clipped, not overlapping.
		for _, sc := range scrolls {
			if !sc.has[b] {
				continue
			}
			sp := d.AbsolutePositionForObject(sc.s)
			p.X, p.Y = max(p.X, sp.X), max(p.Y, sp.Y)
			q.X, q.Y = min(q.X, sp.X+sc.s.Size().Width), min(q.Y, sp.Y+sc.s.Size().Height)
		}
		if q.X <= p.X || q.Y <= p.Y {
			continue
		}
		bs = append(bs, box{b, p, q})
	}
	for i := range bs {
		for j := i + 1; j < len(bs); j++ {
			x, y := bs[i], bs[j]
			if x.p.X+1 < y.s.X && y.p.X+1 < x.s.X && x.p.Y+1 < y.s.Y && y.p.Y+1 < x.s.Y {
				t.Errorf("%s: buttons %q and %q overlap", where, x.b.Text, y.b.Text)
			}
		}
	}
}

// parentOf finds o's parent container under root (nil at the top).
func parentOf(root, o fyne.CanvasObject) fyne.CanvasObject {
	var found fyne.CanvasObject
	var walk func(c fyne.CanvasObject)
	walk = func(c fyne.CanvasObject) {
		if found != nil {
			return
		}
		if ct, ok := c.(*fyne.Container); ok {
			for _, ch := range ct.Objects {
				if ch == o {
					found = c
					return
				}
				walk(ch)
			}
		}
	}
	walk(root)
	return found
}

// Every layout works down to 360×640 (and at 640×480), in both languages:
// the verdict's outcome buttons wrap onto rows instead of overlapping, and
// no button's text is cut.
func TestSmallScreens(t *testing.T) {
	for _, l := range []Lang{LangZH, LangEN} {
		for _, size := range []fyne.Size{{Width: 360, Height: 640}, {Width: 640, Height: 480}} {
			t.Run(fmt.Sprintf("%s_%vx%v", l, size.Width, size.Height), func(t *testing.T) {
				e := newEnv(t)
				e.app.setLang(l)
				e.app.showSignIn()
				e.signIn(t, "9001", "9999")
				e.app.win.Resize(size)
				checkButtons(t, "scan", e.app.checkBox)
				e.tapSample(t, "valid-vehicle")
				v := e.app.check.shown
				checkButtons(t, "verdict", v.root)
				if n := v.grid.columns(v.layout.bottom.(*fyne.Container).Objects[2].(*fyne.Container).Objects, v.layout.bottom.Size().Width); n == 6 && size.Width < 600 {
					t.Errorf("six outcome buttons in a row at %v", size.Width)
				}
				e.tapSample(t, "invalid-malformed")
				checkButtons(t, "neutral", e.app.check.shown.root)
				for _, it := range e.app.tabs.Items[1:] {
					e.app.tabs.Select(it)
					checkButtons(t, it.Text, it.Content)
				}
			})
		}
	}
}
