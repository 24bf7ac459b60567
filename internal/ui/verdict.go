package ui

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// verdictActions are the verdict screen's callbacks and what it shows
// beyond the result.
type verdictActions struct {
	// Outcome is the screen's kind; zero means classify(res). A neutral
	// outcome may come with a nil result (a text that is not an RTC code
	// is never verified).
	Outcome outcome
	// OnReveal is called once when the officer uncovers the holder ID (it
	// is logged in the record).
	OnReveal func()
	// OnAction records the outcome the officer tapped (one tap saves) with
	// the notes; an error is shown on screen and nothing is left.
	OnAction func(records.Action, string) error
	// OnNext goes back to scanning (the check on screen is recorded as
	// 未处置 by the App when it has no outcome yet).
	OnNext func()
	// OnStop opens the roadside stop view.
	OnStop func()
	// Prompt asks whether this licence starts a new stop: the stop
	// already holds another licence of its kind.
	Prompt stopPrompt
	// OnPrompt answers the prompt.
	OnPrompt func(stopAnswer)
	// Findings are the stop's cross-check findings (nil: st.Check()).
	Findings []stop.Finding
	// keys routes the notes field's keys through the wedge (may be nil).
	keys *keyRouter
}

// stopPrompt is the question a second licence of a kind raises.
type stopPrompt uint8

const (
	promptNone    stopPrompt = iota
	promptVehicle            // a second vehicle certificate or permit: a new vehicle?
	promptDriver             // a second driver: a new stop, or another driver of this vehicle?
)

// stopAnswer is the officer's answer to a stopPrompt.
type stopAnswer uint8

const (
	answerNewStop stopAnswer = iota + 1 // 开始新的路检 with this licence
	answerReplace                       // same vehicle: this licence replaces the earlier one
	answerDriver                        // another driver of the same vehicle
)

// verdictScreen is the full-screen verdict of one scan: the band (symbol,
// word, the line that identifies the licence, what was established), the
// reasons, the licence fields, and the outcome buttons; or, for a neutral
// outcome, what to do next.
type verdictScreen struct {
	root    fyne.CanvasObject
	kind    outcome
	symbol  *verdictSymbol
	word    *wrapText
	ident   *wrapText // plate, name or operator, large ("" hidden)
	sub     *wrapText
	band    *canvas.Rectangle
	reasons []*wrapText
	fields  map[string]*wrapText // by field key, when Claims are present
	reveal  *widget.Button
	actions map[records.Action]*widget.Button
	// selected is the outcome being saved (set while OnAction runs).
	selected records.Action
	notes    *wedgeEntry
	next     *widget.Button
	stopLink *widget.Button
	// promptBox holds the stop question and its buttons (nil: none).
	promptBox *fyne.Container
	newStop   *widget.Button
	replace   *widget.Button
	driver    *widget.Button
	errLabel  *widget.Label
	title     *widget.Label // the outcome panel's title (the error line replaces it)
	grid      *flowGrid     // the outcome buttons' layout
	// body holds the reason rows first (reasonRows of them), then the
	// online row once there is one, then the rest.
	body       *fyne.Container
	reasonRows int
	online     *widget.Label // the online check's line; nil until needed
	onlineIcon *widget.Icon
	onlineRow  fyne.CanvasObject
	// pending: the hub's answer is awaited; the outcome buttons stay
	// disabled meanwhile, so that no check is recorded on a verdict about
	// to change.
	pending bool
	c       *catalog
	layout  *verdictLayout
}

// Sizes of the verdict screen's text, in dp. Reasons are at least 28 dp:
// after the verdict itself the most important text, read at arm's length.
const (
	verdictWordSize  = 64
	verdictIdentSize = 44
	verdictSymbolMin = 96
	bandTextSize     = 28
	reasonTextSize   = 28
)

