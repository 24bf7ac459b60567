package ui

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// dayChart draws the checks per day as stacked bars (valid, limited,
// invalid, in the verdict colours, with the day's total above), and under
// them the verdict mix of the whole range as one bar split in proportion
// with its percentages. Drawn with fyne's canvas.
type dayChart struct {
	widget.BaseWidget
	days  []Count // per day, sorted
	total Count
	c     *catalog
}

func newDayChart(c *catalog) *dayChart {
	ch := &dayChart{c: c}
	ch.ExtendBaseWidget(ch)
	return ch
}

// set shows the counts.
func (ch *dayChart) set(days []Count) {
	ch.days = days
	ch.total = Count{}
	for _, d := range days {
		ch.total.Total += d.Total
		ch.total.Valid += d.Valid
		ch.total.Limited += d.Limited
		ch.total.Invalid += d.Invalid
	}
	ch.Refresh()
}

func (ch *dayChart) CreateRenderer() fyne.WidgetRenderer { return &chartRenderer{ch: ch} }

type chartRenderer struct {
	ch   *dayChart
	objs []fyne.CanvasObject
}

const (
	chartBarsH = 160 // the bars' area
	chartMixH  = 28  // the verdict mix bar
)

func (r *chartRenderer) MinSize() fyne.Size {
	th := theme.TextSize()
	return fyne.NewSize(240, chartBarsH+chartMixH+3*th+4*theme.Padding())
}

func (r *chartRenderer) Objects() []fyne.CanvasObject { return r.objs }
func (r *chartRenderer) Destroy()                     {}
func (r *chartRenderer) Refresh() {
	r.Layout(r.ch.Size())
	canvas.Refresh(r.ch)
}

func text(s string, size float32, c color.Color, align fyne.TextAlign) *canvas.Text {
	t := canvas.NewText(s, c)
	t.TextSize = size
	t.Alignment = align
	return t
}

// Layout rebuilds the drawing for size.
func (r *chartRenderer) Layout(size fyne.Size) {
	ch := r.ch
	r.objs = r.objs[:0]
	fg := theme.Color(theme.ColorNameForeground)
	small := theme.CaptionTextSize()
	pad := theme.Padding()
	if len(ch.days) == 0 || size.Width <= 0 {
		return
	}
	maxN := 1
	for _, d := range ch.days {
		maxN = max(maxN, d.Total)
	}
	top := small + pad // room for the totals
	area := float32(chartBarsH)
	n := float32(len(ch.days))
	slot := size.Width / n
	barW := max(2, min(slot*0.7, 48))
	axis := canvas.NewRectangle(theme.Color(theme.ColorNameSeparator))
	axis.Move(fyne.NewPos(0, top+area))
	axis.Resize(fyne.NewSize(size.Width, 2))
	r.objs = append(r.objs, axis)
	// Label every day when there is room, else about eight of them.
	every := max(1, int(float32(len(ch.days))*fyne.MeasureText("11-28", small, fyne.TextStyle{}).Width/(size.Width*0.8)+0.999))
	for i, d := range ch.days {
		x := float32(i)*slot + (slot-barW)/2
		y := top + area
		for _, part := range []struct {
			n int
			v verify.Verdict
		}{{d.Valid, verify.Valid}, {d.Limited, verify.Limited}, {d.Invalid, verify.Invalid}} {
			if part.n == 0 {
				continue
			}
			h := area * float32(part.n) / float32(maxN)
			rect := canvas.NewRectangle(verdictBand(part.v))
			y -= h
			rect.Move(fyne.NewPos(x, y))
			rect.Resize(fyne.NewSize(barW, h))
			r.objs = append(r.objs, rect)
		}
		if slot >= fyne.MeasureText(fmt.Sprint(d.Total), small, fyne.TextStyle{}).Width {
			t := text(fmt.Sprint(d.Total), small, fg, fyne.TextAlignCenter)
			t.Move(fyne.NewPos(float32(i)*slot, y-small-pad/2))
			t.Resize(fyne.NewSize(slot, small))
			r.objs = append(r.objs, t)
		}
		if i%every == 0 {
			day := d.Key
			if len(day) == len("2006-01-02") {
				day = day[5:]
			}
			t := text(day, small, fg, fyne.TextAlignCenter)
			w := max(slot, fyne.MeasureText(day, small, fyne.TextStyle{}).Width)
			t.Move(fyne.NewPos(float32(i)*slot+slot/2-w/2, top+area+pad))
			t.Resize(fyne.NewSize(w, small))
			r.objs = append(r.objs, t)
		}
	}
	// The verdict mix.
	y := top + area + small + 3*pad
	x := float32(0)
	tot := max(ch.total.Total, 1)
	for _, part := range []struct {
		n int
		v verify.Verdict
	}{{ch.total.Valid, verify.Valid}, {ch.total.Limited, verify.Limited}, {ch.total.Invalid, verify.Invalid}} {
		if part.n == 0 {
			continue
		}
		w := size.Width * float32(part.n) / float32(tot)
		rect := canvas.NewRectangle(verdictBand(part.v))
		rect.Move(fyne.NewPos(x, y))
		rect.Resize(fyne.NewSize(w, chartMixH))
		r.objs = append(r.objs, rect)
		label := fmt.Sprintf("%s %d%%", ch.c.verdictWord(part.v), (part.n*100+tot/2)/tot)
		if fyne.MeasureText(label, small, fyne.TextStyle{Bold: true}).Width+2*pad <= w {
			t := text(label, small, verdictInk(part.v), fyne.TextAlignCenter)
			t.TextStyle.Bold = true
			t.Move(fyne.NewPos(x, y+(chartMixH-small)/2-2))
			t.Resize(fyne.NewSize(w, small))
			r.objs = append(r.objs, t)
		}
		x += w
	}
}
