package ui

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

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

// historyScreen lists the signed-in officer's checks (a supervisor's: all).
type historyScreen struct {
	root   fyne.CanvasObject
	search *wedgeEntry
	count  *widget.Label
	rows   *rowList
	reload func()
}

// newHistoryScreen builds the history screen of a.
func newHistoryScreen(a *App) fyne.CanvasObject { return buildHistoryScreen(a).root }

func buildHistoryScreen(a *App) *historyScreen {
	h := &historyScreen{rows: newRowList(a.cat, a.showRowDetails), count: widget.NewLabel("")}
	h.search = newWedgeEntry(a.keys)
	h.search.SetPlaceHolder(a.tr("history.search"))
	h.reload = func() {
		a.keys.settle()
		f := Filter{Text: h.search.Text}
		if a.officer != nil && a.officer.Role != RoleSupervisor {
			f.Officer = a.officer.ID
		}
		a.loadRows(f, func(rows []Row, err error) {
			if err != nil {
				h.count.SetText(userMessage(a.tr, err))
				return
			}
			h.rows.set(rows)
			h.count.SetText(a.tr("history.count", len(rows)))
		})
	}
	h.search.OnSubmitted = func(string) { a.touch(); h.reload() }
	refresh := widget.NewButtonWithIcon(a.tr("history.refresh"), theme.ViewRefreshIcon(), func() { a.touch(); h.reload() })
	top := container.NewVBox(
		heading(a.tr("history.title")),
		container.NewBorder(nil, nil, nil, refresh, h.search), h.count)
	h.root = container.NewBorder(container.NewPadded(top), nil, nil, nil, h.rows.list)
	h.reload()
	return h
}

// supervisorScreen filters all records, counts them per officer and per day
// and exports them.
type supervisorScreen struct {
	root                   fyne.CanvasObject
	from, to, officer, txt *wedgeEntry
	plate                  *wedgeEntry
	kind                   *widget.Select
	kinds                  []string // kind's options: all, then kinds 1–3
	verdicts               map[verify.Verdict]*widget.Check
	// source switches between the device's records and the hub's. token
	// is the supervisor's hub token: it lives in this entry only, for as
	// long as the screen (at most the sign-in session), and is never
	// written to disk or to the settings.
	source             *widget.RadioGroup
	token              *wedgeEntry
	query, csv, xlsx   *widget.Button
	perOfficer, perDay *widget.Label
	message            *widget.Label
	rows               *rowList
	current            []Row
}

// newSupervisorScreen builds the supervisor screen; officers of other roles
// get a refusal instead.
func newSupervisorScreen(a *App) fyne.CanvasObject {
	if a.officer == nil || a.officer.Role != RoleSupervisor {
		return container.NewCenter(widget.NewLabel(userMessage(a.tr, ErrNotAllowed)))
	}
	return buildSupervisorScreen(a).root
}

