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
	"github.com/roadcheck/roadcheck/internal/keys"
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
	PendingLocked       bool           // no record store unlocked: "—"
	Trust               *trust.Summary // nil: unknown
	Policy              verify.Policy
	Keys                *keys.Status // nil: no KeyProtection wired
}

// keyStatusKey is the text key of the terminal's key protection: a TPM,
// the officers' PINs only (no TPM), or demo mode's throw-away keys. The
// status bar and the trust summary use the same words.
func keyStatusKey(ks keys.Status) string {
	switch {
	case ks.Bound:
		return "status.keys.tpm"
	case ks.Kind == keys.KindFile:
		return "status.keys.pinOnly"
	case ks.Kind == "demo":
		return "status.keys.demo"
	}
	// A protection this build does not know: the weakest claim.
	return "status.keys.pinOnly"
}

// trustLevel grades the trust data for the status bar.
type trustLevel uint8

const (
	trustUnknown trustLevel = iota // no TrustInfo wired
	trustFresh                     // nothing stale
	trustPartial                   // some CRLs or status lists stale: their jurisdictions' codes come out LIMITED
	trustStale                     // no status list at all, or every status list stale
)

// trustHealth is the age of the trust data (now − the oldest status list's
// thisUpdate, trust.Summary.Oldest) and its grade. Staleness is what
// trust.Store.Summary judged at Now with the policy's MaxTrustAge: a CRL
// past its nextUpdate, a list past its nextUpdate or older than the
// maximum age.
func (s statusState) trustHealth() (age time.Duration, level trustLevel, stale, total int) {
	t := s.Trust
	if t == nil {
		return 0, trustUnknown, 0, 0
	}
	if len(t.Lists) == 0 || t.Oldest.IsZero() {
		return 0, trustStale, 0, 0
	}
	staleLists := 0
	for _, l := range t.Lists {
		if l.Stale {
			staleLists++
		}
	}
	stale = staleLists
	for _, c := range t.CRLs {
		if c.Stale {
			stale++
		}
	}
	total = len(t.Lists) + len(t.CRLs)
	age = s.Now.Sub(t.Oldest)
	switch {
	case staleLists == len(t.Lists):
		return age, trustStale, stale, total
	case stale > 0 || t.Stale:
		return age, trustPartial, stale, total
	}
	return age, trustFresh, stale, total
}

// statusBar is the always-visible bottom bar.
type statusBar struct {
	root       fyne.CanvasObject
	online     *widget.Label
	pending    *widget.Label
	lastSync   *widget.Label
	trustAge   *widget.Label
	keys       *widget.Label // what protects the terminal's keys
	keysSep    *widget.Separator
	syncErr    *widget.Label
	syncNow    *widget.Button
	officer    *widget.Label
	lock       *widget.Button
	stale      *fyne.Container
	staleBg    *canvas.Rectangle
	staleText  *canvas.Text // the full sentence
	staleShort *canvas.Text // shown instead when the full one does not fit
	bg         *canvas.Rectangle
}

