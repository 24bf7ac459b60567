package ui

import (
	"context"
	"errors"
	"io"
	"log"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/assets"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Title is the window title (the smoke test looks for it).
const Title = "RoadCheck 路检核验"

// App is the running GUI: one window, the signed-in officer, the check on
// screen and the current roadside stop. All its methods run on fyne's
// goroutine.
type App struct {
	fa      fyne.App
	win     fyne.Window
	deps    Deps
	cat     *catalog
	set     Settings
	ver     Verifier
	ctx     context.Context
	stopCtx context.CancelFunc
	// async runs slow work off fyne's goroutine; its result comes back
	// through fyne.Do. Tests replace it with an inline call.
	async func(func())

	keys *keyRouter
	// camText is the code the camera saw last, at camSeen.
	camText string
	camSeen time.Time
	// probe reports paints to the --measure harness (nil otherwise).
	probe *measureRun

	officer *Officer
	locked  bool
	// pol is the check policy in force; polErr why the policy file was
	// refused (nil: it was not).
	pol    policy.Policy
	polErr error
	// records is the record store: Deps.Records, or the one Deps.OpenRecords
	// unlocked at sign-in (nil while locked).
	records      RecordStore
	lastActivity time.Time

	stop    *stop.Stop
	stopSeq int
	// stopDrivers are the stop's other drivers (the first is in its slot);
	// stopMembers the checks whose licences joined the stop.
	stopDrivers []*verify.Result
	stopMembers []*checkState
	stopScr     *stopScreen
	// toast is the confirmation of the last one-tap save (nil: none).
	toast *savedToast
	// events keeps the scans that established nothing about a licence.
	events *ScanEventLog
	// after runs f on fyne's goroutine after d (a timer; tests replace it).
	after func(d time.Duration, f func())
	// alerter plays the verdict's sound (nil: none).
	alerter   Alerter
	check     *checkState // the verdict on screen; nil when none
	signInScr *signInScreen
	setupScr  *setupScreen
	scanMsg   string // last message of the scan screen

	// Rebuilt by showMain.
	tabs       *container.AppTabs
	tabCheck   *container.TabItem
	tabStop    *container.TabItem
	status     *statusBar
	scanScr    *scanScreen
	verdictBox *fyne.Container
	checkBox   *fyne.Container // scan panel + verdict, laid out by checkLayout
	stopBox    *fyne.Container
	// stopStale: the stop changed while its tab was not shown; it is
	// rebuilt when the tab is selected (not on the way to a verdict).
	stopStale bool
	// lazy are the tabs whose screens are built when first selected.
	lazy map[*container.TabItem]*lazyTab
	// The lazy tabs' screens, once first shown.
	historyScr    *historyScreen
	supervisorScr *supervisorScreen
	settingsScr   *settingsScreen
	officersScr   *officersScreen
	// lastDir is where the file dialogs were last.
	lastDir string
	warm    *warmer
	cam     *cameraRun
	orient  *orientLayout
}

// lazyTab is a tab whose screen is built the first time the officer
// selects it and refreshed each time it is selected again (history and the
// supervisor's query reload, settings re-read the trust store and the hub).
// Nothing of these screens is built or loaded at sign-in, on the way to the
// first verdict.
type lazyTab struct {
	box     *fyne.Container
	build   func() (root fyne.CanvasObject, refresh func())
	built   bool
	refresh func()
}

// newLazyTab is a tab item whose content build makes on first selection.
func (a *App) newLazyTab(text string, icon fyne.Resource, build func() (fyne.CanvasObject, func())) *container.TabItem {
	lt := &lazyTab{box: container.NewStack(), build: build}
	it := container.NewTabItemWithIcon(text, icon, lt.box)
	a.lazy[it] = lt
	return it
}

// tabShown builds or refreshes the screen of the tab just selected.
func (a *App) tabShown(it *container.TabItem) {
	if it == a.tabStop && a.stopStale {
		a.renderStop()
	}
	lt := a.lazy[it]
	switch {
	case lt == nil:
	case !lt.built:
		root, refresh := lt.build()
		lt.built, lt.refresh = true, refresh
		lt.box.Objects = []fyne.CanvasObject{root}
		lt.box.Refresh()
	case lt.refresh != nil:
		lt.refresh()
	}
}

// defaultAsync runs slow work on a new goroutine. The package's tests make
// it an inline call, so that an App is synchronous from New on.
var defaultAsync = func(f func()) { go f() }

// New builds the GUI on fa. Deps.Clock, Records and Officers are required.
// The window shows the sign-in screen until an officer signs in.
func New(fa fyne.App, d Deps) (*App, error) {
	switch {
	case d.Clock == nil:
		return nil, errors.New("ui: Deps.Clock is required")
	case d.Records == nil && d.OpenRecords == nil:
		return nil, errors.New("ui: Deps.Records or Deps.OpenRecords is required")
	case d.Officers == nil:
		return nil, errors.New("ui: Deps.Officers is required")
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{fa: fa, deps: d, cat: cat, ctx: ctx, stopCtx: cancel, async: defaultAsync, events: d.ScanEvents, alerter: d.Alerter,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, func() { fyne.Do(f) }) }}
	if a.events == nil {
		a.events, _ = OpenScanEventLog("") // in memory: never fails
	}
	if d.Wedge != nil {
		// The scanner's bursts are assembled here: joined across pauses,
		// never typed into a field (burst.go).
		a.deps.Wedge = newBurstWedge(d.Wedge, a.burstCut)
	}
	if d.OpenRecords == nil {
		a.records = d.Records
	}
	a.set = loadSettings(fa.Preferences(), d)
	a.cat.set(a.set.Lang)
	a.loadPolicy()
	fa.Settings().SetTheme(newTheme(a.set.Palette))
	fa.SetIcon(fyne.NewStaticResource("roadcheck.png", assets.AppIcon))
	a.win = fa.NewWindow(a.title())
	a.win.Resize(fyne.NewSize(1280, 800))
	a.win.SetMaster()
	a.win.SetOnClosed(a.closed)
	a.keys = newKeyRouter(a)
	if b, ok := a.deps.Wedge.(*burstWedge); ok {
		b.target = func() *wedgeEntry { return a.keys.target }
	}
	a.installKeys()
	if d.Measure != nil {
		a.initMeasure()
	}
	if d.SignedIn != nil {
		o := *d.SignedIn
		a.officer = &o
		a.touch()
		a.newStop()
		a.showMain()
	} else if a.needsSetup() {
		a.showSetup()
	} else {
		a.showSignIn()
	}
	return a, nil
}

