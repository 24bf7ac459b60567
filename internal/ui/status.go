package ui

import (
	"context"
	"log"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// statusState is what the status bar shows, gathered off fyne's goroutine.
type statusState struct {
	Now time.Time
	// SyncWired: a sync service is wired; Enrolled: the terminal has a hub.
	SyncWired, Enrolled bool
	Sync                syncclient.State
	Pending             int
	PendingErr          bool
	Trust               *trust.Summary // nil: unknown
	Policy              verify.Policy
}

// trustHealth is the age of the trust data (now − the oldest status list's
// thisUpdate) and whether it is stale: no status list at all, a list older
// than the policy's MaxTrustAge, or a CRL or list past its nextUpdate (as
// trust.Store.Summary judged it at Now with MaxTrustAge).
func (s statusState) trustHealth() (age time.Duration, stale, known bool) {
	if s.Trust == nil {
		return 0, false, false
	}
	t := s.Trust
	if len(t.Lists) == 0 || t.Oldest.IsZero() {
		return 0, true, true
	}
	age = s.Now.Sub(t.Oldest)
	return age, t.Stale || age > s.Policy.MaxTrustAge, true
}

// statusBar is the always-visible bottom bar.
type statusBar struct {
	root      fyne.CanvasObject
	online    *widget.Label
	pending   *widget.Label
	lastSync  *widget.Label
	trustAge  *widget.Label
	syncErr   *widget.Label
	syncNow   *widget.Button
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
		syncErr:  widget.NewLabel(""),
		officer:  widget.NewLabel(""),
	}
	s.syncErr.Importance = widget.DangerImportance
	s.syncErr.Hide()
	s.syncNow = widget.NewButtonWithIcon(a.tr("status.syncNow"), theme.ViewRefreshIcon(), func() { a.syncNow() })
	s.syncNow.Hide()
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
	bar := container.NewHBox(s.online, s.syncErr, widget.NewSeparator(), s.pending, widget.NewSeparator(), s.lastSync,
		widget.NewSeparator(), s.trustAge)
	right := container.NewHBox(s.syncNow, s.officer, s.lock)
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameHeaderBackground))
	row := container.NewStack(bg, container.NewBorder(nil, nil, nil, right, container.NewHScroll(bar)))
	s.root = container.NewVBox(s.stale, row)
	return s
}

// update shows st.
func (s *statusBar) update(c *catalog, st statusState) {
	switch {
	case !st.SyncWired || !st.Enrolled:
		s.online.SetText(c.T("status.noHub"))
	case st.Sync.Syncing:
		s.online.SetText(c.T("status.syncing"))
	case st.Sync.Online:
		s.online.SetText(c.T("status.online"))
	default:
		s.online.SetText(c.T("status.offline"))
	}
	if st.SyncWired && st.Enrolled {
		s.syncNow.Show()
	} else {
		s.syncNow.Hide()
	}
	if st.Enrolled && st.Sync.LastError != "" {
		// The client's error text is not meant for officers: a plain
		// sentence here, the text in the log.
		s.syncErr.SetText(c.T("status.syncFailed"))
		s.syncErr.Show()
	} else {
		s.syncErr.Hide()
	}
	if st.PendingErr {
		s.pending.SetText(c.T("status.pendingUnknown"))
	} else {
		s.pending.SetText(c.T("status.pending", st.Pending))
	}
	if st.Sync.LastSuccess.IsZero() {
		s.lastSync.SetText(c.T("status.lastSyncNever"))
	} else {
		s.lastSync.SetText(c.T("status.lastSync", st.Sync.LastSuccess.In(credential.CST()).Format("01-02 15:04")))
	}
	age, stale, known := st.trustHealth()
	switch {
	case !known:
		s.trustAge.SetText(c.T("status.trustUnknown"))
	case len(st.Trust.Lists) == 0 || st.Trust.Oldest.IsZero():
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

// gatherStatus reads the status from the domain; it may block (records,
// trust store), so it runs off fyne's goroutine.
func gatherStatus(ctx context.Context, d Deps, pol verify.Policy) statusState {
	st := statusState{Now: d.Clock.Now(), SyncWired: d.Sync != nil, Policy: pol}
	if d.Sync != nil {
		st.Sync = d.Sync.State()
		st.Enrolled = true
		if d.Hub != nil {
			hs, err := d.Hub.SyncState(ctx)
			st.Enrolled = err == nil && hs.HubURL != ""
		}
	}
	n, err := d.Records.PendingCount(ctx)
	st.Pending, st.PendingErr = n, err != nil
	if d.Trust != nil {
		st.Trust = d.Trust.Summary(st.Now, pol.MaxTrustAge)
	}
	return st
}

// refreshStatus gathers the status off fyne's goroutine and shows it.
func (a *App) refreshStatus() {
	if a.status == nil {
		return
	}
	d, ctx, pol := a.deps, a.ctx, a.set.Policy
	a.async(func() {
		st := gatherStatus(ctx, d, pol)
		fyne.Do(func() {
			if a.status != nil {
				a.status.update(a.cat, st)
			}
		})
	})
}

// syncNow asks the sync service for a sync at once; the status bar follows
// its progress through the subscription.
func (a *App) syncNow() {
	a.touch()
	if a.deps.Sync != nil {
		a.deps.Sync.Trigger()
	}
	a.refreshStatus()
}

// followSync forwards the sync service's state changes to the status bar
// (through fyne.Do) until the app ends.
func (a *App) followSync() {
	if a.deps.Sync == nil {
		return
	}
	ch, unsub := a.deps.Sync.Subscribe()
	go func() {
		defer unsub()
		lastErr := ""
		for {
			select {
			case <-a.ctx.Done():
				return
			case st := <-ch:
				if st.LastError != lastErr && st.LastError != "" {
					log.Printf("ui: sync: %s", st.LastError)
				}
				lastErr = st.LastError
				fyne.Do(a.refreshStatus)
			}
		}
	}()
}
