package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"
)

// verdictSymbol is the large ✓ / ⚠ / ✗ (or ? for a neutral screen) of the
// verdict band, drawn with thick strokes rather than font glyphs, so that
// it is the same on every font and readable in glare by officers who do
// not tell red from green.
type verdictSymbol struct {
	widget.BaseWidget
	shape outcome
	ink   color.Color
	side  float32 // minimum side in dp
}

func newVerdictSymbol(o outcome, ink color.Color, side float32) *verdictSymbol {
	s := &verdictSymbol{shape: o, ink: ink, side: side}
	s.ExtendBaseWidget(s)
	return s
}

// set changes the shape and ink (the online answer can change a verdict).
func (s *verdictSymbol) set(o outcome, ink color.Color) {
	s.shape, s.ink = o, ink
	s.Refresh()
}

// symbolName is the symbol's name for tests and accessibility.
func (s *verdictSymbol) symbolName() string {
	switch s.shape {
	case outcomeValid:
		return "✓"
	case outcomeLimited:
		return "⚠"
	case outcomeInvalid:
		return "✗"
	}
	return "?"
}

func (s *verdictSymbol) CreateRenderer() fyne.WidgetRenderer {
	r := &symbolRenderer{s: s}
	for range 5 {
		l := canvas.NewLine(s.ink)
		r.lines = append(r.lines, l)
	}
	r.ring = canvas.NewCircle(color.Transparent)
	r.dot = canvas.NewCircle(s.ink)
	r.mark = canvas.NewText("?", s.ink)
	r.mark.TextStyle.Bold = true
	r.mark.Alignment = fyne.TextAlignCenter
	return r
}

type symbolRenderer struct {
	s     *verdictSymbol
	lines []*canvas.Line
	ring  *canvas.Circle
	dot   *canvas.Circle
	mark  *canvas.Text
}

func (r *symbolRenderer) Destroy() {}

func (r *symbolRenderer) MinSize() fyne.Size { return fyne.NewSize(r.s.side, r.s.side) }

func (r *symbolRenderer) Objects() []fyne.CanvasObject {
	objs := []fyne.CanvasObject{r.ring, r.dot, r.mark}
	for _, l := range r.lines {
		objs = append(objs, l)
	}
	return objs
}

func (r *symbolRenderer) Refresh() {
	r.Layout(r.s.Size())
	for _, o := range r.Objects() {
		o.Refresh()
	}
}

// Layout draws the shape in a square centred in size.
func (r *symbolRenderer) Layout(size fyne.Size) {
	side := min(size.Width, size.Height)
	x0, y0 := (size.Width-side)/2, (size.Height-side)/2
	p := func(fx, fy float32) fyne.Position { return fyne.NewPos(x0+fx*side, y0+fy*side) }
	stroke := max(4, side/9)
	for _, l := range r.lines {
		l.Hidden = true
		l.StrokeColor = r.s.ink
		l.StrokeWidth = stroke
	}
	r.ring.Hidden, r.dot.Hidden, r.mark.Hidden = true, true, true
	line := func(i int, a, b fyne.Position) {
		l := r.lines[i]
		l.Position1, l.Position2 = a, b
		l.Hidden = false
	}
	switch r.s.shape {
	case outcomeValid: // ✓
		line(0, p(0.12, 0.55), p(0.40, 0.82))
		line(1, p(0.38, 0.82), p(0.90, 0.18))
	case outcomeInvalid: // ✗
		line(0, p(0.15, 0.15), p(0.85, 0.85))
		line(1, p(0.85, 0.15), p(0.15, 0.85))
	case outcomeLimited: // ⚠: a triangle with an exclamation mark
		line(0, p(0.50, 0.06), p(0.96, 0.92))
		line(1, p(0.96, 0.92), p(0.04, 0.92))
		line(2, p(0.04, 0.92), p(0.50, 0.06))
		line(3, p(0.50, 0.36), p(0.50, 0.64))
		r.lines[3].StrokeWidth = stroke * 0.9
		r.dot.FillColor = r.s.ink
		d := stroke * 1.1
		r.dot.Move(fyne.NewPos(x0+0.5*side-d/2, y0+0.77*side-d/2))
		r.dot.Resize(fyne.NewSize(d, d))
		r.dot.Hidden = false
	default: // a ring with a question mark
		r.ring.StrokeColor = r.s.ink
		r.ring.StrokeWidth = max(3, side/14)
		r.ring.Move(p(0.04, 0.04))
		r.ring.Resize(fyne.NewSize(side*0.92, side*0.92))
		r.ring.Hidden = false
		r.mark.Color = r.s.ink
		r.mark.TextSize = side * 0.6
		ms := r.mark.MinSize()
		r.mark.Move(fyne.NewPos(x0+(side-ms.Width)/2, y0+(side-ms.Height)/2))
		r.mark.Resize(ms)
		r.mark.Hidden = false
	}
}
