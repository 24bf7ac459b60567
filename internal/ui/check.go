package ui

import (
	"fmt"
	"log"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// The life of a check on screen.
//
// A text that does not start with "RTC" is never verified: it gets the
// neutral "not an RTC code" screen. Otherwise it is verified and
// classified (outcome.go): a neutral outcome (read failure, newer format,
// the terminal's fault) becomes a scan event, a green, amber or red one a
// check on screen. Every check on screen becomes a record: one tap on an
// outcome saves it (with "已保存：放行" and 撤销 for undoSeconds), and
// leaving it any other way — 扫描下一个, the next code, a new stop, signing
// out, closing — records it as 未处置. Undo brings the check back; what is
// chosen then is recorded as a correction of the first record.

// undoWindow is how long the 撤销 of a saved outcome is offered.
const undoWindow = 6 * time.Second

// Sources of a scanned text (scan events).
const (
	sourceScanner = "scanner"
	sourceCamera  = "camera"
	sourceImage   = "image"
	sourcePaste   = "paste"
	sourceSample  = "sample"
	sourceTyped   = "typed"
)

// checkState is one verification on screen.
type checkState struct {
	text     string
	res      *verify.Result // nil for a text that is not an RTC code
	kind     outcome
	source   string
	revealed time.Time // when the officer uncovered the holder ID
	// recorded: the check has its record (or, neutral, its scan event).
	recorded bool
	recordID records.ID
	action   records.Action // the outcome recorded (0: 未处置)
	notes    string
	// corrects is the record an undone outcome's new record corrects.
	corrects records.ID
	shown    *verdictScreen
	// onlinePending: the online confirmation runs (see confirmOnline).
	onlinePending bool
	// prompt: the stop held another licence of this kind; until the
	// officer answers, the licence is in no stop (inStop false).
	prompt stopPrompt
	inStop bool
}

// savedToast is the confirmation of the last one-tap save, with its undo.
type savedToast struct {
	check *checkState
	until time.Time
}

// untreated sets chk's action to 未处置 (records.ActionNone).
func untreated(chk *records.Check) {
	chk.Action = records.ActionNone
	chk.ActionText = ""
}

// isUntreated reports whether a stored action is 未处置: ActionNone, or a
// record written before it existed (records.ReadAction).
func isUntreated(a records.Action, text string) bool {
	a, _ = records.ReadAction(a, text)
	return a == records.ActionNone
}

// submit verifies text that was typed or came from a USB scanner.
func (a *App) submit(text string) { a.submitFrom(text, sourceScanner) }

// submitFrom verifies text (from the entry, a sample, an image, the
// camera or the scanner) and shows the verdict. A text equal to the one on
// screen is ignored (the camera sees the same code many times). The check
// on screen is left (recorded) first.
func (a *App) submitFrom(text, source string) {
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
	if !isRTCText(text) {
		a.leaveCheck()
		a.showNeutral(outcomeNotRTC, text, source, nil)
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
		fyne.Do(func() {
			// The same code sent again while it was being verified (a
			// scanner's double trigger, a double tap): it is on screen
			// already, one check.
			if a.check != nil && a.check.text == text {
				return
			}
			a.leaveCheck()
			a.showResult(text, source, res)
		})
	})
}

// showResult puts res on screen and, when its stop has no licence of its
// kind yet (or the same licence), into the stop.
func (a *App) showResult(text, source string, res *verify.Result) {
	o := classify(res)
	if res.Err != nil {
		log.Printf("ui: verify: %v", res.Err)
	}
	if o.neutral() {
		a.showNeutral(o, text, source, res)
		return
	}
	if a.stop == nil {
		a.newStop()
	}
	c := &checkState{text: text, res: res, kind: o, source: source}
	a.check = c
	if res.Claims != nil {
		k := res.Claims.Credential.Kind
		if old := a.stop.Slot(k); old != nil && old.Claims.Credential.ID != res.Claims.Credential.ID {
			c.prompt = promptVehicle
			if k == credential.KindPractitioner {
				c.prompt = promptDriver
			}
		} else {
			a.joinStop(c, false)
		}
	}
	a.setScanMessage("")
	a.renderVerdict()
	a.renderStop()
	if a.tabs != nil {
		a.tabs.Select(a.tabCheck)
	}
	a.focusScan()
	a.alert(o)
	a.confirmOnline(a.check)
}

