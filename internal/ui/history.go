package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// loadRows reads every record off fyne's goroutine and hands the rows f
// selects (newest first) to done on fyne's goroutine.
func (a *App) loadRows(f Filter, done func([]Row, error)) {
	st, ctx := a.records, a.ctx
	if st == nil {
		done(nil, ErrLocked)
		return
	}
	a.async(func() {
		es, err := st.List(ctx, records.ListOptions{})
		var rows []Row
		for _, e := range es {
			rows = append(rows, rowFromEntry(e))
		}
		rows = filterRows(latestRows(rows), f)
		fyne.Do(func() { done(rows, err) })
	})
}

// rowList is a list of check rows: a verdict colour chip and two lines
// each (when, verdict, action, officer; then what was checked), cut with
// an ellipsis where the width ends (portrait). Tapping a row calls
// onSelect with it (the details).
type rowList struct {
	list *widget.List
	rows []Row
}

func newRowList(c *catalog, onSelect func(Row)) *rowList {
	rl := &rowList{}
	rl.list = widget.NewList(func() int { return len(rl.rows) },
		func() fyne.CanvasObject {
			chip := canvas.NewRectangle(verdictBand(verify.Valid))
			chip.SetMinSize(fyne.NewSize(16, 40))
			head := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			head.Truncation = fyne.TextTruncateEllipsis
			what := widget.NewLabel("")
			what.Truncation = fyne.TextTruncateEllipsis
			return container.NewBorder(nil, nil, chip, nil, container.New(&rowLinesLayout{}, head, what))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			r := rl.rows[id]
			box := o.(*fyne.Container)
			box.Objects[1].(*canvas.Rectangle).FillColor = verdictBand(r.Verdict)
			lines := box.Objects[0].(*fyne.Container).Objects
			head, what := rowLines(c, r)
			lines[0].(*widget.Label).SetText(head)
			lines[1].(*widget.Label).SetText(what)
			box.Refresh()
		})
	rl.list.OnSelected = func(id widget.ListItemID) {
		rl.list.Unselect(id)
		if id >= 0 && id < len(rl.rows) && onSelect != nil {
			onSelect(rl.rows[id])
		}
	}
	return rl
}

func (rl *rowList) set(rows []Row) {
	rl.rows = rows
	rl.list.Refresh()
}

// rowLinesLayout stacks a row's two labels as two lines of text: the
// labels overlap by their inner padding, less a small gap, so that a row
// is not as tall as two separate labels.
type rowLinesLayout struct{}

func rowLinesOverlap() float32 { return 2*theme.InnerPadding() - theme.Padding() }

func (rowLinesLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	m0, m1 := objs[0].MinSize(), objs[1].MinSize()
	y := max(0, (size.Height-(m0.Height+m1.Height-rowLinesOverlap()))/2)
	objs[0].Move(fyne.NewPos(0, y))
	objs[0].Resize(fyne.NewSize(size.Width, m0.Height))
	objs[1].Move(fyne.NewPos(0, y+m0.Height-rowLinesOverlap()))
	objs[1].Resize(fyne.NewSize(size.Width, m1.Height))
}

func (rowLinesLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m0, m1 := objs[0].MinSize(), objs[1].MinSize()
	return fyne.NewSize(max(m0.Width, m1.Width), m0.Height+m1.Height-rowLinesOverlap())
}

// rowLines is a row as two lines of text: when, verdict, action and
// officer; then the licence kind, number or plate and holder (or, for a
// code that gave no licence, the first reason).
func rowLines(c *catalog, r Row) (head, what string) {
	join := func(ss ...string) string {
		var parts []string
		for _, s := range ss {
			if s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "  ·  ")
	}
	by := ""
	if r.Officer != "" {
		by = c.T("history.by", r.Officer)
	}
	head = join(r.At.In(credential.CST()).Format("01-02 15:04"), c.verdictWord(r.Verdict), actionName(c, r.Action), by)
	id := r.Number
	if r.Plate != "" {
		id = r.Plate
	}
	what = join(kindName(c, r.Kind), id, r.Holder)
	switch {
	case r.Damaged:
		what = c.T("history.damaged")
	case what == "" && len(r.Reasons) > 0:
		what = c.reason(r.Reasons[0])
	}
	return head, what
}