// Window is the GUI's window.
func (a *App) Window() fyne.Window { return a.win }

// Run shows the window and runs fyne's event loop until the app quits; a
// background ticker refreshes the status bar and enforces the auto-lock.
func (a *App) Run() {
	a.followSync()
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-a.ctx.Done():
				return
			case <-t.C:
				fyne.Do(a.tick)
			}
		}
	}()
	a.win.ShowAndRun()
}

// Quit closes the window and ends Run (main calls it on SIGTERM, through
// fyne.Do).
func (a *App) Quit() {
	a.closed()
	a.fa.Quit()
}

func (a *App) closed() {
	a.leaveCheckNow()
	a.stopCamera()
	a.stopCtx()
}

func (a *App) title() string {
	if a.deps.Demo {
		return Title + " · " + a.tr("demo.title")
	}
	return Title
}

// logErr logs an error that is not shown verbatim.
func (a *App) logErr(what string, err error) { log.Printf("ui: %s: %v", what, err) }

// tr is the current language's text for key.
func (a *App) tr(key string, args ...any) string { return a.cat.T(key, args...) }

// touch records officer activity (for the auto-lock).
func (a *App) touch() { a.lastActivity = a.deps.Clock.Now() }

// tick refreshes the status bar and locks the GUI after AutoLock of
// inactivity (reading the injected clock).
func (a *App) tick() {
	if a.officer != nil && !a.locked && a.deps.Clock.Now().Sub(a.lastActivity) >= a.set.AutoLock {
		a.lock()
		return
	}
	a.refreshStatus()
	if a.warm != nil && a.tabs != nil && a.tabs.Selected() == a.tabCheck && a.warm.due(a.deps.Clock.Now()) {
		a.warm.start()
	}
}

// lock hides everything behind the sign-in screen; the check and the stop
// are kept for the same officer.
func (a *App) lock() {
	if a.officer == nil {
		return
	}
	a.locked = true
	a.closeRecords()
	a.stopCamera()
	a.showSignIn()
}

// signIn checks id and PIN; on success it shows the main screens (keeping
// the stop and the check when the same officer unlocks).
func (a *App) signIn(id, pin string, done func(error)) {
	ctx, open := a.ctx, a.deps.OpenRecords
	a.async(func() {
		o, err := a.deps.Officers.SignIn(ctx, id, pin)
		var rs RecordStore
		if err == nil && open != nil {
			if rs, err = open(ctx, o.ID, pin); err != nil {
				a.logErr("unlock records", err)
				err = &UserError{Key: "records.unlockFailed", Msg: "ui: unlock records: " + err.Error(), Err: err}
			}
		}
		fyne.Do(func() {
			if err != nil {
				done(err)
				return
			}
			if open != nil {
				a.closeRecords()
				a.records = rs
				if dev, ok := rs.(interface{ DeviceID() string }); ok && dev.DeviceID() != "" {
					a.deps.Device = dev.DeviceID()
				}
				a.loadPolicy() // a device policy is verified with the device key
			}
			if a.officer == nil || a.officer.ID != o.ID {
				// Another officer: the previous one's check on screen is
				// recorded (as theirs, 未处置) before it goes.
				a.leaveCheckNow()
				a.check = nil
				a.newStop()
			}
			a.officer = &o
			a.locked = false
			a.touch()
			done(nil)
			a.showMain()
		})
	})
}