// showNeutral shows a screen that established nothing about a licence and
// keeps a scan event for it.
func (a *App) showNeutral(o outcome, text, source string, res *verify.Result) {
	a.check = &checkState{text: text, res: res, kind: o, source: source, recorded: true}
	a.logScan(o, text, source)
	a.setScanMessage("")
	a.renderVerdict()
	if a.tabs != nil {
		a.tabs.Select(a.tabCheck)
	}
	a.focusScan()
	a.alert(o)
}

// logScan keeps a scan event (off fyne's goroutine: it writes a file).
func (a *App) logScan(o outcome, text, source string) {
	if a.events == nil {
		return
	}
	ev := ScanEvent{At: a.deps.Clock.Now(), Device: a.deps.Device, Outcome: o.String(), Source: source,
		Length: len(text), Digest: scanDigest(text)}
	if a.officer != nil {
		ev.Officer = a.officer.ID
	}
	if a.stop != nil {
		ev.StopID = a.stop.ID
	}
	log, ctx := a.events, a.ctx
	a.async(func() {
		if err := log.Add(ctx, ev); err != nil {
			a.logErr("scan event", err)
		}
	})
}

// joinStop puts the check's licence into the stop: into its slot
// (replacing an earlier licence of the kind), or as another driver.
func (a *App) joinStop(c *checkState, asDriver bool) {
	if asDriver {
		a.stopDrivers = append(a.stopDrivers, c.res)
	} else if _, err := a.stop.Add(c.res); err != nil {
		log.Printf("ui: stop: %v", err)
		return
	}
	c.inStop = true
	c.prompt = promptNone
	a.stopMembers = append(a.stopMembers, c)
}

// answerPrompt handles the officer's answer to "新车辆？开始新的路检".
func (a *App) answerPrompt(ans stopAnswer) {
	a.touch()
	c := a.check
	if c == nil || c.prompt == promptNone {
		return
	}
	switch ans {
	case answerNewStop:
		a.newStop()
		a.joinStop(c, false)
	case answerReplace:
		a.joinStop(c, false)
	case answerDriver:
		a.joinStop(c, true)
	}
	a.renderVerdict()
	a.renderStop()
}

// stopFindings are the stop's cross-check findings, the other drivers'
// included (each checked against the stop's vehicle and permit as if it
// were the driver).
func (a *App) stopFindings() []stop.Finding {
	if a.stop == nil {
		return nil
	}
	fs := a.stop.Check()
	for _, d := range a.stopDrivers {
		tmp := stop.New(a.stop.ID, a.stop.Started)
		for _, k := range []credential.Kind{credential.KindPermit, credential.KindVehicle} {
			if r := a.stop.Slot(k); r != nil {
				_, _ = tmp.Add(r)
			}
		}
		if _, err := tmp.Add(d); err != nil {
			continue
		}
		for _, f := range tmp.Check() {
			if f.Warning == stop.DriverNotQualified || (f.Warning == stop.InvalidLicence && f.Kind == credential.KindPractitioner) {
				fs = append(fs, f)
			}
		}
	}
	return fs
}

// stopLicences are the check states whose licences the stop holds now.
func (a *App) stopLicences() []*checkState {
	var out []*checkState
	for _, c := range a.stopMembers {
		if slices.Contains(a.stopDrivers, c.res) || (c.res.Claims != nil && a.stop.Slot(c.res.Claims.Credential.Kind) == c.res) {
			out = append(out, c)
		}
	}
	return out
}

// newStop starts a new roadside stop.
func (a *App) newStop() {
	a.stopSeq++
	now := a.deps.Clock.Now()
	a.stop = stop.New(fmt.Sprintf("%s-%s-%d", a.deps.Device, now.Format("20060102T150405"), a.stopSeq), now)
	a.stopDrivers, a.stopMembers = nil, nil
	a.renderStop()
}