func newStatusBar(a *App) *statusBar {
	s := &statusBar{
		online:   widget.NewLabel(""),
		pending:  widget.NewLabel(""),
		lastSync: widget.NewLabel(""),
		trustAge: widget.NewLabel(""),
		keys:     widget.NewLabel(""),
		syncErr:  widget.NewLabel(""),
		officer:  widget.NewLabel(""),
	}
	s.syncErr.Importance = widget.DangerImportance
	s.syncErr.Hide()
	s.keysSep = widget.NewSeparator()
	s.keys.Hide()
	s.keysSep.Hide()
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
	s.staleShort = canvas.NewText("", verdictInk(verify.Invalid))
	s.staleShort.TextSize = s.staleText.TextSize
	s.staleShort.TextStyle.Bold = true
	s.staleShort.Alignment = fyne.TextAlignCenter
	s.staleBg = canvas.NewRectangle(verdictBand(verify.Invalid))
	s.stale = container.NewStack(s.staleBg, container.NewPadded(container.New(&fitLayout{}, s.staleText, s.staleShort)))
	s.stale.Hide()
	// The key protection comes right after the connection: a terminal
	// without a TPM says so where it is not scrolled away.
	bar := container.NewHBox(s.online, s.syncErr, s.keysSep, s.keys, widget.NewSeparator(), s.pending,
		widget.NewSeparator(), s.lastSync, widget.NewSeparator(), s.trustAge)
	s.bg = canvas.NewRectangle(theme.Color(theme.ColorNameHeaderBackground))
	row := container.NewStack(s.bg, container.New(&statusRowLayout{officer: s.officer, texts: bar}, container.NewHScroll(bar), s.syncNow, s.officer, s.lock))
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
	// While a new attempt runs, "正在同步…" alone: the last failure is
	// shown again only if this one fails too.
	if st.Enrolled && st.Sync.LastError != "" && !st.Sync.Syncing {
		// The client's error text is not meant for officers: a plain
		// sentence for its kind here, the text in the log.
		s.syncErr.SetText(c.T(syncFailedKey(st.Sync.LastErrorKind)))
		s.syncErr.Show()
	} else {
		s.syncErr.Hide()
	}
	if st.Keys == nil {
		s.keys.Hide()
		s.keysSep.Hide()
	} else {
		s.keys.SetText(c.T(keyStatusKey(*st.Keys)))
		s.keys.Importance = widget.MediumImportance
		if !st.Keys.Bound {
			s.keys.Importance = widget.WarningImportance
		}
		s.keys.Show()
		s.keysSep.Show()
		s.keys.Refresh()
	}
	if st.PendingLocked {
		s.pending.SetText(c.T("status.pendingLocked"))
	} else if st.PendingErr {
		s.pending.SetText(c.T("status.pendingUnknown"))
	} else {
		s.pending.SetText(c.T("status.pending", st.Pending))
	}
	if st.Sync.LastSuccess.IsZero() {
		s.lastSync.SetText(c.T("status.lastSyncNever"))
	} else {
		s.lastSync.SetText(c.T("status.lastSync", st.Sync.LastSuccess.In(credential.CST()).Format("01-02 15:04")))
	}
	age, level, nStale, total := st.trustHealth()
	switch {
	case level == trustUnknown:
		s.trustAge.SetText(c.T("status.trustUnknown"))
	case len(st.Trust.Lists) == 0 || st.Trust.Oldest.IsZero():
		s.trustAge.SetText(c.T("status.trustNone"))
	default:
		s.trustAge.SetText(c.T("status.trustAge", ageText(c, age)))
	}
	s.trustAge.Importance = widget.MediumImportance
	s.stale.Hide()
	switch level {
	case trustStale:
		s.trustAge.Importance = widget.DangerImportance
		s.setBanner(c.T("status.stale"), c.T("status.staleShort"), verify.Invalid)
	case trustPartial:
		s.trustAge.Importance = widget.WarningImportance
		s.setBanner(c.T("status.partlyStale", nStale, total), c.T("status.partlyStaleShort", nStale, total), verify.Limited)
	}
	s.trustAge.Refresh()
}

