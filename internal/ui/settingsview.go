package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// settingsScreen edits Settings, shows and makes the hub enrolment, and
// shows the trust store read-only.
type settingsScreen struct {
	root    fyne.CanvasObject
	camera  *widget.Select
	lang    *widget.RadioGroup
	palette *widget.RadioGroup
	sound   *widget.Check
	vibrate *widget.Check // disabled where the device has no vibrator
	policy  *policySection
	save    *widget.Button
	message *widget.Label
	trust   *widget.Label
	signOut *widget.Button
	who     *widget.Label // the officer signed in

	// Hub enrolment.
	hubState   *widget.Label
	hubURL     *wedgeEntry
	hubToken   *wedgeEntry
	hubCA      *wedgeEntry
	enroll     *widget.Button
	syncNow    *widget.Button
	hubMessage *widget.Label
	hubForm    *fyne.Container
}

// newSettingsScreen builds the settings screen of a.
func newSettingsScreen(a *App) fyne.CanvasObject { return buildSettingsScreen(a).root }

func buildSettingsScreen(a *App) *settingsScreen {
	s := &settingsScreen{}
	cur := a.set
	s.camera = widget.NewSelect(nil, nil)
	s.camera.PlaceHolder = a.tr("settings.noCamera")
	s.camera.Disable()
	a.loadCameras(s.camera)
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
	s.sound = widget.NewCheck(a.tr("settings.soundOn"), nil)
	s.sound.SetChecked(cur.Sound)
	s.vibrate = widget.NewCheck(a.tr("settings.vibrateOn"), nil)
	s.vibrate.SetChecked(cur.Vibrate)
	if a.deps.Vibrator == nil {
		// Nothing to switch: say so rather than offer a switch that
		// does nothing.
		s.vibrate.SetChecked(false)
		s.vibrate.Text = a.tr("settings.vibrateNone")
		s.vibrate.Disable()
	}
	s.message = widget.NewLabel("")
	s.message.Wrapping = fyne.TextWrapWord
	s.save = widget.NewButtonWithIcon(a.tr("settings.save"), theme.DocumentSaveIcon(), func() {
		a.touch()
		a.keys.settle()
		cam := s.camera.Selected
		if s.camera.Disabled() {
			cam = a.set.Camera
		}
		set := a.set
		set.Camera, set.Lang, set.Palette, set.Sound = cam, langs[s.lang.Selected], pals[s.palette.Selected], s.sound.Checked
		if !s.vibrate.Disabled() {
			set.Vibrate = s.vibrate.Checked
		}
		s.message.Importance = widget.SuccessImportance
		s.message.SetText(a.tr("settings.saved"))
		a.applySettings(set)
	})
	s.save.Importance = widget.HighImportance
	s.signOut = widget.NewButtonWithIcon(a.tr("settings.signOut"), theme.LogoutIcon(), func() { a.signOut() })
	// Who is signed in (the status bar drops the name in portrait).
	s.who = widget.NewLabel("")
	if o := a.officer; o != nil {
		s.who.SetText(a.tr("settings.signedInAs", o.Name, o.ID, a.tr("role."+o.Role.String())))
	}
	form := widget.NewForm(
		widget.NewFormItem(a.tr("settings.camera"), s.camera),
		widget.NewFormItem(a.tr("settings.lang"), s.lang),
		widget.NewFormItem(a.tr("settings.palette"), s.palette),
		widget.NewFormItem(a.tr("settings.sound"), s.sound),
		widget.NewFormItem(a.tr("settings.vibrate"), s.vibrate),
	)
	s.trust = widget.NewLabel(a.tr("settings.trustLoading"))
	s.trust.Wrapping = fyne.TextWrapWord
	a.loadTrust(s.trust)
	s.policy = a.buildPolicySection()
	body := container.NewVBox(
		heading(a.tr("settings.title")),
		form, container.NewGridWithColumns(2, s.save, s.signOut), container.New(&reserveLayout{lines: 1}, s.message), s.who, widget.NewSeparator(),
		s.policy.root, widget.NewSeparator(),
		heading(a.tr("settings.hub")), s.buildHub(a), widget.NewSeparator(),
		heading(a.tr("settings.trust")), s.trust)
	s.root = container.NewVScroll(container.NewPadded(body))
	return s
}

// refresh re-reads what may have changed since the screen was built: the
// trust store (a sync may have imported new lists) and the enrolment.
func (s *settingsScreen) refresh(a *App) {
	a.loadTrust(s.trust)
	s.policy.show(a)
	s.loadHub(a)
}

func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameSubHeadingText
	return l
}