// signOut forgets the officer and the stop (the check on screen is
// recorded first).
func (a *App) signOut() {
	a.leaveCheckNow()
	a.toast = nil
	a.officer = nil
	a.locked = false
	a.check = nil
	a.stop = nil
	a.closeRecords()
	a.stopCamera()
	a.showSignIn()
}

// closeRecords closes and forgets the record store Deps.OpenRecords
// unlocked (Deps.Records stays).
func (a *App) closeRecords() {
	if a.deps.OpenRecords == nil || a.records == nil {
		return
	}
	if c, ok := a.records.(io.Closer); ok {
		if err := c.Close(); err != nil {
			a.logErr("close records", err)
		}
	}
	a.records = nil
}

func (a *App) showSignIn() {
	a.tabs = nil
	if a.warm != nil {
		a.warm.abort()
		a.warm = nil
	}
	a.signInScr = buildSignInScreen(a)
	a.win.SetContent(a.withBanner(a.signInScr.root))
	// Ready to type (or scan a badge): the ID, or the PIN when locked.
	if a.locked && a.signInScr.id.Text != "" {
		a.win.Canvas().Focus(a.signInScr.pin)
	} else {
		a.win.Canvas().Focus(a.signInScr.id)
	}
}

// withBanner adds the 演示 banner above content in demo mode.
func (a *App) withBanner(content fyne.CanvasObject) fyne.CanvasObject {
	if !a.deps.Demo {
		return content
	}
	return container.NewBorder(newDemoBanner(a), nil, nil, nil, content)
}

func newDemoBanner(a *App) fyne.CanvasObject {
	bg := canvas.NewRectangle(hex(0x4A148C))
	txt := canvas.NewText(a.tr("demo.banner"), hex(0xFFFFFF))
	txt.TextSize = 18
	txt.Alignment = fyne.TextAlignCenter
	return container.NewStack(bg, container.NewPadded(txt))
}

// showMain builds the signed-in screens: check (scan + verdict), stop,
// history, supervisor (supervisors only), settings; the status bar below.
func (a *App) showMain() {
	a.tabs = nil
	a.scanScr = buildScanScreen(a)
	a.verdictBox = container.NewStack()
	a.stopBox = container.NewStack()
	a.stopStale = true // built when its tab is first selected
	a.lazy = map[*container.TabItem]*lazyTab{}
	if a.warm != nil {
		a.warm.abort()
	}
	a.warm = newWarmer(a)
	if p := a.probe; p != nil && !p.started {
		a.warm.done = a.warmed
	}
	a.renderVerdict()
	check := container.New(&checkLayout{a: a}, a.scanScr.root, a.verdictBox, a.warm.holder)
	a.checkBox = check
	a.tabCheck = container.NewTabItemWithIcon(a.tr("tab.check"), theme.SearchIcon(), check)
	a.tabStop = container.NewTabItemWithIcon(a.tr("tab.stop"), theme.ListIcon(), a.stopBox)
	items := []*container.TabItem{a.tabCheck, a.tabStop,
		a.newLazyTab(a.tr("tab.history"), theme.HistoryIcon(), func() (fyne.CanvasObject, func()) {
			h := buildHistoryScreen(a)
			a.historyScr = h
			return h.root, h.reload
		})}
	if a.officer.Role == RoleSupervisor {
		items = append(items, a.newLazyTab(a.tr("tab.supervisor"), theme.AccountIcon(), func() (fyne.CanvasObject, func()) {
			s := buildSupervisorScreen(a)
			a.supervisorScr = s
			return s.root, func() { s.run(a) }
		}))
	}
	if _, ok := a.deps.Officers.(officerManager); ok && a.officer.Role == RoleSupervisor {
		items = append(items, a.newLazyTab(a.tr("tab.officers"), theme.AccountIcon(), func() (fyne.CanvasObject, func()) {
			s := buildOfficersScreen(a)
			a.officersScr = s
			return s.root, func() { s.reload(a) }
		}))
	}
	a.historyScr, a.supervisorScr, a.settingsScr, a.officersScr = nil, nil, nil, nil
	items = append(items, a.newLazyTab(a.tr("tab.settings"), theme.SettingsIcon(), func() (fyne.CanvasObject, func()) {
		s := buildSettingsScreen(a)
		a.settingsScr = s
		return s.root, func() { s.refresh(a) }
	}))
	a.tabs = container.NewAppTabs(items...)
	a.tabs.OnSelected = func(it *container.TabItem) { a.touch(); a.tabShown(it) }
	a.status = newStatusBar(a)
	a.signInScr = nil
	a.orient = &orientLayout{tabs: a.tabs}
	body := container.New(a.orient, a.tabs)
	a.win.SetContent(a.withBanner(container.NewBorder(nil, a.status.root, nil, nil, body)))
	a.refreshStatus()
	a.startCamera()
	a.focusScan()
}