// setBanner shows the trust warning band in the colours of verdict v.
func (s *statusBar) setBanner(text, short string, v verify.Verdict) {
	s.staleText.Text = text
	s.staleText.Color = verdictInk(v)
	s.staleShort.Text = short
	s.staleShort.Color = verdictInk(v)
	s.staleShort.Refresh()
	s.staleBg.FillColor = verdictBand(v)
	s.staleText.Refresh()
	s.staleBg.Refresh()
	s.stale.Show()
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
func gatherStatus(ctx context.Context, d Deps, rs RecordStore, pol verify.Policy) statusState {
	st := statusState{Now: d.Clock.Now(), SyncWired: d.Sync != nil, Policy: pol}
	if d.Sync != nil {
		st.Sync = d.Sync.State()
		st.Enrolled = true
		if d.Hub != nil {
			hs, err := d.Hub.SyncState(ctx)
			st.Enrolled = err == nil && hs.HubURL != ""
		}
	}
	if rs == nil {
		st.PendingLocked = true
	} else {
		n, err := rs.PendingCount(ctx)
		st.Pending, st.PendingErr = n, err != nil
	}
	if d.Trust != nil {
		st.Trust = d.Trust.Summary(st.Now, pol.MaxTrustAge)
	}
	if d.Keys != nil {
		ks := d.Keys.KeyStatus()
		st.Keys = &ks
	}
	return st
}

// refreshStatus gathers the status off fyne's goroutine and shows it.
func (a *App) refreshStatus() {
	if a.status == nil {
		return
	}
	d, rs, ctx, pol := a.deps, a.records, a.ctx, a.set.Policy
	a.async(func() {
		st := gatherStatus(ctx, d, rs, pol)
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
		lastErr, lastPolicy := "", uint64(0)
		for {
			select {
			case <-a.ctx.Done():
				return
			case st := <-ch:
				if st.LastError != lastErr && st.LastError != "" {
					log.Printf("ui: sync: %s", st.LastError)
				}
				lastErr = st.LastError
				if st.PolicySeq != lastPolicy {
					// The sync saved the hub's newer check policy.
					lastPolicy = st.PolicySeq
					a.ReloadPolicy()
				}
				fyne.Do(a.refreshStatus)
			}
		}
	}()
}

// fitLayout shows its first object when it fits the width, else the second
// (a long and a short wording of the same message).
type fitLayout struct{}

func (fitLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	long, short := objs[0], objs[1]
	show, hide := long, short
	if long.MinSize().Width > size.Width {
		show, hide = short, long
	}
	hide.Hide()
	show.Show()
	show.Move(fyne.NewPos(0, 0))
	show.Resize(size)
}

func (fitLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(objs[1].MinSize().Width, max(objs[0].MinSize().Height, objs[1].MinSize().Height))
}

// statusRowLayout lays out the status bar's row: the status texts from the
// leading edge, then sync-now, the officer's name and the lock button at
// the trailing edge. When the row is too narrow (portrait) it drops the
// officer's name first (it is on the Settings screen too), then clips the
// status texts.
type statusRowLayout struct {
	officer fyne.CanvasObject
	texts   fyne.CanvasObject // the status texts (objs[0] scrolls them)
}

func (l *statusRowLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	bar, right := objs[0], objs[1:]
	pad := theme.Padding()
	need := l.texts.MinSize().Width
	for _, o := range right {
		if o.Visible() || o == l.officer {
			need += o.MinSize().Width + pad
		}
	}
	if need > size.Width {
		l.officer.Hide()
	} else if t, ok := l.officer.(*widget.Label); ok && t.Text != "" {
		l.officer.Show()
	}
	x := size.Width
	for i := len(right) - 1; i >= 0; i-- {
		o := right[i]
		if !o.Visible() {
			continue
		}
		w := o.MinSize().Width
		x -= w
		o.Move(fyne.NewPos(x, 0))
		o.Resize(fyne.NewSize(w, size.Height))
		x -= pad
	}
	bar.Move(fyne.NewPos(0, 0))
	bar.Resize(fyne.NewSize(max(x, 0), size.Height))
}

func (l *statusRowLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(0, h)
}

// syncFailedKey is the text key for a failed sync of kind k; kinds this
// build does not know read as a plain "sync failed".
func syncFailedKey(k syncclient.ErrorKind) string {
	switch k {
	case syncclient.KindUnreachable, syncclient.KindNotEnrolled, syncclient.KindRevoked, syncclient.KindBadToken,
		syncclient.KindTLS, syncclient.KindClockSkew, syncclient.KindHubRejected, syncclient.KindProtocol,
		syncclient.KindStorageFull, syncclient.KindLocalStorage, syncclient.KindCanceled,
		syncclient.KindTrustIncomplete: // "信任数据不完整": revocations not yet received are not caught
		return "status.syncFailed." + k.String()
	}
	return "status.syncFailed.other"
}