// loadCameras fills sel with the cameras present, off fyne's goroutine
// (listing V4L2 devices opens each of them).
func (a *App) loadCameras(sel *widget.Select) {
	if a.deps.Camera == nil {
		return
	}
	cam, want := a.deps.Camera, a.set.Camera
	a.async(func() {
		devs := cam.Devices()
		fyne.Do(func() {
			if len(devs) == 0 {
				return
			}
			sel.SetOptions(devs)
			sel.Enable()
			sel.SetSelected(devs[0])
			for _, d := range devs {
				if d == want {
					sel.SetSelected(d)
				}
			}
		})
	})
}

// buildHub is the hub section: the enrolment read-only, and for a
// supervisor of a terminal not yet enrolled the enrolment form.
func (s *settingsScreen) buildHub(a *App) fyne.CanvasObject {
	s.hubState = widget.NewLabel("")
	s.hubState.Wrapping = fyne.TextWrapWord
	s.hubMessage = widget.NewLabel("")
	s.hubMessage.Wrapping = fyne.TextWrapWord
	s.hubMessage.Hide()
	s.hubURL = newWedgeEntry(a.keys)
	s.hubURL.SetPlaceHolder("https://hub.example.cn")
	s.hubToken = newWedgeEntry(a.keys)
	s.hubToken.SetPlaceHolder(a.tr("settings.hubTokenHint"))
	s.hubCA = newWedgeEntry(a.keys)
	s.hubCA.SetPlaceHolder(a.tr("settings.hubCAHint"))
	s.enroll = widget.NewButtonWithIcon(a.tr("settings.enroll"), theme.LoginIcon(), func() { s.doEnroll(a) })
	s.enroll.Importance = widget.HighImportance
	s.syncNow = widget.NewButtonWithIcon(a.tr("status.syncNow"), theme.ViewRefreshIcon(), func() { a.syncNow() })
	s.syncNow.Hide()
	s.hubForm = container.NewVBox(widget.NewForm(
		widget.NewFormItem(a.tr("settings.hubURL"), s.hubURL),
		widget.NewFormItem(a.tr("settings.hubToken"), s.hubToken),
		widget.NewFormItem(a.tr("settings.hubCA"), s.hubCA),
	), s.enroll)
	s.hubForm.Hide()
	s.loadHub(a)
	return container.NewVBox(s.hubState, s.syncNow, s.hubForm, s.hubMessage)
}

// loadHub shows the enrolment (off fyne's goroutine: it reads the database).
func (s *settingsScreen) loadHub(a *App) {
	if a.deps.Hub == nil {
		s.hubState.SetText(a.tr("settings.hubNone"))
		if s.policy != nil {
			s.policy.setEditable(a, true)
		}
		return
	}
	hub, ctx := a.deps.Hub, a.ctx
	supervisor := a.officer != nil && a.officer.Role == RoleSupervisor
	a.async(func() {
		st, err := hub.SyncState(ctx)
		fyne.Do(func() {
			if s.policy != nil {
				s.policy.setEditable(a, err == nil && st.HubURL == "")
			}
			switch {
			case err != nil:
				s.hubState.SetText(userMessage(a.tr, err))
			case st.HubURL != "":
				at := time.UnixMilli(st.Enrolled).In(credential.CST()).Format("2006-01-02 15:04")
				s.hubState.SetText(a.tr("settings.hubEnrolled", st.HubURL, at, a.deps.Device))
				s.hubForm.Hide()
				if a.deps.Sync != nil {
					s.syncNow.Show()
				}
			case supervisor:
				s.hubState.SetText(a.tr("settings.hubNotEnrolled", a.deps.Device))
				s.hubForm.Show()
			default:
				s.hubState.SetText(a.tr("settings.hubNotEnrolled", a.deps.Device) + "\n" + a.tr("settings.hubAskSupervisor"))
			}
		})
	})
}

// doEnroll enrols the terminal with the hub in the form.
func (s *settingsScreen) doEnroll(a *App) {
	a.touch()
	a.keys.settle()
	url, token, caPath := strings.TrimSpace(s.hubURL.Text), strings.TrimSpace(s.hubToken.Text), strings.TrimSpace(s.hubCA.Text)
	fail := func(err error) {
		s.hubMessage.Importance = widget.DangerImportance
		s.hubMessage.SetText(userMessage(a.tr, err))
		s.hubMessage.Show()
	}
	if url == "" || token == "" {
		fail(errHubFields)
		return
	}
	hub, ctx, label := a.deps.Hub, a.ctx, a.deps.Device
	s.enroll.Disable()
	s.hubMessage.Importance = widget.MediumImportance
	s.hubMessage.SetText(a.tr("settings.enrolling"))
	s.hubMessage.Show()
	a.async(func() {
		var ca []byte
		var err error
		if caPath != "" {
			if ca, err = os.ReadFile(caPath); err != nil {
				err = &UserError{Key: "settings.hubCAUnreadable", Msg: err.Error(), Err: err}
			}
		}
		if err == nil {
			ectx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			err = hub.Enroll(ectx, syncclient.EnrollOptions{HubURL: url, Token: token, CAPEM: ca, Label: label})
			cancel()
		}
		fyne.Do(func() {
			s.enroll.Enable()
			if err != nil {
				a.logErr("enroll", err)
				fail(enrollError(err))
				return
			}
			s.hubToken.SetText("")
			s.hubMessage.Importance = widget.SuccessImportance
			s.hubMessage.SetText(a.tr("settings.enrolled"))
			s.loadHub(a)
			a.refreshStatus()
		})
	})
}

