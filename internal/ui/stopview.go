package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// stopActions are the stop view's callbacks and what it shows beyond the
// stop.
type stopActions struct {
	OnPlate func(string) // the observed plate changed (already set on the stop)
	OnNew   func()       // start a new stop
	// OnOutcome records one outcome for every licence of the stop and
	// returns how many it covered (nil: no outcome panel).
	OnOutcome func(records.Action, string) (int, error)
	// Drivers are the stop's other drivers (beyond the one in its slot).
	Drivers []*verify.Result
	// Findings are the stop's cross-check findings, other drivers
	// included (nil: st.Check()).
	Findings func() []stop.Finding
	// Licences is how many licences the stop holds (for the outcome panel).
	Licences int
	keys     *keyRouter // routes the plate field's keys through the wedge (may be nil)
}

// stopScreen shows the three slots of a stop and its cross-check warnings.
type stopScreen struct {
	root     fyne.CanvasObject
	slots    map[credential.Kind]*widget.Label
	plate    *wedgeEntry
	warnings *fyne.Container
	lines    []*wrapText
	// summary is the band above the slots: amber with the number of
	// findings, green when the three licences agree, hidden while
	// incomplete without findings.
	summary     *fyne.Container
	summaryBg   *canvas.Rectangle
	summaryText *canvas.Text
	newStop     *widget.Button
	drivers     []*widget.Label
	// The outcome for the whole stop.
	outcomes      map[records.Action]*widget.Button
	outcomeNotes  *wedgeEntry
	outcomeResult *widget.Label
	findings      func() []stop.Finding
}

// newStopScreen shows st.
func newStopScreen(c *catalog, st *stop.Stop, act stopActions) fyne.CanvasObject {
	return buildStopScreen(c, st, act).root
}

