package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// supervisorScreen filters all records (the device's, every one of them,
// or the hub's), counts them per officer (by name) and per day, draws the
// checks per day and the verdict mix, and exports them.
type supervisorScreen struct {
	root     fyne.CanvasObject
	from, to *dateField
	officer  *widget.Select
	officers []string // the officer select's IDs, "" first (all)
	txt      *wedgeEntry
	plate    *wedgeEntry
	kind     *widget.Select
	kinds    []string // kind's options: all, then kinds 1–3
	verdicts map[verify.Verdict]*widget.Check
	// source switches between the device's records and the hub's. token
	// is the supervisor's hub token: it lives in this entry only, for as
	// long as the screen (at most the sign-in session), and is never
	// written to disk or to the settings.
	source             *widget.RadioGroup
	token              *wedgeEntry
	query, csv, xlsx   *widget.Button
	perOfficer, perDay *widget.Label
	chart              *dayChart
	// figures says where the counters and the chart come from: the hub's
	// counters (中心统计) or every matching record on the device (本机记录).
	figures *widget.Label
	// shown is the source of the rows shown (the export follows it), and
	// shownFilter, shownToken the query that brought them.
	shown       rowSource
	shownFilter Filter
	shownToken  string
	message     *widget.Label
	empty       *widget.Label
	rows        *rowList
	current     []Row
	names       map[string]string // officer ID → name
}

// rowSource is where the supervisor screen's rows came from.
type rowSource uint8

const (
	rowsNone   rowSource = iota // nothing shown (an error)
	rowsDevice                  // every matching record on the device
	rowsHub                     // the hub's records (a page of them; counters and export: all)
)

// newSupervisorScreen builds the supervisor screen; officers of other roles
// get a refusal instead.
func newSupervisorScreen(a *App) fyne.CanvasObject {
	if a.officer == nil || a.officer.Role != RoleSupervisor {
		return container.NewCenter(widget.NewLabel(userMessage(a.tr, ErrNotAllowed)))
	}
	return buildSupervisorScreen(a).root
}

// officerNames maps officer IDs to names, from the officer directory (or
// the demo accounts).
func (a *App) officerNames() map[string]string {
	names := map[string]string{}
	switch d := a.deps.Officers.(type) {
	case interface{ List() []Officer }:
		for _, o := range d.List() {
			names[o.ID] = o.Name
		}
	default:
		for _, acc := range DemoAccounts() {
			names[acc.Officer.ID] = acc.Officer.Name
		}
	}
	if a.officer != nil {
		names[a.officer.ID] = a.officer.Name
	}
	return names
}

// officerLabel is "李明（1001）", or the ID alone when the name is unknown.
func officerLabel(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n + "（" + id + "）"
	}
	return id
}