// newVerdictScreen shows res. st (may be nil) is the stop the result joined.
func newVerdictScreen(c *catalog, res *verify.Result, st *stop.Stop, act verdictActions) fyne.CanvasObject {
	return buildVerdictScreen(c, res, st, act).root
}

func buildVerdictScreen(c *catalog, res *verify.Result, st *stop.Stop, act verdictActions) *verdictScreen {
	o := act.Outcome
	if o == 0 {
		o = classify(res)
	}
	v := &verdictScreen{c: c, kind: o, fields: map[string]*wrapText{}, actions: map[records.Action]*widget.Button{}}

	// The band: symbol, word, identifying line, what was established.
	v.band = canvas.NewRectangle(outcomeBand(o))
	ink := outcomeInk(o)
	v.symbol = newVerdictSymbol(o, ink, verdictSymbolMin)
	wordSize := float32(verdictWordSize)
	if o.neutral() {
		wordSize = verdictIdentSize // a sentence, not a word
	}
	v.word = newWrapText(outcomeWord(c, o, res), wordSize)
	v.word.Bold, v.word.Color, v.word.Pad = true, ink, false
	v.ident = newWrapText(identLine(res, o), verdictIdentSize)
	v.ident.Bold, v.ident.Color, v.ident.Pad = true, ink, false
	v.ident.Hidden = v.ident.Text == ""
	v.sub = newWrapText(subtitle(c, res, o), bandTextSize)
	v.sub.Color = ink
	v.sub.Pad = false
	words := container.NewVBox(v.word, v.ident, v.sub)
	band := container.NewStack(v.band, container.NewPadded(container.NewBorder(nil, nil, v.symbol, nil, container.NewVBox(layout.NewSpacer(), words, layout.NewSpacer()))))

	if o.neutral() {
		v.buildNeutral(c, res, band, act)
		return v
	}

	// Reasons, one plain sentence each.
	body := container.NewVBox()
	v.body = body
	body.Objects = v.reasonRowsOf(c, res)
	v.reasonRows = len(body.Objects)
	if res.Online != nil {
		v.setOnline(c, res, false)
	}
	if act.Prompt != promptNone {
		v.promptBox = v.buildPrompt(c, res, act)
		body.Add(v.promptBox)
	}
	// The stop this code joined.
	if st != nil && st.Scans() > 0 && act.Prompt == promptNone {
		n := 0
		for k := credential.KindPractitioner; k <= credential.KindVehicle; k++ {
			if st.Slot(k) != nil {
				n++
			}
		}
		fs := act.Findings
		if fs == nil {
			fs = st.Check()
		}
		v.stopLink = widget.NewButtonWithIcon(c.T("verdict.stopSummary", n, len(fs)), theme.ListIcon(), func() {
			if act.OnStop != nil {
				act.OnStop()
			}
		})
		if len(fs) > 0 {
			v.stopLink.Importance = widget.WarningImportance
		}
		body.Add(v.stopLink)
	}
	var fields fyne.CanvasObject
	if res.Claims != nil {
		fields = v.licence(c, &res.Claims.Credential, act)
	}
	v.layout = &verdictLayout{band: band, left: body, right: fields, bottom: v.outcome(c, act)}
	v.layout.grids = []*flowGrid{v.grid}
	v.root = v.layout.container()
	return v
}

// buildNeutral lays out a screen that established nothing about a
// licence: the band, one sentence on what to do, 扫描下一个. No outcome.
func (v *verdictScreen) buildNeutral(c *catalog, res *verify.Result, band fyne.CanvasObject, act verdictActions) {
	hint := newWrapText(c.T("neutral.hint."+v.kind.String()), reasonTextSize)
	v.reasons = []*wrapText{hint}
	v.body = container.NewVBox(hint)
	v.reasonRows = 1
	v.next = widget.NewButtonWithIcon(c.T("verdict.next"), theme.NavigateNextIcon(), func() {
		if act.OnNext != nil {
			act.OnNext()
		}
	})
	v.next.Importance = widget.HighImportance
	v.layout = &verdictLayout{band: band, left: v.body, bottom: container.NewPadded(v.next)}
	v.root = v.layout.container()
}