// startNewStop is 新路检: the check on screen is left (recorded) and a new
// stop begins.
func (a *App) startNewStop() {
	a.touch()
	a.leaveCheck()
	a.check = nil
	a.newStop()
	a.renderVerdict()
	a.setScanMessage(a.tr("stop.started"))
	a.focusScan()
}

// checkRecord is the record of c with action (0: 未处置) and notes.
func (a *App) checkRecord(c *checkState, action records.Action, notes string) (records.Check, error) {
	chk := records.CheckFromResult(c.res)
	if a.officer != nil {
		chk.Officer = a.officer.ID
	}
	chk.Notes = strings.TrimSpace(notes)
	switch {
	case action == 0:
		untreated(&chk)
	case action == records.ActionOther:
		if chk.Notes == "" {
			return chk, errOtherNeedsText
		}
		chk.Action = action
		chk.ActionText, _, _ = strings.Cut(chk.Notes, "\n")
	default:
		chk.Action = action
	}
	chk.HolderIDRevealed = c.revealed
	chk.Corrects = c.corrects
	if c.inStop && a.stop != nil {
		// The stop and what its cross-check finds now go into the signed
		// record, so supervisors see the mismatches an officer acted on.
		chk.StopID = a.stop.ID
		chk.StopWarnings = stopWarningCodes(a.stopFindings())
	}
	// The policy in force goes into the signed record.
	ref := a.pol.Ref()
	chk.Policy = &ref
	if a.records == nil {
		return chk, ErrLocked
	}
	return chk, nil
}

// recordCheck appends c with action (0: 未处置) and notes, and returns once
// the record is durable.
func (a *App) recordCheck(c *checkState, action records.Action, notes string) error {
	if c == nil || c.recorded || c.kind.neutral() {
		return nil
	}
	chk, err := a.checkRecord(c, action, notes)
	if err != nil {
		return err
	}
	rec, err := a.records.Append(a.ctx, chk)
	if err != nil {
		return err
	}
	c.recorded, c.recordID, c.action, c.notes = true, rec.ID, action, chk.Notes
	a.refreshStatus()
	return nil
}

