package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/assets"
	"github.com/roadcheck/roadcheck/internal/records"
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
	// records is the record store: Deps.Records, or the one Deps.OpenRecords
	// unlocked at sign-in (nil while locked).
	records      RecordStore
	lastActivity time.Time

	stop      *stop.Stop
	stopSeq   int
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
	warm          *warmer
	cam           *cameraRun
	orient        *orientLayout
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

// checkState is one verification on screen.
type checkState struct {
	text     string
	res      *verify.Result
	revealed time.Time // when the officer uncovered the holder ID
	recorded bool
	shown    *verdictScreen
	// onlinePending: the online confirmation runs (see confirmOnline).
	onlinePending bool
}

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
	a := &App{fa: fa, deps: d, cat: cat, ctx: ctx, stopCtx: cancel, async: defaultAsync}
	if d.OpenRecords == nil {
		a.records = d.Records
	}
	a.set = loadSettings(fa.Preferences(), d)
	a.cat.set(a.set.Lang)
	a.applyPolicy()
	fa.Settings().SetTheme(newTheme(a.set.Palette))
	fa.SetIcon(fyne.NewStaticResource("roadcheck.png", assets.AppIcon))
	a.win = fa.NewWindow(a.title())
	a.win.Resize(fyne.NewSize(1280, 800))
	a.win.SetMaster()
	a.win.SetOnClosed(a.closed)
	a.keys = newKeyRouter(a)
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