var errHubFields = &UserError{Key: "settings.hubFields", Msg: "ui: hub URL and token are required"}

// enrollError maps the sync client's errors to sentences.
func enrollError(err error) error {
	var ue *UserError
	if errors.As(err, &ue) {
		return err
	}
	for _, m := range []struct {
		err error
		key string
	}{
		{syncclient.ErrInsecureHub, "settings.hubInsecure"},
		{syncclient.ErrBadCA, "settings.hubBadCA"},
		{syncclient.ErrUnreachable, "settings.hubUnreachable"},
		{syncclient.ErrHub, "settings.hubRefused"},
	} {
		if errors.Is(err, m.err) {
			return &UserError{Key: m.key, Msg: err.Error(), Err: err}
		}
	}
	return err
}

// loadTrust fills l with the trust store's contents, read-only, staleness
// judged now with the policy's MaxTrustAge.
func (a *App) loadTrust(l *widget.Label) {
	if a.deps.Trust == nil {
		var ks *keys.Status
		if a.deps.Keys != nil {
			s := a.deps.Keys.KeyStatus()
			ks = &s
		}
		l.SetText(keyText(a.cat, ks) + a.tr("status.trustUnknown"))
		return
	}
	ti, kp, now, maxAge := a.deps.Trust, a.deps.Keys, a.deps.Clock.Now(), a.set.Policy.MaxTrustAge
	a.async(func() {
		sum := ti.Summary(now, maxAge)
		var ks *keys.Status
		if kp != nil {
			s := kp.KeyStatus()
			ks = &s
		}
		fyne.Do(func() { l.SetText(keyText(a.cat, ks) + trustText(a.cat, sum)) })
	})
}

// keyText is the trust summary's first lines: what protects the terminal's
// keys, in the status bar's words, and without a TPM what that leaves
// exposed. "" when no KeyProtection is wired.
func keyText(c *catalog, ks *keys.Status) string {
	if ks == nil {
		return ""
	}
	s := c.T(keyStatusKey(*ks)) + "\n"
	if !ks.Bound && ks.Kind == keys.KindFile {
		s += c.T("settings.keys.pinOnlyDetail") + "\n"
	}
	return s
}

// trustText lists the trust store for people: one line per anchor, CA,
// signer, CRL and status list, stale ones marked.
func trustText(c *catalog, sum *trust.Summary) string {
	if sum == nil || len(sum.Anchors)+len(sum.CAs)+len(sum.Signers)+len(sum.CRLs)+len(sum.Lists) == 0 {
		return c.T("settings.trustEmpty")
	}
	day := func(t time.Time) string { return t.In(credential.CST()).Format("2006-01-02") }
	var b strings.Builder
	switch _, level, n, total := (statusState{Now: sum.At, Trust: sum}).trustHealth(); level {
	case trustStale:
		b.WriteString(c.T("status.stale") + "\n")
	case trustPartial:
		b.WriteString(c.T("status.partlyStale", n, total) + "\n")
	}
	line := func(kind int, label, detail string, until time.Time, stale bool) {
		fmt.Fprintf(&b, "%s · %s", c.T(fmt.Sprintf("trust.%d", kind)), label)
		if detail != "" {
			b.WriteString(" · " + detail)
		}
		if !until.IsZero() {
			b.WriteString(" · " + c.T("trust.until", day(until)))
		}
		if stale {
			b.WriteString(" · " + c.T("trust.stale"))
		}
		b.WriteString("\n")
	}
	for _, x := range sum.Anchors {
		line(1, x.Name, "", x.NotAfter, false)
	}
	for _, x := range sum.CAs {
		line(2, x.Name, x.Prefix, x.NotAfter, false)
	}
	for _, x := range sum.Signers {
		line(3, x.Name, x.KID, x.NotAfter, false)
	}
	for _, x := range sum.CRLs {
		line(4, x.CA, c.T("trust.crlDetail", x.Number, x.Revoked, day(x.ThisUpdate)), x.NextUpdate, x.Stale)
	}
	for _, x := range sum.Lists {
		line(5, x.Issuer, c.T("trust.listDetail", x.Sequence, x.Entries, day(x.ThisUpdate)), x.NextUpdate, x.Stale)
	}
	return strings.TrimRight(b.String(), "\n")
}
