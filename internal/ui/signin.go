package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// signInScreen asks for officer ID and PIN (also after an auto-lock).
type signInScreen struct {
	root    fyne.CanvasObject
	id      *wedgeEntry
	pin     *wedgeEntry
	submit  *widget.Button
	lang    *widget.Button
	message *widget.Label
}

// newSignInScreen builds the sign-in screen of a.
func newSignInScreen(a *App) fyne.CanvasObject { return buildSignInScreen(a).root }

func buildSignInScreen(a *App) *signInScreen {
	s := &signInScreen{}
	title := canvas.NewText(Title, theme.Color(theme.ColorNameForeground))
	title.TextSize = 34
	title.TextStyle.Bold = true
	title.Alignment = fyne.TextAlignCenter
	sub := widget.NewLabel(a.tr("signin.subtitle"))
	sub.Alignment = fyne.TextAlignCenter
	if a.locked {
		sub.SetText(a.tr("signin.locked"))
	}
	s.id = newWedgeEntry(a.keys)
	s.id.SetPlaceHolder(a.tr("signin.id"))
	if a.locked && a.officer != nil {
		s.id.SetText(a.officer.ID)
	}
	s.pin = newWedgePasswordEntry(a.keys)
	s.pin.SetPlaceHolder(a.tr("signin.pin"))
	s.message = widget.NewLabel("")
	s.message.Importance = widget.DangerImportance
	s.message.Alignment = fyne.TextAlignCenter
	s.message.Wrapping = fyne.TextWrapWord // the card keeps its width
	s.submit = widget.NewButtonWithIcon(a.tr("signin.submit"), theme.LoginIcon(), func() { s.do(a) })
	s.submit.Importance = widget.HighImportance
	s.id.OnSubmitted = func(string) { a.win.Canvas().Focus(s.pin) }
	s.pin.OnSubmitted = func(string) { s.do(a) }
	other := LangEN
	if a.cat.current() == LangEN {
		other = LangZH
	}
	s.lang = widget.NewButtonWithIcon(map[Lang]string{LangEN: "English", LangZH: "中文"}[other], theme.ComputerIcon(), func() {
		a.setLang(other)
		a.showSignIn()
	})
	form := container.NewVBox(title, sub, s.id, s.pin, s.submit, s.message, s.lang)
	if a.deps.Demo {
		var hint []string
		for _, acc := range DemoAccounts() {
			hint = append(hint, fmt.Sprintf("%s / %s（%s）", acc.Officer.ID, acc.PIN, a.tr("role."+acc.Officer.Role.String())))
		}
		h := widget.NewLabel(a.tr("signin.demoHint") + "\n" + strings.Join(hint, "\n"))
		h.Alignment = fyne.TextAlignCenter
		form.Add(h)
	}
	card := container.New(&widthLayout{w: 440}, form)
	s.root = container.NewVScroll(container.NewVBox(layout.NewSpacer(), container.NewCenter(card), layout.NewSpacer()))
	return s
}

func (s *signInScreen) do(a *App) {
	a.keys.settle()
	id, pin := strings.TrimSpace(s.id.Text), s.pin.Text
	s.message.Importance = widget.DangerImportance
	if id == "" || pin == "" {
		s.message.SetText(a.tr("signin.missing"))
		return
	}
	s.submit.Disable()
	a.signIn(id, pin, func(err error) {
		s.submit.Enable()
		if err != nil {
			s.pin.SetText("")
			s.message.SetText(userMessage(a.tr, err))
		}
	})
}

// widthLayout gives its objects a fixed minimum width.
type widthLayout struct{ w float32 }

func (l *widthLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *widthLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return fyne.NewSize(max(s.Width, l.w), s.Height)
}