// record appends the check on screen with the officer's action.
func (a *App) record(action records.Action, notes string) error {
	return a.recordCheck(a.check, action, notes)
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

var (
	errOtherNeedsText = &UserError{Key: "verdict.otherNeedsText", Msg: "ui: action other needs a text"}
	errNotRecorded    = &UserError{Key: "verdict.notRecorded", Msg: "ui: the check left on screen could not be recorded"}
)

// leaveCheck records the check on screen as 未处置 unless it has its
// record, and returns once the record is durable (one append, ~1–4 ms):
// a check is never "recorded" without its record ID, so that a stop's
// outcome or an undo right after can correct it. A failure is shown on
// the scan screen and logged.
func (a *App) leaveCheck() {
	c := a.check
	if c == nil || c.recorded || c.kind.neutral() {
		return
	}
	if err := a.recordCheck(c, 0, ""); err != nil {
		log.Printf("ui: record a check left without an outcome: %v", err)
		a.setScanMessage(userMessage(a.tr, errNotRecorded))
	}
}

// leaveCheckNow is leaveCheck (the records are about to close: lock by
// another officer, sign-out, exit).
func (a *App) leaveCheckNow() { a.leaveCheck() }

// saveOutcome is the one tap on an outcome: it records the check on
// screen, returns to scanning and shows "已保存：放行" with 撤销.
func (a *App) saveOutcome(action records.Action, notes string) error {
	a.touch()
	c := a.check
	if c == nil {
		return nil
	}
	if err := a.recordCheck(c, action, notes); err != nil {
		return err
	}
	a.check = nil
	a.clearScanLeftovers()
	a.renderVerdict()
	a.showSaved(c)
	a.focusScan()
	return nil
}

// showSaved shows the saved confirmation with 撤销 for undoWindow.
func (a *App) showSaved(c *checkState) {
	t := &savedToast{check: c, until: a.deps.Clock.Now().Add(undoWindow)}
	a.toast = t
	a.renderToast()
	a.after(undoWindow, func() {
		if a.toast == t {
			a.toast = nil
			a.renderToast()
		}
	})
}

// undoSave brings the check of the last save back on screen without an
// outcome; what the officer chooses next (or 未处置 when they leave) is
// recorded as a correction of the saved record.
func (a *App) undoSave() {
	a.touch()
	t := a.toast
	if t == nil {
		return
	}
	a.toast = nil
	a.renderToast()
	a.leaveCheck()
	c := t.check
	a.check = &checkState{text: c.text, res: c.res, kind: c.kind, source: c.source, revealed: c.revealed,
		corrects: c.recordID, inStop: c.inStop}
	for i, m := range a.stopMembers {
		if m == c {
			a.stopMembers[i] = a.check
		}
	}
	a.renderVerdict()
	if a.tabs != nil {
		a.tabs.Select(a.tabCheck)
	}
}

// stopOutcome records one outcome for every licence of the stop: checks
// not yet recorded get it, recorded ones a correction carrying it.
func (a *App) stopOutcome(action records.Action, notes string) (int, error) {
	a.touch()
	if action == records.ActionOther && strings.TrimSpace(notes) == "" {
		return 0, errOtherNeedsText
	}
	n := 0
	for _, c := range a.stopLicences() {
		if c.recorded && c.action == action {
			n++
			continue
		}
		target := c
		if c.recorded {
			target = &checkState{text: c.text, res: c.res, kind: c.kind, source: c.source, revealed: c.revealed,
				corrects: c.recordID, inStop: true}
		}
		if err := a.recordCheck(target, action, notes); err != nil {
			return n, err
		}
		if target != c {
			for i, m := range a.stopMembers {
				if m == c {
					a.stopMembers[i] = target
				}
			}
			if a.check == c {
				a.check = target
			}
		}
		n++
	}
	if a.check != nil && a.check.recorded && !a.check.kind.neutral() {
		a.check = nil
		a.renderVerdict()
	}
	return n, nil
}

// next clears the verdict and returns to scanning; the check on screen is
// recorded as 未处置 when it has no outcome, and leftovers of a scan are
// cleared.
func (a *App) next() {
	a.touch()
	a.leaveCheck()
	a.check = nil
	a.clearScanLeftovers()
	a.renderVerdict()
	a.focusScan()
}

// clearScanLeftovers empties the scan field and drops a held scanner
// fragment.
func (a *App) clearScanLeftovers() {
	if a.scanScr != nil {
		a.scanScr.entry.SetText("")
	}
	if b, ok := a.deps.Wedge.(*burstWedge); ok {
		b.reset()
	}
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
		c := a.check
		var st *stop.Stop
		var fs []stop.Finding
		if c.inStop {
			st, fs = a.stop, a.stopFindings()
		}
		vs := buildVerdictScreen(a.cat, c.res, st, verdictActions{
			Outcome: c.kind,
			OnReveal: func() {
				a.touch()
				if a.check != nil && a.check.revealed.IsZero() {
					a.check.revealed = a.deps.Clock.Now()
				}
			},
			OnAction: a.saveOutcome,
			OnNext:   a.next,
			OnStop:   func() { a.touch(); a.tabs.Select(a.tabStop) },
			Prompt:   c.prompt,
			OnPrompt: a.answerPrompt,
			Findings: fs,
			keys:     a.keys,
		})
		c.shown = vs
		if c.onlinePending {
			vs.setOnline(a.cat, c.res, true)
		}
		obj = a.withProbe(vs.root, a.verdictPainted)
	}
	a.verdictBox.Objects = []fyne.CanvasObject{obj}
	a.verdictBox.Refresh()
	if a.checkBox != nil {
		// The verdict replaces the scan panel: lay out again.
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
	a.stopScr = buildStopScreen(a.cat, a.stop, stopActions{
		OnPlate:   func(string) { a.touch() },
		OnNew:     a.startNewStop,
		OnOutcome: a.stopOutcome,
		Drivers:   a.stopDrivers,
		Findings:  a.stopFindings,
		Licences:  len(a.stopLicences()),
		keys:      a.keys,
	})
	a.stopBox.Objects = []fyne.CanvasObject{a.stopScr.root}
	a.stopBox.Refresh()
}
