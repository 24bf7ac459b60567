package ui

import (
	"fmt"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// settingsScreen edits Settings and shows the trust store read-only.
type settingsScreen struct {
	root     fyne.CanvasObject
	hub      *widget.Entry
	camera   *widget.Select
	lang     *widget.RadioGroup
	palette  *widget.RadioGroup
	skew     *widget.Entry
	maxAge   *widget.Entry
	autoLock *widget.Entry
	save     *widget.Button
	message  *widget.Label
	trust    *widget.Label
	signOut  *widget.Button
}

// newSettingsScreen builds the settings screen of a.
func newSettingsScreen(a *App) fyne.CanvasObject { return buildSettingsScreen(a).root }

func buildSettingsScreen(a *App) *settingsScreen {
	s := &settingsScreen{}
	cur := a.set
	s.hub = widget.NewEntry()
	s.hub.SetPlaceHolder("https://hub.example.cn")
	s.hub.SetText(cur.HubURL)
	var cams []string
	if a.deps.Camera != nil {
		cams = a.deps.Camera.Devices()
	}
	s.camera = widget.NewSelect(cams, nil)
	s.camera.PlaceHolder = a.tr("settings.noCamera")
	if cur.Camera != "" {
		s.camera.SetSelected(cur.Camera)
	}
	langs := map[string]Lang{"中文": LangZH, "English": LangEN}
	s.lang = widget.NewRadioGroup([]string{"中文", "English"}, nil)
	s.lang.Horizontal = true
	s.lang.SetSelected(map[Lang]string{LangZH: "中文", LangEN: "English"}[cur.Lang])
	pals := map[string]Palette{a.tr("settings.light"): PaletteLight, a.tr("settings.dark"): PaletteDark}
	s.palette = widget.NewRadioGroup([]string{a.tr("settings.light"), a.tr("settings.dark")}, nil)
	s.palette.Horizontal = true
	if cur.Palette == PaletteDark {
		s.palette.SetSelected(a.tr("settings.dark"))
	} else {
		s.palette.SetSelected(a.tr("settings.light"))
	}
	s.skew = widget.NewEntry()
	s.skew.SetText(strconv.Itoa(int(cur.Policy.ClockSkew / time.Second)))
	s.maxAge = widget.NewEntry()
	s.maxAge.SetText(strconv.Itoa(int(cur.Policy.MaxTrustAge / (24 * time.Hour))))
	s.autoLock = widget.NewEntry()
	s.autoLock.SetText(strconv.Itoa(int(cur.AutoLock / time.Minute)))
	s.message = widget.NewLabel("")
	s.message.Wrapping = fyne.TextWrapWord
	s.save = widget.NewButtonWithIcon(a.tr("settings.save"), theme.DocumentSaveIcon(), func() {
		a.touch()
		f := settingsForm{HubURL: s.hub.Text, Camera: s.camera.Selected, Lang: langs[s.lang.Selected],
			Palette: pals[s.palette.Selected], SkewSeconds: s.skew.Text, MaxAgeDays: s.maxAge.Text, AutoLockMinutes: s.autoLock.Text}
		set, err := f.parse()
		if err != nil {
			s.message.Importance = widget.DangerImportance
			s.message.SetText(userMessage(a.tr, err))
			return
		}
		s.message.Importance = widget.SuccessImportance
		s.message.SetText(a.tr("settings.saved"))
		a.applySettings(set)
	})
	s.save.Importance = widget.HighImportance
	s.signOut = widget.NewButtonWithIcon(a.tr("settings.signOut"), theme.LogoutIcon(), func() { a.signOut() })
	form := widget.NewForm(
		widget.NewFormItem(a.tr("settings.hub"), s.hub),
		widget.NewFormItem(a.tr("settings.camera"), s.camera),
		widget.NewFormItem(a.tr("settings.lang"), s.lang),
		widget.NewFormItem(a.tr("settings.palette"), s.palette),
		widget.NewFormItem(a.tr("settings.skew"), s.skew),
		widget.NewFormItem(a.tr("settings.maxAge"), s.maxAge),
		widget.NewFormItem(a.tr("settings.autoLock"), s.autoLock),
	)
	s.trust = widget.NewLabel(a.tr("settings.trustLoading"))
	s.trust.Wrapping = fyne.TextWrapWord
	s.trust.TextStyle.Monospace = false
	a.loadTrust(s.trust)
	body := container.NewVBox(
		widget.NewLabelWithStyle(a.tr("settings.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		form, container.NewGridWithColumns(2, s.save, s.signOut), s.message, widget.NewSeparator(),
		widget.NewLabelWithStyle(a.tr("settings.trust"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		s.trust)
	s.root = container.NewVScroll(container.NewPadded(body))
	return s
}

// loadTrust fills l with the trust store's items, read-only.
func (a *App) loadTrust(l *widget.Label) {
	if a.deps.Trust == nil {
		l.SetText(a.tr("status.trustUnknown"))
		return
	}
	ti, ctx := a.deps.Trust, a.ctx
	a.async(func() {
		sum, err := ti.TrustSummary(ctx)
		fyne.Do(func() {
			if err != nil {
				l.SetText(userMessage(a.tr, err))
				return
			}
			l.SetText(trustText(a.cat, sum))
		})
	})
}

func trustText(c *catalog, sum TrustSummary) string {
	if len(sum.Items) == 0 {
		return c.T("settings.trustEmpty")
	}
	out := ""
	for _, it := range sum.Items {
		line := fmt.Sprintf("%s · %s", c.T(fmt.Sprintf("trust.%d", it.Kind)), it.Label)
		if it.Detail != "" {
			line += " · " + it.Detail
		}
		if !it.Until.IsZero() {
			line += " · " + c.T("trust.until", it.Until.In(credential.CST()).Format("2006-01-02"))
		}
		out += line + "\n"
	}
	return out
}