func (a *App) applyPolicy() {
	if a.deps.Verifier != nil {
		a.ver = a.deps.Verifier(a.set.Policy)
	}
}

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
			}
			if a.officer == nil || a.officer.ID != o.ID {
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

// signOut forgets the officer and the stop.
func (a *App) signOut() {
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
	a.historyScr, a.supervisorScr, a.settingsScr = nil, nil, nil
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

// newStop starts a new roadside stop.
func (a *App) newStop() {
	a.stopSeq++
	now := a.deps.Clock.Now()
	a.stop = stop.New(fmt.Sprintf("%s-%s-%d", a.deps.Device, now.Format("20060102T150405"), a.stopSeq), now)
	a.renderStop()
}

// submit verifies text (from the entry, a sample, an image, the camera or
// the scanner) and shows the verdict. A text equal to the one on screen is
// ignored (the camera sees the same code many times).
func (a *App) submit(text string) {
	a.touch()
	// Scanners and pasting add line breaks and leading blanks; a trailing
	// space is kept, because space is a Base45 character (an RTC1 text
	// may end with one).
	text = strings.TrimRight(strings.TrimLeft(text, " \t\r\n"), "\t\r\n")
	if text == "" {
		return
	}
	if a.check != nil && a.check.text == text {
		return
	}
	if a.ver == nil {
		a.setScanMessage(a.tr("scan.noVerifier"))
		return
	}
	ver, ctx := a.ver, a.ctx
	a.setScanMessage(a.tr("scan.verifying"))
	a.async(func() {
		res := ver.Verify(ctx, text, time.Time{})
		fyne.Do(func() { a.showResult(text, res) })
	})
}

// showResult puts res on screen and into the stop.
func (a *App) showResult(text string, res *verify.Result) {
	a.check = &checkState{text: text, res: res}
	if a.stop == nil {
		a.newStop()
	}
	if res.Claims != nil {
		if _, err := a.stop.Add(res); err != nil {
			log.Printf("ui: stop: %v", err)
		}
	}
	a.setScanMessage("")
	a.renderVerdict()
	a.renderStop()
	if a.tabs != nil {
		a.tabs.Select(a.tabCheck)
	}
	a.focusScan()
	a.confirmOnline(a.check)
}

// record appends the check on screen with the officer's action.
func (a *App) record(action records.Action, notes string) error {
	c := a.check
	if c == nil || c.recorded {
		return nil
	}
	chk := records.CheckFromResult(c.res)
	chk.Officer = a.officer.ID
	chk.Action = action
	chk.Notes = strings.TrimSpace(notes)
	if action == records.ActionOther {
		if chk.Notes == "" {
			return errOtherNeedsText
		}
		chk.ActionText, _, _ = strings.Cut(chk.Notes, "\n")
	}
	chk.HolderIDRevealed = c.revealed
	if a.stop != nil {
		// The stop and what its cross-check finds now go into the signed
		// record, so supervisors see the mismatches an officer acted on.
		chk.StopID = a.stop.ID
		chk.StopWarnings = stopWarningCodes(a.stop.Check())
	}
	if a.records == nil {
		return ErrLocked
	}
	if _, err := a.records.Append(a.ctx, chk); err != nil {
		return err
	}
	c.recorded = true
	a.refreshStatus()
	return nil
}

// stopWarningCodes lists the distinct warning codes of findings, in order.
func stopWarningCodes(fs []stop.Finding) []string {
	var out []string
	for _, f := range fs {
		if code := f.Warning.String(); !slices.Contains(out, code) {
			out = append(out, code)
		}
	}
	return out
}

var errOtherNeedsText = &UserError{Key: "verdict.otherNeedsText", Msg: "ui: action other needs a text"}

// next clears the verdict and returns to scanning.
func (a *App) next() {
	a.touch()
	a.check = nil
	a.renderVerdict()
	a.focusScan()
}

func (a *App) renderVerdict() {
	if a.verdictBox == nil {
		return
	}
	var obj fyne.CanvasObject
	if a.check == nil {
		hint := widget.NewLabel(a.tr("verdict.placeholder"))
		hint.Alignment = fyne.TextAlignCenter
		hint.Wrapping = fyne.TextWrapWord
		box := container.NewVBox(layout.NewSpacer(), hint)
		if len(a.deps.Samples) > 0 {
			// Demo: a newcomer's first question is "what do I scan?".
			demo := widget.NewLabelWithStyle(a.tr("demo.samplesHint"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
			demo.Wrapping = fyne.TextWrapWord
			demo.SizeName = theme.SizeNameSubHeadingText
			box.Add(demo)
		}
		box.Add(layout.NewSpacer())
		obj = box
	} else {
		vs := buildVerdictScreen(a.cat, a.check.res, a.stop, verdictActions{
			OnReveal: func() {
				a.touch()
				if a.check != nil && a.check.revealed.IsZero() {
					a.check.revealed = a.deps.Clock.Now()
				}
			},
			OnSave: func(act records.Action, notes string) error {
				a.touch()
				if err := a.record(act, notes); err != nil {
					return err
				}
				a.next()
				return nil
			},
			OnNext: a.next,
			OnStop: func() { a.touch(); a.tabs.Select(a.tabStop) },
			keys:   a.keys,
		})
		a.check.shown = vs
		if a.check.onlinePending {
			vs.setOnline(a.cat, a.check.res, true)
		}
		obj = a.withProbe(vs.root, a.verdictPainted)
	}
	a.verdictBox.Objects = []fyne.CanvasObject{obj}
	a.verdictBox.Refresh()
	if a.checkBox != nil {
		// In portrait the verdict replaces the scan panel: lay out again.
		a.checkBox.Refresh()
	}
}

// renderStop shows the stop; while its tab is not shown it only marks it
// stale (tabShown rebuilds it), so a verdict does not wait for it.
func (a *App) renderStop() {
	if a.stopBox == nil || a.stop == nil {
		return
	}
	if a.tabs == nil || a.tabs.Selected() != a.tabStop {
		a.stopStale = true
		return
	}
	a.stopStale = false
	a.stopBox.Objects = []fyne.CanvasObject{newStopScreen(a.cat, a.stop, stopActions{
		OnPlate: func(string) { a.touch() },
		OnNew:   func() { a.touch(); a.newStop(); a.check = nil; a.renderVerdict() },
		keys:    a.keys,
	})}
	a.stopBox.Refresh()
}

// setScanMessage shows s under the scan screen's buttons (hidden while
// empty, so that it leaves no gap).
func (a *App) setScanMessage(s string) {
	a.scanMsg = s
	if a.scanScr != nil {
		a.scanScr.message.SetText(s)
		a.scanScr.message.Hidden = s == ""
		a.scanScr.message.Refresh()
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

// checkLayout places the scan panel and the verdict side by side in
// landscape; in portrait it shows the verdict when there is one, else the
// scan panel. A third object, the warmer's holder, gets the verdict's size
// and sits just beyond the trailing edge, outside the window.
type checkLayout struct{ a *App }

func (l *checkLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	scanObj, verdict := objs[0], objs[1]
	vsize := size
	if size.Width >= size.Height {
		w := max(360, size.Width*0.38)
		vsize = fyne.NewSize(size.Width-w, size.Height)
		scanObj.Show()
		verdict.Show()
		scanObj.Move(fyne.NewPos(0, 0))
		scanObj.Resize(fyne.NewSize(w, size.Height))
		verdict.Move(fyne.NewPos(w, 0))
		verdict.Resize(vsize)
	} else {
		show, hide := scanObj, verdict
		if l.a.check != nil {
			show, hide = verdict, scanObj
		}
		hide.Hide()
		show.Show()
		show.Move(fyne.NewPos(0, 0))
		show.Resize(size)
	}
	if len(objs) > 2 {
		objs[2].Move(fyne.NewPos(size.Width+warmGap, 0))
		objs[2].Resize(vsize)
	}
}

// warmGap separates the warm-up holder from the window's trailing edge.
const warmGap = 64

func (l *checkLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(320, 400) }

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