func buildStopScreen(c *catalog, st *stop.Stop, act stopActions) *stopScreen {
	s := &stopScreen{slots: map[credential.Kind]*widget.Label{}, outcomes: map[records.Action]*widget.Button{}, findings: act.Findings}
	if s.findings == nil {
		s.findings = st.Check
	}
	cards := container.New(&flowGrid{cols: []int{3, 1}})
	for _, k := range []credential.Kind{credential.KindPractitioner, credential.KindPermit, credential.KindVehicle} {
		cards.Add(slotCard(c, k, st.Slot(k), s))
	}
	for _, d := range act.Drivers {
		cr := d.Claims.Credential
		l := widget.NewLabel(c.T("stop.otherDriver", cr.Holder, c.verdictWord(d.Verdict)))
		l.Wrapping = fyne.TextWrapWord
		s.drivers = append(s.drivers, l)
	}
	s.plate = newWedgeEntry(act.keys)
	s.plate.SetPlaceHolder(c.T("stop.platePlaceholder"))
	s.plate.SetText(st.Plate)
	s.plate.OnChanged = func(p string) {
		st.Plate = p
		s.showWarnings(c, st)
		if act.OnPlate != nil {
			act.OnPlate(p)
		}
	}
	s.warnings = container.NewVBox()
	s.summaryBg = canvas.NewRectangle(verdictBand(verify.Limited))
	s.summaryText = canvas.NewText("", verdictInk(verify.Limited))
	s.summaryText.TextSize = 26
	s.summaryText.TextStyle.Bold = true
	s.summaryText.Alignment = fyne.TextAlignCenter
	s.summary = container.NewStack(s.summaryBg, container.NewPadded(s.summaryText))
	s.showWarnings(c, st)
	s.newStop = widget.NewButtonWithIcon(c.T("stop.new"), theme.ContentAddIcon(), func() {
		if act.OnNew != nil {
			act.OnNew()
		}
	})
	head := widget.NewLabelWithStyle(c.T("stop.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head.SizeName = theme.SizeNameSubHeadingText
	id := widget.NewLabel(c.T("stop.id", st.ID))
	id.Truncation = fyne.TextTruncateEllipsis
	plateRow := container.NewBorder(nil, nil, widget.NewLabel(c.T("stop.plate")), nil, s.plate)
	body := container.NewVBox(head, id, s.summary, cards)
	for _, l := range s.drivers {
		body.Add(container.NewBorder(nil, nil, widget.NewIcon(theme.AccountIcon()), nil, l))
	}
	body.Add(plateRow)
	body.Add(widget.NewSeparator())
	body.Add(s.warnings)
	if act.OnOutcome != nil && act.Licences > 0 {
		body.Add(widget.NewSeparator())
		body.Add(s.outcomePanel(c, act))
	}
	body.Add(s.newStop)
	s.root = container.NewVScroll(container.NewPadded(body))
	return s
}

// outcomePanel records one outcome for every licence of the stop.
func (s *stopScreen) outcomePanel(c *catalog, act stopActions) fyne.CanvasObject {
	title := widget.NewLabelWithStyle(c.T("stop.outcomeAll", act.Licences), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.Wrapping = fyne.TextWrapWord
	grid := container.New(&flowGrid{cols: []int{6, 3, 2}})
	s.outcomeNotes = newWedgeEntry(act.keys)
	s.outcomeNotes.SetPlaceHolder(c.T("verdict.notes"))
	s.outcomeResult = widget.NewLabel("")
	s.outcomeResult.Wrapping = fyne.TextWrapWord
	for _, a := range outcomeActions {
		b := widget.NewButton(actionName(c, a), func() {
			act.keys.settle()
			n, err := act.OnOutcome(a, s.outcomeNotes.Text)
			if err != nil {
				s.outcomeResult.Importance = widget.DangerImportance
				s.outcomeResult.SetText(userMessage(c.T, err))
				return
			}
			s.outcomeResult.Importance = widget.SuccessImportance
			s.outcomeResult.SetText(c.T("stop.outcomeSaved", actionName(c, a), n))
		})
		s.outcomes[a] = b
		grid.Add(b)
	}
	return container.NewVBox(title, grid, s.outcomeNotes, container.New(&reserveLayout{lines: 1}, s.outcomeResult))
}

// slotCard is one slot: its kind, and the licence in it or 未扫描.
func slotCard(c *catalog, k credential.Kind, res *verify.Result, s *stopScreen) fyne.CanvasObject {
	title := widget.NewLabelWithStyle(kindName(c, k), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	body := widget.NewLabel(c.T("stop.empty"))
	body.Alignment = fyne.TextAlignCenter
	body.Wrapping = fyne.TextWrapWord
	s.slots[k] = body
	var bg *canvas.Rectangle
	var word fyne.CanvasObject = widget.NewLabel("")
	if res == nil {
		bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	} else {
		bg = canvas.NewRectangle(verdictBand(res.Verdict))
		t := canvas.NewText(c.verdictWord(res.Verdict), verdictInk(res.Verdict))
		t.TextSize = 26
		t.TextStyle.Bold = true
		t.Alignment = fyne.TextAlignCenter
		word = t
		cr := res.Claims.Credential
		text := cr.Holder + "\n" + cr.Number
		if cr.Number == cr.HolderID {
			text = cr.Holder + "\n" + maskID(cr.Number)
		}
		if cr.Vehicle != nil {
			text = cr.Vehicle.Plate + "\n" + cr.Holder
		}
		body.SetText(text)
		body.Importance = widget.MediumImportance
	}
	border := canvas.NewRectangle(nil)
	border.StrokeColor = theme.Color(theme.ColorNameSeparator)
	border.StrokeWidth = 2
	inner := container.NewVBox(title, word)
	if res != nil {
		// Text on the verdict colour must use the verdict's ink.
		title.Importance = widget.MediumImportance
		txt := canvas.NewText(kindName(c, k), verdictInk(res.Verdict))
		txt.TextStyle.Bold = true
		txt.Alignment = fyne.TextAlignCenter
		inner = container.NewVBox(txt, word)
	}
	top := container.NewStack(bg, container.NewPadded(inner))
	return container.NewStack(border, container.NewBorder(top, nil, nil, nil, container.NewPadded(body)))
}

// showWarnings lists the stop's cross-check findings.
func (s *stopScreen) showWarnings(c *catalog, st *stop.Stop) {
	s.warnings.RemoveAll()
	s.lines = nil
	fs := s.findings()
	switch {
	case len(fs) > 0:
		s.setSummary(c.T("stop.findings", len(fs)), verify.Limited)
	case st.Complete():
		s.setSummary(c.T("stop.consistent"), verify.Valid)
	default:
		s.summary.Hide()
	}
	if len(fs) == 0 {
		key := "stop.noWarnings"
		if !st.Complete() {
			key = "stop.incomplete"
		}
		l := newWrapText(c.T(key), 0)
		s.lines = append(s.lines, l)
		s.warnings.Add(container.NewBorder(nil, nil, widget.NewIcon(theme.InfoIcon()), nil, l))
		return
	}
	for _, f := range fs {
		text := f.Chinese()
		if c.current() != LangZH {
			text = f.English()
		}
		l := newWrapText(text, 0)
		l.ColorName = theme.ColorNameError
		s.lines = append(s.lines, l)
		s.warnings.Add(container.NewBorder(nil, nil, widget.NewIcon(theme.WarningIcon()), nil, l))
	}
}

// setSummary shows text on the band in verdict v's colours.
func (s *stopScreen) setSummary(text string, v verify.Verdict) {
	s.summaryText.Text = text
	s.summaryText.Color = verdictInk(v)
	s.summaryBg.FillColor = verdictBand(v)
	s.summaryText.Refresh()
	s.summaryBg.Refresh()
	s.summary.Show()
}
