package ui

import (
	"bytes"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// loadRows reads every record off fyne's goroutine and hands the rows f
// selects (newest first) to done on fyne's goroutine.
func (a *App) loadRows(f Filter, done func([]Row, error)) {
	st, ctx := a.deps.Records, a.ctx
	a.async(func() {
		es, err := st.List(ctx, records.ListOptions{})
		var rows []Row
		for _, e := range es {
			rows = append(rows, rowFromEntry(e))
		}
		rows = filterRows(rows, f)
		fyne.Do(func() { done(rows, err) })
	})
}

// rowList is a list of check rows with a verdict colour chip each.
type rowList struct {
	list *widget.List
	rows []Row
}

func newRowList(c *catalog) *rowList {
	rl := &rowList{}
	rl.list = widget.NewList(func() int { return len(rl.rows) },
		func() fyne.CanvasObject {
			chip := canvas.NewRectangle(verdictBand(verify.Valid))
			chip.SetMinSize(fyne.NewSize(16, 40))
			return container.NewBorder(nil, nil, chip, nil, widget.NewLabel(""))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			r := rl.rows[id]
			box := o.(*fyne.Container)
			box.Objects[1].(*canvas.Rectangle).FillColor = verdictBand(r.Verdict)
			box.Objects[0].(*widget.Label).SetText(rowLine(c, r))
			box.Refresh()
		})
	return rl
}

func (rl *rowList) set(rows []Row) {
	rl.rows = rows
	rl.list.Refresh()
}

// rowLine is one row as a line of text.
func rowLine(c *catalog, r Row) string {
	what := r.Number
	if r.Plate != "" {
		what = r.Plate
	}
	parts := []string{r.At.In(credential.CST()).Format("01-02 15:04"), c.verdictWord(r.Verdict)}
	for _, s := range []string{kindName(c, r.Kind), what, r.Holder, actionName(c, r.Action)} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if r.Officer != "" {
		parts = append(parts, c.T("history.by", r.Officer))
	}
	return strings.Join(parts, "  ·  ")
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
	h := &historyScreen{rows: newRowList(a.cat), count: widget.NewLabel("")}
	h.search = newWedgeEntry(a.keys)
	h.search.SetPlaceHolder(a.tr("history.search"))
	h.reload = func() {
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
		widget.NewLabelWithStyle(a.tr("history.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, refresh, h.search), h.count)
	h.root = container.NewBorder(container.NewPadded(top), nil, nil, nil, h.rows.list)
	h.reload()
	return h
}

// supervisorScreen filters all records, counts them per officer and per day
// and exports them.
type supervisorScreen struct {
	root                   fyne.CanvasObject
	from, to, officer, txt *widget.Entry
	verdicts               map[verify.Verdict]*widget.Check
	query, csv, xlsx       *widget.Button
	perOfficer, perDay     *widget.Label
	message                *widget.Label
	rows                   *rowList
	current                []Row
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
	s := &supervisorScreen{rows: newRowList(a.cat), verdicts: map[verify.Verdict]*widget.Check{}}
	entry := func(ph string) *widget.Entry {
		e := widget.NewEntry()
		e.SetPlaceHolder(ph)
		return e
	}
	s.from, s.to = entry("YYYY-MM-DD"), entry("YYYY-MM-DD")
	s.officer, s.txt = entry(a.tr("supervisor.officerAll")), entry(a.tr("history.search"))
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
	form := widget.NewForm(
		widget.NewFormItem(a.tr("supervisor.from"), s.from),
		widget.NewFormItem(a.tr("supervisor.to"), s.to),
		widget.NewFormItem(a.tr("supervisor.officer"), s.officer),
		widget.NewFormItem(a.tr("supervisor.verdicts"), checks),
		widget.NewFormItem(a.tr("supervisor.text"), s.txt),
	)
	counts := container.NewGridWithColumns(2,
		container.NewVBox(widget.NewLabelWithStyle(a.tr("supervisor.perOfficer"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.perOfficer),
		container.NewVBox(widget.NewLabelWithStyle(a.tr("supervisor.perDay"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.perDay))
	top := container.NewVBox(
		widget.NewLabelWithStyle(a.tr("supervisor.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		form, container.NewGridWithColumns(3, s.query, s.csv, s.xlsx), s.message, counts, widget.NewSeparator())
	s.root = container.NewBorder(container.NewPadded(top), nil, nil, nil, s.rows.list)
	s.run(a)
	return s
}

// filter reads the form; a bad date is a user-visible error.
func (s *supervisorScreen) filter() (Filter, error) {
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
	a.loadRows(f, func(rows []Row, err error) {
		if err != nil {
			s.message.SetText(userMessage(a.tr, err))
			return
		}
		s.current = rows
		s.rows.set(rows)
		s.message.SetText(a.tr("history.count", len(rows)))
		s.perOfficer.SetText(countText(a.cat, countBy(rows, byOfficer)))
		s.perDay.SetText(countText(a.cat, countBy(rows, byDay)))
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