// showRowDetails shows every field of a record (the export's columns, the
// reasons as sentences) in a dialog.
func (a *App) showRowDetails(r Row) {
	a.touch()
	form := container.New(layout.NewFormLayout())
	for _, col := range exportColumns {
		v := col.cell(a.cat, r)
		if v == "" {
			continue
		}
		val := widget.NewLabel(v)
		val.Wrapping = fyne.TextWrapWord
		form.Add(widget.NewLabelWithStyle(a.tr(col.key), fyne.TextAlignTrailing, fyne.TextStyle{Bold: true}))
		form.Add(val)
	}
	head, _ := rowLines(a.cat, r)
	d := dialog.NewCustom(head, a.tr("common.close"), container.NewVScroll(form), a.win)
	sz := a.win.Canvas().Size()
	d.Resize(fyne.NewSize(min(720, sz.Width*0.92), min(760, sz.Height*0.9)))
	d.Show()
}

// historyScreen lists the signed-in officer's checks (a supervisor's:
// all), filtered as the officer types: text, verdict and date range.
type historyScreen struct {
	root     fyne.CanvasObject
	search   *wedgeEntry
	verdict  *widget.Select
	period   *widget.Select
	count    *widget.Label
	rows     *rowList
	all      []Row // the officer's rows, newest first
	reload   func()
	apply    func()
	verdicts []verify.Verdict // the verdict select's choices after "all"
}

// newHistoryScreen builds the history screen of a.
func newHistoryScreen(a *App) fyne.CanvasObject { return buildHistoryScreen(a).root }

// history periods: all, today, the last 7 days, the last 30 days.
var historyPeriods = []int{0, 1, 7, 30}

func buildHistoryScreen(a *App) *historyScreen {
	h := &historyScreen{rows: newRowList(a.cat, a.showRowDetails), count: widget.NewLabel("")}
	h.search = newWedgeEntry(a.keys)
	h.search.SetPlaceHolder(a.tr("history.search"))
	h.verdicts = []verify.Verdict{verify.Valid, verify.Limited, verify.Invalid}
	vs := []string{a.tr("history.allVerdicts")}
	for _, v := range h.verdicts {
		vs = append(vs, a.cat.verdictWord(v))
	}
	h.verdict = widget.NewSelect(vs, nil)
	h.verdict.SetSelectedIndex(0)
	var ps []string
	for _, d := range historyPeriods {
		ps = append(ps, a.tr(fmt.Sprintf("history.period%d", d)))
	}
	h.period = widget.NewSelect(ps, nil)
	h.period.SetSelectedIndex(0)
	// The filters apply to the rows in memory as the officer types.
	h.apply = func() {
		f := Filter{Text: h.search.Text}
		if i := h.verdict.SelectedIndex(); i > 0 {
			f.Verdicts = []verify.Verdict{h.verdicts[i-1]}
		}
		if i := h.period.SelectedIndex(); i > 0 {
			now := a.deps.Clock.Now().In(credential.CST())
			start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, credential.CST())
			f.From = start.AddDate(0, 0, 1-historyPeriods[i])
		}
		rows := filterRows(h.all, f)
		h.rows.set(rows)
		if len(rows) == 0 && len(h.all) > 0 {
			h.count.SetText(a.tr("history.noMatch", len(h.all)))
		} else {
			h.count.SetText(a.tr("history.count", len(rows)))
		}
	}
	h.reload = func() {
		a.keys.settle()
		var f Filter
		if a.officer != nil && a.officer.Role != RoleSupervisor {
			f.Officer = a.officer.ID
		}
		a.loadRows(f, func(rows []Row, err error) {
			if err != nil {
				h.count.SetText(userMessage(a.tr, err))
				return
			}
			h.all = rows
			h.apply()
		})
	}
	h.search.OnChanged = func(string) { a.touch(); h.apply() }
	h.search.OnSubmitted = func(string) { a.touch(); h.apply() }
	h.verdict.OnChanged = func(string) { a.touch(); h.apply() }
	h.period.OnChanged = func(string) { a.touch(); h.apply() }
	refresh := widget.NewButtonWithIcon(a.tr("history.refresh"), theme.ViewRefreshIcon(), func() { a.touch(); h.reload() })
	filters := container.New(&flowGrid{cols: []int{2, 1}}, h.verdict, h.period)
	top := container.NewVBox(
		heading(a.tr("history.title")),
		container.NewBorder(nil, nil, nil, refresh, h.search), filters, h.count)
	h.root = container.NewBorder(container.NewPadded(top), nil, nil, nil, h.rows.list)
	h.reload()
	return h
}
