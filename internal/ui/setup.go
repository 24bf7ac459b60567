package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// setupScreen creates the first supervisor of a terminal whose officer
// directory is empty (first run outside demo mode). Afterwards the
// supervisor adds the other officers (Supervisor screen, or
// `roadcheck --add-officer`).
type setupScreen struct {
	root    fyne.CanvasObject
	id      *wedgeEntry
	name    *wedgeEntry
	pin     *wedgeEntry
	pin2    *wedgeEntry
	create  *widget.Button
	message *widget.Label
}

// needsSetup reports whether the officer directory is empty.
func (a *App) needsSetup() bool {
	adm, ok := a.deps.Officers.(OfficerAdmin)
	if !ok {
		return false
	}
	n, err := adm.Count(a.ctx)
	return err == nil && n == 0
}

func (a *App) showSetup() {
	a.tabs = nil
	a.signInScr = nil
	a.setupScr = buildSetupScreen(a)
	a.win.SetContent(a.withBanner(a.setupScr.root))
}

func buildSetupScreen(a *App) *setupScreen {
	s := &setupScreen{}
	title := canvas.NewText(Title, theme.Color(theme.ColorNameForeground))
	title.TextSize = 34
	title.TextStyle.Bold = true
	title.Alignment = fyne.TextAlignCenter
	intro := widget.NewLabel(a.tr("setup.intro"))
	intro.Wrapping = fyne.TextWrapWord
	s.id = newWedgeEntry(a.keys)
	s.id.SetPlaceHolder(a.tr("signin.id"))
	s.name = newWedgeEntry(a.keys)
	s.name.SetPlaceHolder(a.tr("setup.name"))
	s.pin = newWedgePasswordEntry(a.keys)
	s.pin.SetPlaceHolder(a.tr("setup.pin"))
	s.pin2 = newWedgePasswordEntry(a.keys)
	s.pin2.SetPlaceHolder(a.tr("setup.pin2"))
	s.message = widget.NewLabel("")
	s.message.Importance = widget.DangerImportance
	s.message.Wrapping = fyne.TextWrapWord
	s.create = widget.NewButtonWithIcon(a.tr("setup.create"), theme.ConfirmIcon(), func() { s.do(a) })
	s.create.Importance = widget.HighImportance
	s.pin2.OnSubmitted = func(string) { s.do(a) }
	form := container.NewVBox(title, widget.NewLabelWithStyle(a.tr("setup.title"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		intro, s.id, s.name, s.pin, s.pin2, s.create, s.message)
	card := container.New(&widthLayout{w: 480}, form)
	s.root = container.NewVScroll(container.NewVBox(layout.NewSpacer(), container.NewCenter(card), layout.NewSpacer()))
	return s
}

func (s *setupScreen) do(a *App) {
	adm, ok := a.deps.Officers.(OfficerAdmin)
	if !ok {
		return
	}
	a.keys.settle()
	s.message.Importance = widget.DangerImportance
	if s.pin.Text != s.pin2.Text {
		s.message.SetText(userMessage(a.tr, ErrPINMismatch))
		return
	}
	o := Officer{ID: strings.TrimSpace(s.id.Text), Name: strings.TrimSpace(s.name.Text), Role: RoleSupervisor}
	pin, ctx := s.pin.Text, a.ctx
	s.create.Disable()
	a.async(func() {
		err := adm.Add(ctx, o, pin)
		fyne.Do(func() {
			s.create.Enable()
			if err != nil {
				a.logErr("setup", err)
				s.pin.SetText("")
				s.pin2.SetText("")
				s.message.SetText(userMessage(a.tr, err))
				return
			}
			a.setupScr = nil
			a.showSignIn()
			a.signInScr.id.SetText(o.ID)
			a.signInScr.message.Importance = widget.SuccessImportance
			a.signInScr.message.SetText(a.tr("setup.done"))
		})
	})
}
