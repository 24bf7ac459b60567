package ui

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// dateField is a date typed or picked: the field accepts 2026-11-28,
// 2026/11/28, 2026.11.28, 20261128 and 2026年11月28日 (and 11-28 for this
// year), and its calendar button opens a month view in the GUI's language
// (fyne's own date entry is English-only and reads the host's clock).
type dateField struct {
	root   fyne.CanvasObject
	entry  *wedgeEntry
	pick   *widget.Button
	a      *App
	shown  time.Time // the month the calendar shows
	popup  *widget.PopUp
	change func()
}

func newDateField(a *App, placeholder string, change func()) *dateField {
	f := &dateField{a: a, change: change}
	f.entry = newWedgeEntry(a.keys)
	f.entry.SetPlaceHolder(placeholder)
	f.entry.OnChanged = func(string) {
		if f.change != nil {
			f.change()
		}
	}
	f.pick = widget.NewButtonWithIcon("", theme.CalendarIcon(), f.open)
	f.root = container.NewBorder(nil, nil, nil, f.pick, f.entry)
	return f
}

var (
	dateDigits = regexp.MustCompile(`^(\d{4})\D?(\d{1,2})\D?(\d{1,2})\D?$`)
	dateShort  = regexp.MustCompile(`^(\d{1,2})\D(\d{1,2})\D?$`)
)

// parseDay reads a date in the forms dateField accepts; now gives the
// year of a month-day. ok is false for anything else.
func parseDay(s string, now time.Time) (credential.Date, bool) {
	s = strings.TrimSpace(s)
	var y, m, d int
	if g := dateDigits.FindStringSubmatch(s); g != nil {
		y, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		d, _ = strconv.Atoi(g[3])
	} else if g := dateShort.FindStringSubmatch(s); g != nil {
		y = now.In(credential.CST()).Year()
		m, _ = strconv.Atoi(g[1])
		d, _ = strconv.Atoi(g[2])
	} else {
		return credential.Date{}, false
	}
	date, err := credential.ParseDate(fmt.Sprintf("%04d-%02d-%02d", y, m, d))
	return date, err == nil
}

// value is the field's date; empty is ok with a zero date.
func (f *dateField) value() (credential.Date, bool, error) {
	t := strings.TrimSpace(f.entry.Text)
	if t == "" {
		return credential.Date{}, false, nil
	}
	d, ok := parseDay(t, f.a.deps.Clock.Now())
	if !ok {
		return credential.Date{}, false, errBadDate
	}
	return d, true, nil
}

func (f *dateField) set(d credential.Date) { f.entry.SetText(d.String()) }

// open shows the month of the field's date (or of today) in a popup.
func (f *dateField) open() {
	f.a.touch()
	if d, ok, err := f.value(); ok && err == nil {
		f.shown = d.Start()
	} else {
		f.shown = f.a.deps.Clock.Now().In(credential.CST())
	}
	c := fyne.CurrentApp().Driver().CanvasForObject(f.entry)
	if c == nil {
		return
	}
	f.popup = widget.NewModalPopUp(f.calendar(), c)
	f.popup.Show()
}

// calendar is the month view: month and year with previous and next, the
// weekdays, the days (each a button), today and close.
func (f *dateField) calendar() fyne.CanvasObject {
	a := f.a
	first := time.Date(f.shown.Year(), f.shown.Month(), 1, 0, 0, 0, 0, credential.CST())
	title := widget.NewLabelWithStyle(a.tr("date.month", first.Year(), int(first.Month())), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	move := func(months int) func() {
		return func() {
			f.shown = first.AddDate(0, months, 0)
			f.popup.Content = f.calendar()
			f.popup.Refresh()
		}
	}
	prev := widget.NewButtonWithIcon("", theme.NavigateBackIcon(), move(-1))
	next := widget.NewButtonWithIcon("", theme.NavigateNextIcon(), move(1))
	grid := container.NewGridWithColumns(7)
	for i := range 7 {
		grid.Add(widget.NewLabelWithStyle(a.tr(fmt.Sprintf("date.weekday%d", i)), fyne.TextAlignCenter, fyne.TextStyle{Bold: true}))
	}
	// Weeks start on Monday.
	for range (int(first.Weekday()) + 6) % 7 {
		grid.Add(widget.NewLabel(""))
	}
	today := a.deps.Clock.Now().In(credential.CST())
	for d := first; d.Month() == first.Month(); d = d.AddDate(0, 0, 1) {
		day := d
		b := widget.NewButton(strconv.Itoa(d.Day()), func() {
			f.set(credential.Date{Year: day.Year(), Month: day.Month(), Day: day.Day()})
			f.popup.Hide()
		})
		if day.Year() == today.Year() && day.YearDay() == today.YearDay() {
			b.Importance = widget.HighImportance
		}
		grid.Add(b)
	}
	todayB := widget.NewButton(a.tr("date.today"), func() {
		f.set(credential.Date{Year: today.Year(), Month: today.Month(), Day: today.Day()})
		f.popup.Hide()
	})
	clear := widget.NewButton(a.tr("date.clear"), func() { f.entry.SetText(""); f.popup.Hide() })
	closeB := widget.NewButton(a.tr("common.close"), func() { f.popup.Hide() })
	return container.NewVBox(container.NewBorder(nil, nil, prev, next, title), grid, container.NewGridWithColumns(3, todayB, clear, closeB))
}
