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

// verdictActions are the verdict screen's callbacks.
type verdictActions struct {
	// OnReveal is called once when the officer uncovers the holder ID (it
	// is logged in the record).
	OnReveal func()
	// OnSave records the action and notes; an error is shown on screen.
	OnSave func(records.Action, string) error
	// OnNext goes back to scanning without recording.
	OnNext func()
	// OnStop opens the roadside stop view.
	OnStop func()
	// keys routes the notes field's keys through the wedge (may be nil).
	keys *keyRouter
}

// verdictScreen is the verdict of one code: colour band, reasons, licence
// fields, outcome.
type verdictScreen struct {
	root     fyne.CanvasObject
	word     *canvas.Text
	sub      *canvas.Text
	band     *canvas.Rectangle
	reasons  []*widget.Label
	fields   map[string]*widget.Label // by field key, when Claims are present
	reveal   *widget.Button
	actions  map[records.Action]*widget.Button
	selected records.Action
	notes    *wedgeEntry
	save     *widget.Button
	next     *widget.Button
	stopLink *widget.Button
	errLabel *widget.Label
	// body holds the reason rows first (reasonRows of them), then the
	// online row once there is one, then the rest.
	body       *fyne.Container
	reasonRows int
	online     *widget.Label // the online check's line; nil until needed
	onlineIcon *widget.Icon
	onlineRow  fyne.CanvasObject
	// pending: the hub's answer is awaited; 保存 stays disabled meanwhile,
	// so that no check is recorded on a verdict about to change.
	pending bool
}

// newVerdictScreen shows res. st (may be nil) is the stop the result joined.
func newVerdictScreen(c *catalog, res *verify.Result, st *stop.Stop, act verdictActions) fyne.CanvasObject {
	return buildVerdictScreen(c, res, st, act).root
}

func buildVerdictScreen(c *catalog, res *verify.Result, st *stop.Stop, act verdictActions) *verdictScreen {
	v := &verdictScreen{fields: map[string]*widget.Label{}, actions: map[records.Action]*widget.Button{}}

	// Colour band: the verdict word, readable at arm's length.
	v.band = canvas.NewRectangle(verdictBand(res.Verdict))
	v.word = canvas.NewText(c.verdictWord(res.Verdict), verdictInk(res.Verdict))
	v.word.TextSize = 64
	v.word.TextStyle.Bold = true
	v.word.Alignment = fyne.TextAlignCenter
	sub := canvas.NewText(subtitle(c, res), verdictInk(res.Verdict))
	sub.TextSize = 22
	sub.Alignment = fyne.TextAlignCenter
	v.sub = sub
	band := container.NewStack(v.band, container.NewPadded(container.NewVBox(v.word, sub)))

	// Reasons, one plain sentence each: after the verdict word the most
	// important text on screen, so large.
	body := container.NewVBox()
	v.body = body
	body.Objects = v.reasonRowsOf(c, res)
	v.reasonRows = len(body.Objects)
	if res.Online != nil {
		v.setOnline(c, res, false)
	}

	// The stop this code joined.
	if st != nil && st.Scans() > 0 {
		n := 0
		for k := credential.KindPractitioner; k <= credential.KindVehicle; k++ {
			if st.Slot(k) != nil {
				n++
			}
		}
		v.stopLink = widget.NewButtonWithIcon(c.T("verdict.stopSummary", n, len(st.Check())), theme.ListIcon(), func() {
			if act.OnStop != nil {
				act.OnStop()
			}
		})
		if len(st.Check()) > 0 {
			v.stopLink.Importance = widget.WarningImportance
		}
		body.Add(v.stopLink)
	}

	// Licence data: only verified claims.
	if res.Claims != nil {
		body.Add(widget.NewSeparator())
		body.Add(v.licence(c, &res.Claims.Credential, act))
	}

	v.root = container.NewBorder(band, v.outcome(c, act), nil, nil, container.NewVScroll(container.NewPadded(body)))
	return v
}