// buildPrompt is the question a second licence of a kind raises, with its
// answers; until it is answered the licence is in no stop.
func (v *verdictScreen) buildPrompt(c *catalog, res *verify.Result, act verdictActions) *fyne.Container {
	answer := func(a stopAnswer) func() {
		return func() {
			if act.OnPrompt != nil {
				act.OnPrompt(a)
			}
		}
	}
	q := widget.NewLabel(c.T("stop.promptVehicle", kindName(c, res.Claims.Credential.Kind)))
	q.Wrapping = fyne.TextWrapWord
	q.Importance = widget.WarningImportance
	q.TextStyle.Bold = true
	v.newStop = widget.NewButtonWithIcon(c.T("stop.new"), theme.ContentAddIcon(), answer(answerNewStop))
	v.newStop.Importance = widget.HighImportance
	buttons := container.New(&flowGrid{cols: []int{3, 1}}, v.newStop)
	if act.Prompt == promptDriver {
		q.SetText(c.T("stop.promptDriver"))
		v.driver = widget.NewButtonWithIcon(c.T("stop.anotherDriver"), theme.AccountIcon(), answer(answerDriver))
		buttons.Add(v.driver)
	}
	v.replace = widget.NewButtonWithIcon(c.T("stop.replace"), theme.ViewRefreshIcon(), answer(answerReplace))
	buttons.Add(v.replace)
	return container.NewVBox(widget.NewSeparator(), q, buttons)
}

// reasonRowsOf lays out res's reasons, one row each (v.reasons follows).
// A reason the online check found is marked as such.
func (v *verdictScreen) reasonRowsOf(c *catalog, res *verify.Result) []fyne.CanvasObject {
	v.reasons = nil
	var rows []fyne.CanvasObject
	reason := func(text string, icon fyne.Resource, ink fyne.ThemeColorName) {
		l := newWrapText(text, reasonTextSize)
		l.ColorName = ink
		v.reasons = append(v.reasons, l)
		ic := widget.NewIcon(icon)
		rows = append(rows, container.NewBorder(nil, nil, container.New(&widthLayout{w: 36}, ic), nil, l))
	}
	if len(res.Reasons) == 0 {
		reason(c.T("verdict.allPassed"), theme.NewSuccessThemedResource(theme.ConfirmIcon()), theme.ColorNameForeground)
	}
	found := res.Online.Finding()
	for _, r := range res.Reasons {
		switch {
		case r == found:
			reason(c.reason(r)+c.foundOnline(), theme.NewErrorThemedResource(theme.ErrorIcon()), theme.ColorNameError)
		case r.IsWarning():
			reason(c.reason(r), theme.NewWarningThemedResource(theme.WarningIcon()), theme.ColorNameForeground)
		default:
			reason(c.reason(r), theme.NewErrorThemedResource(theme.ErrorIcon()), theme.ColorNameError)
		}
	}
	return rows
}