func buildSupervisorScreen(a *App) *supervisorScreen {
	s := &supervisorScreen{rows: newRowList(a.cat, a.showRowDetails), verdicts: map[verify.Verdict]*widget.Check{}}
	entry := func(ph string) *wedgeEntry {
		e := newWedgeEntry(a.keys)
		e.SetPlaceHolder(ph)
		return e
	}
	s.from, s.to = entry("YYYY-MM-DD"), entry("YYYY-MM-DD")
	s.officer, s.txt = entry(a.tr("supervisor.officerAll")), entry(a.tr("history.search"))
	s.plate = entry("")
	s.kinds = []string{a.tr("supervisor.officerAll")}
	for k := credential.Kind(1); k <= 3; k++ {
		s.kinds = append(s.kinds, kindName(a.cat, k))
	}
	s.kind = widget.NewSelect(s.kinds, nil)
	s.kind.SetSelectedIndex(0)
	s.token = entry(a.tr("supervisor.tokenHint"))
	s.token.Password = true
	s.token.Disable()
	s.source = widget.NewRadioGroup([]string{a.tr("supervisor.sourceDevice"), a.tr("supervisor.sourceHub")}, func(string) {
		a.touch()
		if s.fromHub(a) {
			s.token.Enable()
		} else {
			s.token.Disable()
		}
		s.run(a)
	})
	s.source.Horizontal, s.source.Required = true, true
	if a.deps.HubRecords == nil {
		s.source.Disable()
	}
	checks := container.NewHBox()
	for _, v := range []verify.Verdict{verify.Valid, verify.Limited, verify.Invalid} {
		ch := widget.NewCheck(a.cat.verdictWord(v), nil)
		ch.SetChecked(true)
		s.verdicts[v] = ch
		checks.Add(ch)
	}
	s.perOfficer, s.perDay = widget.NewLabel(""), widget.NewLabel("")
	s.message = widget.NewLabel("")
	s.message.Wrapping = fyne.TextWrapWord
	s.query = widget.NewButtonWithIcon(a.tr("supervisor.query"), theme.SearchIcon(), func() { a.touch(); s.run(a) })
	s.query.Importance = widget.HighImportance
	s.csv = widget.NewButtonWithIcon(a.tr("supervisor.exportCSV"), theme.DocumentSaveIcon(), func() { a.touch(); s.export(a, "csv") })
	s.xlsx = widget.NewButtonWithIcon(a.tr("supervisor.exportXLSX"), theme.DocumentSaveIcon(), func() { a.touch(); s.export(a, "xlsx") })
	s.token.OnSubmitted = func(string) { a.touch(); s.run(a) }
	form := widget.NewForm(
		widget.NewFormItem(a.tr("supervisor.source"), s.source),
		widget.NewFormItem(a.tr("supervisor.token"), s.token),
		widget.NewFormItem(a.tr("supervisor.from"), s.from),
		widget.NewFormItem(a.tr("supervisor.to"), s.to),
		widget.NewFormItem(a.tr("supervisor.officer"), s.officer),
		widget.NewFormItem(a.tr("supervisor.verdicts"), checks),
		widget.NewFormItem(a.tr("supervisor.kind"), s.kind),
		widget.NewFormItem(a.tr("supervisor.plate"), s.plate),
		widget.NewFormItem(a.tr("supervisor.text"), s.txt),
	)
	s.perOfficer.Wrapping, s.perDay.Wrapping = fyne.TextWrapWord, fyne.TextWrapWord
	counts := container.NewVBox(
		widget.NewLabelWithStyle(a.tr("supervisor.perOfficer"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.perOfficer,
		widget.NewLabelWithStyle(a.tr("supervisor.perDay"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.perDay)
	top := container.NewVBox(
		heading(a.tr("supervisor.title")),
		form, container.NewGridWithColumns(3, s.query, s.csv, s.xlsx), s.message, counts)
	panel := container.NewPadded(top)
	s.root = container.New(&panelLayout{content: panel}, container.NewVScroll(panel), s.rows.list)
	s.source.SetSelected(a.tr("supervisor.sourceDevice")) // runs the query
	return s
}

// fromHub reports whether the hub is the selected source.
func (s *supervisorScreen) fromHub(a *App) bool {
	return s.source.Selected == a.tr("supervisor.sourceHub")
}

// panelLayout places the supervisor's filter panel (a scroll around
// content) beside the record list in landscape, as wide as its content
// needs but 38–50% of the width, and above it in portrait, at most 55% of
// the height, so that the list always keeps room for rows.
type panelLayout struct{ content fyne.CanvasObject }

func (l *panelLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	panel, list := objs[0], objs[1]
	if size.Width >= size.Height {
		w := min(max(l.content.MinSize().Width, size.Width*0.38), size.Width*0.5)
		panel.Move(fyne.NewPos(0, 0))
		panel.Resize(fyne.NewSize(w, size.Height))
		list.Move(fyne.NewPos(w, 0))
		list.Resize(fyne.NewSize(size.Width-w, size.Height))
		return
	}
	h := min(l.content.MinSize().Height, size.Height*0.55)
	panel.Move(fyne.NewPos(0, 0))
	panel.Resize(fyne.NewSize(size.Width, h))
	list.Move(fyne.NewPos(0, h))
	list.Resize(fyne.NewSize(size.Width, size.Height-h))
}

func (l *panelLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(320, 400) }

// filter reads the form; a bad date is a user-visible error.
func (s *supervisorScreen) filter() (Filter, error) {
	if s.from.keys != nil {
		s.from.keys.settle()
	}
	var f Filter
	if t := strings.TrimSpace(s.from.Text); t != "" {
		d, err := credential.ParseDate(t)
		if err != nil {
			return f, errBadDate
		}
		f.From = d.Start()
	}
	if t := strings.TrimSpace(s.to.Text); t != "" {
		d, err := credential.ParseDate(t)
		if err != nil {
			return f, errBadDate
		}
		f.To = d.End()
	}
	f.Officer = strings.TrimSpace(s.officer.Text)
	f.Text = s.txt.Text
	f.Plate = strings.TrimSpace(s.plate.Text)
	if i := slices.Index(s.kinds, s.kind.Selected); i > 0 {
		f.Kind = credential.Kind(i)
	}
	for _, v := range []verify.Verdict{verify.Valid, verify.Limited, verify.Invalid} {
		if s.verdicts[v].Checked {
			f.Verdicts = append(f.Verdicts, v)
		}
	}
	if len(f.Verdicts) == 3 {
		f.Verdicts = nil
	}
	return f, nil
}

var errBadDate = &UserError{Key: "supervisor.badDate", Msg: "ui: date is not YYYY-MM-DD"}

// run queries the records and shows rows and counters.
func (s *supervisorScreen) run(a *App) {
	f, err := s.filter()
	if err != nil {
		s.message.SetText(userMessage(a.tr, err))
		return
	}
	show := func(rows []Row, msg string) {
		s.current = rows
		s.rows.set(rows)
		s.message.SetText(msg)
		s.perOfficer.SetText(countText(a.cat, countBy(rows, byOfficer)))
		s.perDay.SetText(countText(a.cat, countBy(rows, byDay)))
	}
	if s.fromHub(a) {
		a.loadHubRows(s.token.Text, f, func(rows []Row, more bool, err error) {
			switch {
			case err != nil:
				// The hub's rows are gone; the device view stays one tap away.
				show(nil, userMessage(a.tr, err))
			case more:
				show(rows, a.tr("supervisor.hubMore", len(rows)))
			default:
				show(rows, a.tr("supervisor.hubCount", len(rows)))
			}
		})
		return
	}
	a.loadRows(f, func(rows []Row, err error) {
		if err != nil {
			s.message.SetText(userMessage(a.tr, err))
			return
		}
		show(rows, a.tr("history.count", len(rows)))
	})
}

func countText(c *catalog, cs []Count) string {
	if len(cs) == 0 {
		return c.T("supervisor.none")
	}
	lines := make([]string, len(cs))
	for i, x := range cs {
		lines[i] = c.T("supervisor.countLine", x.Key, x.Total, x.Valid, x.Limited, x.Invalid)
	}
	return strings.Join(lines, "\n")
}

// exportBytes renders the current rows as CSV or XLSX.
func (s *supervisorScreen) exportBytes(c *catalog, format string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if format == "xlsx" {
		err = writeXLSX(&buf, c, s.current)
	} else {
		err = writeCSV(&buf, c, s.current)
	}
	return buf.Bytes(), err
}

func (s *supervisorScreen) export(a *App, format string) {
	data, err := s.exportBytes(a.cat, format)
	if err != nil {
		s.message.SetText(userMessage(a.tr, err))
		return
	}
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			return
		}
		defer wc.Close()
		if _, err := wc.Write(data); err != nil {
			s.message.SetText(userMessage(a.tr, err))
			return
		}
		s.message.SetText(a.tr("supervisor.exported", len(s.current), wc.URI().Name()))
	}, a.win)
	d.SetFileName(fmt.Sprintf("roadcheck-%s.%s", a.deps.Clock.Now().In(credential.CST()).Format("20060102-1504"), format))
	d.Show()
}