func buildSupervisorScreen(a *App) *supervisorScreen {
	s := &supervisorScreen{rows: newRowList(a.cat, a.showRowDetails), verdicts: map[verify.Verdict]*widget.Check{}, names: a.officerNames()}
	entry := func(ph string) *wedgeEntry {
		e := newWedgeEntry(a.keys)
		e.SetPlaceHolder(ph)
		return e
	}
	s.from = newDateField(a, a.tr("date.placeholder"), nil)
	s.to = newDateField(a, a.tr("date.placeholder"), nil)
	s.officers = []string{""}
	opts := []string{a.tr("supervisor.officerAll")}
	ids := make([]string, 0, len(s.names))
	for id := range s.names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s.officers = append(s.officers, id)
		opts = append(opts, officerLabel(s.names, id))
	}
	s.officer = widget.NewSelect(opts, nil)
	s.officer.SetSelectedIndex(0)
	s.txt = entry(a.tr("history.search"))
	s.plate = entry(a.tr("supervisor.platePlaceholder"))
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
	s.perOfficer.Wrapping, s.perDay.Wrapping = fyne.TextWrapWord, fyne.TextWrapWord
	s.message = widget.NewLabel("")
	s.message.Wrapping = fyne.TextWrapWord
	s.empty = widget.NewLabelWithStyle(a.tr("supervisor.empty"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	s.empty.Wrapping = fyne.TextWrapWord
	s.empty.Hide()
	s.chart = newDayChart(a.cat)
	s.figures = widget.NewLabel("")
	s.figures.Wrapping = fyne.TextWrapWord
	s.figures.Importance = widget.LowImportance
	s.query = widget.NewButtonWithIcon(a.tr("supervisor.query"), theme.SearchIcon(), func() { a.touch(); s.run(a) })
	s.query.Importance = widget.HighImportance
	s.csv = widget.NewButtonWithIcon(a.tr("supervisor.exportCSV"), theme.DocumentSaveIcon(), func() { a.touch(); s.export(a, "csv") })
	s.xlsx = widget.NewButtonWithIcon(a.tr("supervisor.exportXLSX"), theme.DocumentSaveIcon(), func() { a.touch(); s.export(a, "xlsx") })
	s.token.OnSubmitted = func(string) { a.touch(); s.run(a) }
	form := widget.NewForm(
		widget.NewFormItem(a.tr("supervisor.source"), s.source),
		widget.NewFormItem(a.tr("supervisor.token"), s.token),
		widget.NewFormItem(a.tr("supervisor.from"), s.from.root),
		widget.NewFormItem(a.tr("supervisor.to"), s.to.root),
		widget.NewFormItem(a.tr("supervisor.officer"), s.officer),
		widget.NewFormItem(a.tr("supervisor.verdicts"), checks),
		widget.NewFormItem(a.tr("supervisor.kind"), s.kind),
		widget.NewFormItem(a.tr("supervisor.plate"), s.plate),
		widget.NewFormItem(a.tr("supervisor.text"), s.txt),
	)
	counts := container.NewVBox(s.figures,
		widget.NewLabelWithStyle(a.tr("supervisor.chart"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.chart,
		widget.NewLabelWithStyle(a.tr("supervisor.perOfficer"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.perOfficer,
		widget.NewLabelWithStyle(a.tr("supervisor.perDay"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), s.perDay)
	top := container.NewVBox(
		heading(a.tr("supervisor.title")),
		form, container.New(&flowGrid{cols: []int{3, 1}}, s.query, s.csv, s.xlsx), container.New(&reserveLayout{lines: 2}, s.message), s.empty, counts)
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
	if s.txt.keys != nil {
		s.txt.keys.settle()
	}
	var f Filter
	if d, ok, err := s.from.value(); err != nil {
		return f, err
	} else if ok {
		f.From = d.Start()
	}
	if d, ok, err := s.to.value(); err != nil {
		return f, err
	} else if ok {
		f.To = d.End()
	}
	if i := s.officer.SelectedIndex(); i > 0 && i < len(s.officers) {
		f.Officer = s.officers[i]
	}
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

var errBadDate = &UserError{Key: "supervisor.badDate", Msg: "ui: date not understood"}

// run queries the records and shows rows, counters and the chart, and
// says where the figures come from. From the device: its every matching
// record, counted. From the hub: a page of its records for the list, and
// its counters over every record in the range (HubCounters); when the hub
// cannot be asked (not enrolled, offline) the device's records and their
// counts instead, and the device's counts when only the counters fail.
func (s *supervisorScreen) run(a *App) {
	f, err := s.filter()
	if err != nil {
		s.message.SetText(userMessage(a.tr, err))
		return
	}
	token := strings.TrimSpace(s.token.Text)
	showRows := func(src rowSource, rows []Row, msg string) {
		s.shown, s.shownFilter, s.shownToken = src, f, token
		s.current = rows
		s.rows.set(rows)
		s.message.SetText(msg)
		if len(rows) == 0 && src != rowsNone {
			s.empty.Show()
		} else {
			s.empty.Hide()
		}
	}
	showCounts := func(perOfficer, perDay []Count, figures string) {
		s.perOfficer.SetText(countText(a.cat, perOfficer, func(id string) string { return officerLabel(s.names, id) }))
		s.perDay.SetText(countText(a.cat, perDay, nil))
		s.chart.set(perDay)
		s.figures.SetText(figures)
	}
	// device shows every matching record on the device and their counts,
	// after msg ("" for the count of records).
	device := func(msg string) {
		a.loadRows(f, func(rows []Row, err error) {
			if err != nil {
				showRows(rowsNone, nil, userMessage(a.tr, err))
				showCounts(nil, nil, "")
				return
			}
			if msg == "" {
				msg = a.tr("history.count", len(rows))
			}
			showRows(rowsDevice, rows, msg)
			showCounts(countBy(rows, byOfficer), countBy(rows, byDay), a.tr("supervisor.figuresDevice"))
		})
	}
	if !s.fromHub(a) {
		device("")
		return
	}
	a.loadHubRows(token, f, func(rows []Row, more bool, err error) {
		switch {
		case err != nil && hubUnavailable(err):
			device(userMessage(a.tr, err))
			return
		case err != nil:
			showRows(rowsNone, nil, userMessage(a.tr, err))
			showCounts(nil, nil, "")
			return
		case more:
			showRows(rowsHub, rows, a.tr("supervisor.hubMore", len(rows)))
		default:
			showRows(rowsHub, rows, a.tr("supervisor.hubCount", len(rows)))
		}
		countDevice := func(why string) {
			a.loadRows(f, func(drows []Row, derr error) {
				if derr != nil {
					showCounts(nil, nil, why)
					return
				}
				showCounts(countBy(drows, byOfficer), countBy(drows, byDay), a.tr("supervisor.figuresDevice")+"\n"+why)
			})
		}
		hc, ok := a.deps.HubRecords.(HubCounters)
		if !ok {
			countDevice(a.tr("supervisor.hubNoCounters"))
			return
		}
		a.loadHubCounters(hc, token, f, func(fig hubFigures, err error) {
			if err != nil {
				countDevice(a.tr("supervisor.hubNoCounters"))
				return
			}
			text := a.tr("supervisor.figuresHub")
			if fig.recentDays > 0 {
				text = a.tr("supervisor.figuresHubRecent", fig.recentDays)
			}
			if fig.datesOnly {
				text += "\n" + a.tr("supervisor.figuresDatesOnly")
			}
			showCounts(fig.perOfficer, fig.perDay, text)
		})
	})
}

// countText is one line per count; label names the key (nil: the key).
func countText(c *catalog, cs []Count, label func(string) string) string {
	if len(cs) == 0 {
		return c.T("supervisor.none")
	}
	lines := make([]string, len(cs))
	for i, x := range cs {
		k := x.Key
		if label != nil {
			k = label(k)
		}
		lines[i] = c.T("supervisor.countLine", k, x.Total, x.Valid, x.Limited, x.Invalid)
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

// export saves what the screen shows through the GUI's own save dialog
// (in the GUI's language): the hub's records as the hub's streamed export
// of every record the query selects (HubExport), the device's rows as
// they are.
func (s *supervisorScreen) export(a *App, format string) {
	name := fmt.Sprintf("roadcheck-%s.%s", a.deps.Clock.Now().In(credential.CST()).Format("20060102-1504"), format)
	if he, ok := a.deps.HubRecords.(HubExport); ok && s.shown == rowsHub {
		q, token := hubQuery(s.shownFilter), s.shownToken
		a.saveFileStream(name, func(ctx context.Context, w io.Writer) error {
			fyne.Do(func() { s.message.SetText(a.tr("supervisor.exportingHub")) })
			if _, err := he.ExportRecords(ctx, token, q, format, w); err != nil {
				if isHubErr(err) {
					return hubError(err)
				}
				return &UserError{Key: "file.writeFailed", Msg: "ui: save: " + err.Error(), Err: err}
			}
			return nil
		}, func(path string, err error) {
			if err != nil {
				s.message.SetText(userMessage(a.tr, err))
				return
			}
			msg := a.tr("supervisor.exportedHub", path)
			if f := s.shownFilter; strings.TrimSpace(f.Text) != "" || len(f.Verdicts) > 1 {
				msg += "\n" + a.tr("supervisor.exportedHubNote")
			}
			s.message.SetText(msg)
		})
		return
	}
	data, err := s.exportBytes(a.cat, format)
	if err != nil {
		s.message.SetText(userMessage(a.tr, err))
		return
	}
	a.saveFileDialog(name, data, func(path string, err error) {
		if err != nil {
			s.message.SetText(userMessage(a.tr, err))
			return
		}
		s.message.SetText(a.tr("supervisor.exported", len(s.current), path))
	})
}

// isHubErr reports whether err is the hub's (or the way to it), not the
// file's.
func isHubErr(err error) bool {
	for _, e := range []error{syncclient.ErrForbidden, syncclient.ErrUnreachable, syncclient.ErrNotEnrolled, syncclient.ErrHub,
		syncclient.ErrProtocol, ErrLocked, context.Canceled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