// setOnline shows the online check's line under the reasons: "asking the
// hub" while pending, then what the hub answered (or that it did not).
// Nothing is shown when the hub was not asked.
func (v *verdictScreen) setOnline(c *catalog, res *verify.Result, pending bool) {
	text, imp, icon := c.online(res), widget.MediumImportance, theme.InfoIcon()
	switch o := res.Online; {
	case pending:
		text, icon = c.onlinePending(), theme.SearchIcon()
	case o.Finding() != 0:
		imp, icon = widget.DangerImportance, theme.NewErrorThemedResource(theme.ErrorIcon())
	case !o.Answered() || o.Behind || o.Status == verify.OnlineUnknown:
		imp, icon = widget.WarningImportance, theme.NewWarningThemedResource(theme.WarningIcon())
	default:
		imp, icon = widget.SuccessImportance, theme.NewSuccessThemedResource(theme.ConfirmIcon())
	}
	v.pending = pending
	v.enableActions()
	switch {
	case text == "" && v.onlineRow != nil: // the hub was not asked after all
		v.body.Objects = slices.DeleteFunc(v.body.Objects, func(o fyne.CanvasObject) bool { return o == v.onlineRow })
		v.body.Refresh()
		v.online, v.onlineIcon, v.onlineRow = nil, nil, nil
		return
	case text == "":
		return
	case v.online == nil:
		v.online = widget.NewLabel("")
		v.online.Wrapping = fyne.TextWrapWord
		v.onlineIcon = widget.NewIcon(icon)
		v.onlineRow = container.NewBorder(nil, nil, container.New(&widthLayout{w: 36}, v.onlineIcon), nil, v.online)
		v.body.Objects = slices.Insert(v.body.Objects, v.reasonRows, v.onlineRow)
		v.body.Refresh()
	}
	v.online.SetText(text)
	v.online.Importance = imp
	v.online.Refresh()
	v.onlineIcon.SetResource(icon)
}

// enableActions enables the outcome buttons unless the hub's answer is
// awaited.
func (v *verdictScreen) enableActions() {
	for _, b := range v.actions {
		if v.pending {
			b.Disable()
		} else {
			b.Enable()
		}
	}
}

// update shows res, the same check after its online confirmation: the
// band, the word and the reasons follow the new verdict; the notes typed
// stay.
func (v *verdictScreen) update(c *catalog, res *verify.Result) {
	o := classify(res)
	v.kind = o
	v.band.FillColor = outcomeBand(o)
	v.band.Refresh()
	ink := outcomeInk(o)
	v.symbol.set(o, ink)
	v.word.Color = ink
	v.word.SetText(outcomeWord(c, o, res))
	v.ident.Color = ink
	v.ident.Refresh()
	v.sub.Color = ink
	v.sub.SetText(subtitle(c, res, o))
	rows := v.reasonRowsOf(c, res)
	v.body.Objects = append(rows, v.body.Objects[v.reasonRows:]...)
	v.reasonRows = len(rows)
	v.body.Refresh()
	v.setOnline(c, res, false)
}

// outcomeWord is the band's word: the verdict, or the neutral screen's
// sentence.
func outcomeWord(c *catalog, o outcome, res *verify.Result) string {
	switch o {
	case outcomeValid:
		return c.verdictWord(verify.Valid)
	case outcomeLimited:
		return c.verdictWord(verify.Limited)
	case outcomeInvalid:
		return c.verdictWord(verify.Invalid)
	}
	return c.T("neutral." + o.String())
}

// identLine is the one line that identifies the licence, in large type:
// the plate of a vehicle, the name of a driver, the operator of a permit.
// Only verified claims are shown.
func identLine(res *verify.Result, o outcome) string {
	if o.neutral() || res == nil || res.Claims == nil {
		return ""
	}
	cr := res.Claims.Credential
	if cr.Vehicle != nil && cr.Vehicle.Plate != "" {
		return cr.Vehicle.Plate
	}
	return cr.Holder
}

// subtitle is the band's last line: the licence kind and number for a
// licence, what was established for a red verdict without one.
func subtitle(c *catalog, res *verify.Result, o outcome) string {
	if o.neutral() {
		return c.T("neutral.sub." + o.String())
	}
	est := established(res)
	if res.Claims == nil {
		if est == "" {
			return c.T("verdict.noClaims")
		}
		return c.T(est)
	}
	cr := res.Claims.Credential
	line := kindName(c, cr.Kind)
	if est != "" {
		return line + " · " + c.T(est)
	}
	return line
}

type field struct{ key, value string }