// reasonRowsOf lays out res's reasons, one row each (v.reasons follows).
// A reason the online check found is marked as such.
func (v *verdictScreen) reasonRowsOf(c *catalog, res *verify.Result) []fyne.CanvasObject {
	v.reasons = nil
	var rows []fyne.CanvasObject
	reason := func(text string, icon fyne.Resource, imp widget.Importance) {
		l := widget.NewLabel(text)
		l.Wrapping = fyne.TextWrapWord
		l.SizeName = theme.SizeNameSubHeadingText
		l.Importance = imp
		v.reasons = append(v.reasons, l)
		ic := widget.NewIcon(icon)
		rows = append(rows, container.NewBorder(nil, nil, container.New(&widthLayout{w: 32}, ic), nil, l))
	}
	if len(res.Reasons) == 0 {
		reason(c.T("verdict.allPassed"), theme.NewSuccessThemedResource(theme.ConfirmIcon()), widget.MediumImportance)
	}
	found := res.Online.Finding()
	for _, r := range res.Reasons {
		switch {
		case r == found:
			reason(c.reason(r)+c.foundOnline(), theme.NewErrorThemedResource(theme.ErrorIcon()), widget.DangerImportance)
		case r.IsWarning():
			reason(c.reason(r), theme.NewWarningThemedResource(theme.WarningIcon()), widget.MediumImportance)
		default:
			reason(c.reason(r), theme.NewErrorThemedResource(theme.ErrorIcon()), widget.DangerImportance)
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
	if v.save != nil {
		if !pending && v.selected != 0 {
			v.save.Enable()
		} else {
			v.save.Disable()
		}
	}
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
		v.onlineRow = container.NewBorder(nil, nil, container.New(&widthLayout{w: 32}, v.onlineIcon), nil, v.online)
		v.body.Objects = slices.Insert(v.body.Objects, v.reasonRows, v.onlineRow)
		v.body.Refresh()
	}
	v.online.SetText(text)
	v.online.Importance = imp
	v.online.Refresh()
	v.onlineIcon.SetResource(icon)
}

// update shows res, the same check after its online confirmation: the
// band, the word and the reasons follow the new verdict; the action picked
// and the notes typed stay.
func (v *verdictScreen) update(c *catalog, res *verify.Result) {
	v.band.FillColor = verdictBand(res.Verdict)
	v.band.Refresh()
	v.word.Text = c.verdictWord(res.Verdict)
	v.word.Color = verdictInk(res.Verdict)
	v.word.Refresh()
	v.sub.Color = verdictInk(res.Verdict)
	v.sub.Refresh()
	rows := v.reasonRowsOf(c, res)
	v.body.Objects = append(rows, v.body.Objects[v.reasonRows:]...)
	v.reasonRows = len(rows)
	v.body.Refresh()
	v.setOnline(c, res, false)
}

func subtitle(c *catalog, res *verify.Result) string {
	if res.Claims == nil {
		return c.T("verdict.noLicence")
	}
	cr := res.Claims.Credential
	name := kindName(c, cr.Kind)
	if cr.Vehicle != nil {
		return name + " · " + cr.Vehicle.Plate
	}
	return name + " · " + cr.Holder
}

type field struct{ key, value string }

// licence lays out the credential's fields, grouped: common, then the kind's.
func (v *verdictScreen) licence(c *catalog, cr *credential.Credential, act verdictActions) fyne.CanvasObject {
	title := cr.Title
	if title == "" {
		title = kindName(c, cr.Kind)
	}
	heading := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	heading.SizeName = theme.SizeNameSubHeadingText

	// The holder ID (and a practitioner's number, which is usually the same
	// ID card number) stays masked until the officer taps 显示.
	numberIsID := cr.Number == cr.HolderID
	number := cr.Number
	if numberIsID {
		number = maskID(number)
	}
	common := []field{
		{"field.number", number},
		{"field.holder", cr.Holder},
		{"field.holderIdType", holderIDType(c, cr.HolderIDType)},
	}
	after := []field{
		{"field.authority", fmt.Sprintf("%s（%s）", cr.Authority, cr.AuthorityCode)},
		{"field.issued", cr.Issued.String()},
		{"field.validFrom", cr.ValidFrom.String()},
		{"field.validUntil", cr.ValidUntil.String()},
	}
	var kind []field
	switch {
	case cr.Practitioner != nil:
		p := cr.Practitioner
		kind = []field{
			{"field.categories", strings.Join(p.Categories, "、")},
			{"field.sex", p.Sex},
			{"field.birthDate", p.BirthDate.String()},
			{"field.vehicleClass", p.VehicleClass},
			{"field.integrityGrade", p.IntegrityGrade},
			{"field.integrityDate", p.IntegrityDate.String()},
		}
	case cr.Permit != nil:
		p := cr.Permit
		kind = []field{{"field.scope", p.Scope}, {"field.address", p.Address}, {"field.economicType", p.EconomicType}}
	case cr.Vehicle != nil:
		p := cr.Vehicle
		plate := p.Plate
		if p.PlateColour != "" {
			plate += "（" + p.PlateColour + "）"
		}
		kind = []field{
			{"field.plate", plate},
			{"field.operator", p.Operator},
			{"field.operatorLicence", p.OperatorLicence},
			{"field.vehicleType", p.VehicleType},
			{"field.capacity", p.Capacity},
			{"field.dimensions", p.Dimensions},
			{"field.vehicleScope", p.Scope},
			{"field.reviewUntil", p.ReviewUntil.String()},
		}
	}

	form := container.New(layout.NewFormLayout())
	add := func(fs []field) {
		for _, f := range fs {
			if f.value == "" {
				continue
			}
			key := widget.NewLabelWithStyle(c.T(f.key), fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
			val := widget.NewLabel(f.value)
			val.Wrapping = fyne.TextWrapWord
			v.fields[f.key] = val
			form.Add(key)
			form.Add(val)
		}
	}
	add(common)
	// Holder ID with its reveal button.
	idVal := widget.NewLabel(maskID(cr.HolderID))
	v.fields["field.holderId"] = idVal
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
	form.Add(widget.NewLabelWithStyle(c.T("field.holderId"), fyne.TextAlignTrailing, fyne.TextStyle{Bold: true}))
	form.Add(container.NewBorder(nil, nil, nil, v.reveal, idVal))
	add(after)
	add(kind)
	return container.NewVBox(heading, form)
}

func holderIDType(c *catalog, t credential.HolderIDType) string {
	if c.current() == LangZH {
		return t.ChineseName()
	}
	return c.T(fmt.Sprintf("holderIdType.%d", t))
}

// outcome is the action panel: one tap picks the action, one tap saves it.
func (v *verdictScreen) outcome(c *catalog, act verdictActions) fyne.CanvasObject {
	grid := container.NewGridWithColumns(6)
	for _, a := range []records.Action{records.ActionRelease, records.ActionWarning, records.ActionCorrection,
		records.ActionPenalty, records.ActionDetain, records.ActionOther} {
		b := widget.NewButton(actionName(c, a), nil)
		b.OnTapped = func() { v.pick(a) }
		v.actions[a] = b
		grid.Add(b)
	}
	v.notes = newWedgeEntry(act.keys)
	v.notes.SetPlaceHolder(c.T("verdict.notes"))
	v.errLabel = widget.NewLabel("")
	v.errLabel.Importance = widget.DangerImportance
	v.errLabel.Wrapping = fyne.TextWrapWord
	v.errLabel.Hide()
	v.save = widget.NewButtonWithIcon(c.T("verdict.save"), theme.DocumentSaveIcon(), func() {
		if act.OnSave == nil || v.selected == 0 || v.pending {
			return
		}
		act.keys.settle()
		if err := act.OnSave(v.selected, v.notes.Text); err != nil {
			v.errLabel.SetText(userMessage(c.T, err))
			v.errLabel.Show()
		}
	})
	v.save.Importance = widget.HighImportance
	v.save.Disable()
	v.next = widget.NewButtonWithIcon(c.T("verdict.next"), theme.NavigateNextIcon(), func() {
		if act.OnNext != nil {
			act.OnNext()
		}
	})
	title := widget.NewLabelWithStyle(c.T("verdict.outcome"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewVBox(widget.NewSeparator(), title, grid, container.NewBorder(nil, nil, nil, container.NewHBox(v.save, v.next), v.notes), v.errLabel)
}

// pick selects action a (highlighted) and enables 保存.
func (v *verdictScreen) pick(a records.Action) {
	v.selected = a
	for x, b := range v.actions {
		if x == a {
			b.Importance = widget.HighImportance
		} else {
			b.Importance = widget.MediumImportance
		}
		b.Refresh()
	}
	if !v.pending {
		v.save.Enable()
	}
}