func (a *App) focusScan() {
	if a.scanScr != nil && a.win.Canvas() != nil && a.tabs != nil && a.tabs.Selected() == a.tabCheck {
		a.win.Canvas().Focus(a.scanScr.entry)
	}
}

// setScanMessage shows s under the scan screen's buttons (its space is
// kept while empty, so that nothing moves when it appears).
func (a *App) setScanMessage(s string) {
	a.scanMsg = s
	if a.scanScr != nil {
		a.scanScr.message.SetText(s)
	}
}

func (a *App) showError(err error) {
	log.Printf("ui: %v", err)
	if a.scanScr != nil {
		a.setScanMessage(userMessage(a.tr, err))
	}
}

// applySettings saves s, applies language, palette and policy, and tells
// the wiring.
//
// A new language or palette rebuilds the screens (colours taken from the
// theme when a screen is built, such as the status bar's background, and
// every text change with them), then shows Settings again with its
// "saved" message; the check and the stop are kept.
func (a *App) applySettings(s Settings) {
	rebuild := s.Lang != a.set.Lang || s.Palette != a.set.Palette
	a.set = s
	s.save(a.fa.Preferences())
	a.cat.set(s.Lang)
	a.fa.Settings().SetTheme(newTheme(s.Palette))
	a.applyPolicy()
	a.win.SetTitle(a.title())
	if a.deps.SettingsChanged != nil {
		a.deps.SettingsChanged(s)
	}
	if rebuild && a.officer != nil {
		a.showMain()
		a.tabs.SelectIndex(len(a.tabs.Items) - 1)
		if st := a.settingsScr; st != nil {
			st.message.Importance = widget.SuccessImportance
			st.message.SetText(a.tr("settings.saved"))
			st.message.Show()
		}
	}
}

// setLang switches the language (sign-in screen's toggle).
func (a *App) setLang(l Lang) {
	s := a.set
	s.Lang = l
	a.set = s
	s.save(a.fa.Preferences())
	a.cat.set(l)
	a.win.SetTitle(a.title())
}

// checkLayout places the scan panel and the verdict placeholder side by
// side in landscape (the scan panel alone in portrait); while a verdict is
// shown it fills the whole tab in both orientations: the scan panel gives
// way, and comes back with the next code or 扫描下一个. A third object, the
// warmer's holder, gets the verdict's size and sits just beyond the
// trailing edge, outside the window.
type checkLayout struct{ a *App }

func (l *checkLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	scanObj, verdict := objs[0], objs[1]
	switch {
	case l.a.check != nil:
		scanObj.Hide()
		verdict.Show()
		verdict.Move(fyne.NewPos(0, 0))
		verdict.Resize(size)
	case size.Width >= size.Height:
		w := max(360, size.Width*0.38)
		scanObj.Show()
		verdict.Show()
		scanObj.Move(fyne.NewPos(0, 0))
		scanObj.Resize(fyne.NewSize(w, size.Height))
		verdict.Move(fyne.NewPos(w, 0))
		verdict.Resize(fyne.NewSize(size.Width-w, size.Height))
	default:
		verdict.Hide()
		scanObj.Show()
		scanObj.Move(fyne.NewPos(0, 0))
		scanObj.Resize(size)
	}
	if len(objs) > 2 {
		objs[2].Move(fyne.NewPos(size.Width+warmGap, 0))
		objs[2].Resize(size)
	}
}

// warmGap separates the warm-up holder from the window's trailing edge.
const warmGap = 64

func (l *checkLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(320, 480) }

// orientLayout puts the tabs on the leading edge in landscape and at the
// bottom in portrait (thumb reach on a tablet).
type orientLayout struct {
	tabs      *container.AppTabs
	landscape *bool
}

func (l *orientLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	land := size.Width >= size.Height
	if l.landscape == nil || *l.landscape != land {
		l.landscape = &land
		loc := container.TabLocationBottom
		if land {
			loc = container.TabLocationLeading
		}
		l.tabs.SetTabLocation(loc)
	}
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *orientLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(320, 400)
}