// licence lays out the credential's fields, the key ones first (what
// identifies it and whether it is in force), so that they are on screen
// without scrolling; then the rest.
func (v *verdictScreen) licence(c *catalog, cr *credential.Credential, act verdictActions) fyne.CanvasObject {
	// The holder ID (and a practitioner's number, which is usually the same
	// ID card number) stays masked until the officer taps 显示.
	numberIsID := cr.Number == cr.HolderID
	number := cr.Number
	if numberIsID {
		number = maskID(number)
	}
	const holderID = "field.holderId" // its row carries the reveal button
	var fs []field
	switch {
	case cr.Vehicle != nil:
		p := cr.Vehicle
		plate := p.Plate
		if p.PlateColour != "" {
			plate += "（" + p.PlateColour + "）"
		}
		fs = []field{{"field.plate", plate}, {"field.operator", p.Operator}, {"field.number", number},
			{"field.validUntil", cr.ValidUntil.String()}, {"field.reviewUntil", p.ReviewUntil.String()},
			{"field.operatorLicence", p.OperatorLicence}, {"field.vehicleScope", p.Scope}, {"field.vehicleType", p.VehicleType},
			{"field.capacity", p.Capacity}, {"field.dimensions", p.Dimensions}}
		if cr.Holder != p.Operator {
			fs = append(fs, field{"field.holder", cr.Holder})
		}
		fs = append(fs, field{holderID, ""})
	case cr.Practitioner != nil:
		p := cr.Practitioner
		fs = []field{{"field.holder", cr.Holder}, {holderID, ""}, {"field.validUntil", cr.ValidUntil.String()},
			{"field.number", number}, {"field.categories", strings.Join(p.Categories, "、")},
			{"field.vehicleClass", p.VehicleClass}, {"field.integrityGrade", p.IntegrityGrade},
			{"field.sex", p.Sex}, {"field.birthDate", p.BirthDate.String()}, {"field.integrityDate", p.IntegrityDate.String()}}
	case cr.Permit != nil:
		p := cr.Permit
		fs = []field{{"field.holder", cr.Holder}, {"field.number", number}, {"field.scope", p.Scope},
			{"field.validUntil", cr.ValidUntil.String()}, {holderID, ""}, {"field.address", p.Address}, {"field.economicType", p.EconomicType}}
	default:
		fs = []field{{"field.holder", cr.Holder}, {"field.number", number}, {"field.validUntil", cr.ValidUntil.String()}, {holderID, ""}}
	}
	fs = append(fs,
		field{"field.holderIdType", holderIDType(c, cr.HolderIDType)},
		field{"field.authority", fmt.Sprintf("%s（%s）", cr.Authority, cr.AuthorityCode)},
		field{"field.issued", cr.Issued.String()},
		field{"field.validFrom", cr.ValidFrom.String()})

	form := container.New(layout.NewFormLayout())
	for _, f := range fs {
		key := widget.NewLabelWithStyle(c.T(f.key), fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
		if f.key == holderID {
			idVal := newWrapText(maskID(cr.HolderID), 0)
			v.fields[holderID] = idVal
			v.reveal = widget.NewButtonWithIcon(c.T("verdict.reveal"), theme.VisibilityIcon(), nil)
			v.reveal.OnTapped = func() {
				idVal.SetText(cr.HolderID)
				if numberIsID {
					v.fields["field.number"].SetText(cr.Number)
				}
				v.reveal.Hide()
				if act.OnReveal != nil {
					act.OnReveal()
				}
			}
			form.Add(key)
			form.Add(container.NewBorder(nil, nil, nil, v.reveal, idVal))
			continue
		}
		if f.value == "" {
			continue
		}
		val := newWrapText(f.value, 0)
		v.fields[f.key] = val
		form.Add(key)
		form.Add(val)
	}
	return form
}

func holderIDType(c *catalog, t credential.HolderIDType) string {
	if c.current() == LangZH {
		return t.ChineseName()
	}
	return c.T(fmt.Sprintf("holderIdType.%d", t))
}

// outcomeActions are the outcome buttons, in order.
var outcomeActions = []records.Action{records.ActionRelease, records.ActionWarning, records.ActionCorrection,
	records.ActionPenalty, records.ActionDetain, records.ActionOther}

// outcome is the action panel: one tap on an outcome saves it. 其他 needs
// the notes to say what was done. The error line keeps its space, so that
// nothing moves under the officer's finger when it appears.
func (v *verdictScreen) outcome(c *catalog, act verdictActions) fyne.CanvasObject {
	v.grid = &flowGrid{cols: []int{6, 3, 2}}
	grid := container.New(v.grid)
	for _, a := range outcomeActions {
		b := widget.NewButton(actionName(c, a), nil)
		b.OnTapped = func() { v.tap(c, a, act) }
		v.actions[a] = b
		grid.Add(b)
	}
	v.notes = newWedgeEntry(act.keys)
	v.notes.SetPlaceHolder(c.T("verdict.notes"))
	// The error line takes the title's place: it appears without moving
	// the buttons.
	v.title = widget.NewLabelWithStyle(c.T("verdict.outcome"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.title.Truncation = fyne.TextTruncateEllipsis
	v.errLabel = widget.NewLabel("")
	v.errLabel.Importance = widget.DangerImportance
	v.errLabel.Truncation = fyne.TextTruncateEllipsis
	v.errLabel.Hide()
	v.next = widget.NewButtonWithIcon(c.T("verdict.next"), theme.NavigateNextIcon(), func() {
		if act.OnNext != nil {
			act.OnNext()
		}
	})
	v.enableActions()
	return container.NewVBox(widget.NewSeparator(), container.NewStack(v.title, v.errLabel), grid,
		container.NewBorder(nil, nil, nil, v.next, v.notes))
}

// tap saves outcome a with the notes.
func (v *verdictScreen) tap(c *catalog, a records.Action, act verdictActions) {
	if act.OnAction == nil || v.pending {
		return
	}
	act.keys.settle()
	v.selected = a
	err := act.OnAction(a, v.notes.Text)
	v.selected = 0
	if err != nil {
		v.errLabel.SetText(userMessage(c.T, err))
		v.errLabel.Show()
		v.title.Hide()
		if a == records.ActionOther {
			if cv := fyne.CurrentApp(); cv != nil && len(cv.Driver().AllWindows()) > 0 {
				cv.Driver().AllWindows()[0].Canvas().Focus(v.notes)
			}
		}
		return
	}
	v.errLabel.SetText("")
	v.errLabel.Hide()
	v.title.Show()
}

// verdictLayout places the band across the full width, at least a third
// of the height; the outcome panel at the bottom; the reasons and the
// licence fields between them, side by side when the screen is wide
// (each scrolling on its own), one above the other otherwise.
type verdictLayout struct {
	band, left, right, bottom fyne.CanvasObject
	// grids in the bottom panel learn its width before it is measured.
	grids  []*flowGrid
	wide   *bool
	holder *fyne.Container // the middle part, rebuilt when wide changes
	root   *fyne.Container
}

func (l *verdictLayout) container() *fyne.Container {
	l.holder = container.NewStack()
	objs := []fyne.CanvasObject{l.band, l.holder}
	if l.bottom != nil {
		objs = append(objs, l.bottom)
	}
	l.root = container.New(l, objs...)
	l.arrange(false)
	return l.root
}

// arrange builds the middle part for a wide or a narrow screen.
func (l *verdictLayout) arrange(wide bool) {
	if l.wide != nil && *l.wide == wide {
		return
	}
	l.wide = &wide
	var mid fyne.CanvasObject
	switch {
	case l.right == nil:
		mid = container.NewVScroll(container.NewPadded(l.left))
	case wide:
		mid = container.NewGridWithColumns(2, container.NewVScroll(container.NewPadded(l.left)), container.NewVScroll(container.NewPadded(l.right)))
	default:
		mid = container.NewVScroll(container.NewPadded(container.NewVBox(l.left, widget.NewSeparator(), l.right)))
	}
	l.holder.Objects = []fyne.CanvasObject{mid}
	l.holder.Refresh()
}

func (l *verdictLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	l.arrange(size.Width >= 900 && size.Width > size.Height)
	bandH := max(size.Height/3, l.band.MinSize().Height)
	for _, g := range l.grids {
		g.width = size.Width
	}
	var bottomH float32
	if l.bottom != nil {
		bottomH = l.bottom.MinSize().Height
		l.bottom.Move(fyne.NewPos(0, size.Height-bottomH))
		l.bottom.Resize(fyne.NewSize(size.Width, bottomH))
	}
	bandH = min(bandH, max(0, size.Height-bottomH))
	l.band.Move(fyne.NewPos(0, 0))
	l.band.Resize(fyne.NewSize(size.Width, bandH))
	l.holder.Move(fyne.NewPos(0, bandH))
	l.holder.Resize(fyne.NewSize(size.Width, max(0, size.Height-bandH-bottomH)))
}

func (l *verdictLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	w := l.band.MinSize().Width
	h := l.band.MinSize().Height
	if l.bottom != nil {
		w = max(w, l.bottom.MinSize().Width)
		h += l.bottom.MinSize().Height
	}
	return fyne.NewSize(w, h+MinTouch)
}

// flowGrid lays its objects out in equal cells, in the largest number of
// columns of cols whose cells are all wide enough for their content (six
// outcome buttons in one row on a landscape tablet, three or two per row
// on a phone, each button's text whole).
type flowGrid struct {
	cols []int
	// width is the width it was last laid out at (or told by its parent);
	// MinSize answers for it (0: for the fewest columns).
	width float32
}

func (g *flowGrid) columns(objs []fyne.CanvasObject, width float32) int {
	var cell float32
	for _, o := range objs {
		if o.Visible() {
			cell = max(cell, o.MinSize().Width)
		}
	}
	pad := theme.Padding()
	for _, n := range g.cols {
		if float32(n)*cell+float32(n-1)*pad <= width {
			return n
		}
	}
	return 1
}

func (g *flowGrid) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	g.width = size.Width
	n := g.columns(objs, size.Width)
	pad := theme.Padding()
	cw := (size.Width - float32(n-1)*pad) / float32(n)
	var rowH float32
	for _, o := range objs {
		rowH = max(rowH, o.MinSize().Height)
	}
	i := 0
	for _, o := range objs {
		if !o.Visible() {
			continue
		}
		r, col := i/n, i%n
		o.Move(fyne.NewPos(float32(col)*(cw+pad), float32(r)*(rowH+pad)))
		o.Resize(fyne.NewSize(cw, rowH))
		i++
	}
}

func (g *flowGrid) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var cell fyne.Size
	n := 0
	for _, o := range objs {
		if o.Visible() {
			cell = cell.Max(o.MinSize())
			n++
		}
	}
	if n == 0 {
		return fyne.Size{}
	}
	// The height is that of the columns used at the known width (before
	// one is known, of the fewest columns, so that nothing is cut); the
	// width that of one column.
	cols := g.cols[len(g.cols)-1]
	if g.width > 0 {
		cols = g.columns(objs, g.width)
	}
	rows := (n + cols - 1) / cols
	return fyne.NewSize(cell.Width, float32(rows)*cell.Height+float32(rows-1)*theme.Padding())
}

// reserveLayout keeps room for lines of text even while its label is
// empty, so that a message appearing moves nothing.
type reserveLayout struct{ lines int }

func (l *reserveLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *reserveLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	line := fyne.MeasureText("国", theme.TextSize(), fyne.TextStyle{}).Height
	h := float32(l.lines)*line + 2*theme.InnerPadding()
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return fyne.NewSize(s.Width, max(h, s.Height))
}
