package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// statusState is what the status bar shows, gathered off fyne's goroutine.
type statusState struct {
	Now        time.Time
	SyncWired  bool
	Sync       SyncState
	Pending    int
	PendingErr bool
	Trust      *TrustSummary // nil: unknown
	Policy     verify.Policy
}

// trustHealth is the age of the trust data and whether it is stale: no
// status list at all, a list older than the policy's maximum age, or a
// nextUpdate in the past.
func (s statusState) trustHealth() (age time.Duration, stale, known bool) {
	if s.Trust == nil {
		return 0, false, false
	}
	t := s.Trust
	if t.OldestUpdate.IsZero() {
		return 0, true, true
	}
	age = s.Now.Sub(t.OldestUpdate)
	stale = age > s.Policy.MaxTrustAge || (!t.NextUpdate.IsZero() && s.Now.After(t.NextUpdate))
	return age, stale, true
}

// statusBar is the always-visible bottom bar.
type statusBar struct {
	root      fyne.CanvasObject
	online    *widget.Label
	pending   *widget.Label
	lastSync  *widget.Label
	trustAge  *widget.Label
	officer   *widget.Label
	lock      *widget.Button
	stale     *fyne.Container
	staleText *canvas.Text
}

func newStatusBar(a *App) *statusBar {
	s := &statusBar{
		online:   widget.NewLabel(""),
		pending:  widget.NewLabel(""),
		lastSync: widget.NewLabel(""),
		trustAge: widget.NewLabel(""),
		officer:  widget.NewLabel(""),
	}
	if a.officer != nil {
		s.officer.SetText(a.officer.Name + " (" + a.officer.ID + ")")
	}
	s.lock = widget.NewButtonWithIcon(a.tr("status.lock"), theme.LoginIcon(), func() { a.lock() })
	s.staleText = canvas.NewText(a.tr("status.stale"), verdictInk(verify.Invalid))
	s.staleText.TextSize = 20
	s.staleText.TextStyle.Bold = true
	s.staleText.Alignment = fyne.TextAlignCenter
	s.stale = container.NewStack(canvas.NewRectangle(verdictBand(verify.Invalid)), container.NewPadded(s.staleText))
	s.stale.Hide()
	bar := container.NewHBox(s.online, widget.NewSeparator(), s.pending, widget.NewSeparator(), s.lastSync,
		widget.NewSeparator(), s.trustAge)
	right := container.NewHBox(s.officer, s.lock)
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameHeaderBackground))
	row := container.NewStack(bg, container.NewBorder(nil, nil, nil, right, container.NewHScroll(bar)))
	s.root = container.NewVBox(s.stale, row)
	return s
}

// update shows st.
func (s *statusBar) update(c *catalog, st statusState) {
	switch {
	case !st.SyncWired:
		s.online.SetText(c.T("status.noHub"))
	case st.Sync.Online:
		s.online.SetText(c.T("status.online"))
	default:
		s.online.SetText(c.T("status.offline"))
	}
	if st.PendingErr {
		s.pending.SetText(c.T("status.pendingUnknown"))
	} else {
		s.pending.SetText(c.T("status.pending", st.Pending))
	}
	if st.Sync.LastSync.IsZero() {
		s.lastSync.SetText(c.T("status.lastSyncNever"))
	} else {
		s.lastSync.SetText(c.T("status.lastSync", st.Sync.LastSync.In(credential.CST()).Format("01-02 15:04")))
	}
	age, stale, known := st.trustHealth()
	switch {
	case !known:
		s.trustAge.SetText(c.T("status.trustUnknown"))
	case st.Trust.OldestUpdate.IsZero():
		s.trustAge.SetText(c.T("status.trustNone"))
	default:
		s.trustAge.SetText(c.T("status.trustAge", ageText(c, age)))
	}
	if stale {
		s.trustAge.Importance = widget.DangerImportance
		s.stale.Show()
	} else {
		s.trustAge.Importance = widget.MediumImportance
		s.stale.Hide()
	}
	s.trustAge.Refresh()
}

// ageText is a duration in whole days, hours or minutes.
func ageText(c *catalog, d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return c.T("age.days", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return c.T("age.hours", int(d/time.Hour))
	case d >= time.Minute:
		return c.T("age.minutes", int(d/time.Minute))
	}
	return c.T("age.now")
}

// refreshStatus gathers the status off fyne's goroutine and shows it.
func (a *App) refreshStatus() {
	if a.status == nil {
		return
	}
	d, ctx, pol := a.deps, a.ctx, a.set.Policy
	a.async(func() {
		st := statusState{Now: d.Clock.Now(), SyncWired: d.Sync != nil, Policy: pol}
		if d.Sync != nil {
			st.Sync = d.Sync.SyncStatus(ctx)
		}
		n, err := d.Records.PendingCount(ctx)
		st.Pending, st.PendingErr = n, err != nil
		if d.Trust != nil {
			if sum, err := d.Trust.TrustSummary(ctx); err == nil {
				st.Trust = &sum
			}
		}
		fyne.Do(func() {
			if a.status != nil {
				a.status.update(a.cat, st)
			}
		})
	})
}
