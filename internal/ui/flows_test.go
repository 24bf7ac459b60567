package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// outcomeButtons counts the outcome buttons visible on the verdict screen.
func outcomeButtons(v *verdictScreen) int {
	n := 0
	for _, b := range buttons(v.root) {
		for _, a := range outcomeActions {
			if b == v.actions[a] {
				n++
			}
		}
	}
	return n
}

// A read failure, a text that is not an RTC code, a newer format and a
// cut scan each get a neutral screen: no verdict colour, no outcome
// buttons, no check record, but a scan event.
func TestNeutralScreens(t *testing.T) {
	tests := []struct {
		name     string
		submit   func(e *env)
		want     outcome
		wantWord string
	}{
		{name: "read failure (malformed sample)", submit: func(e *env) { e.tapSample(t, "invalid-malformed") },
			want: outcomeUnreadable, wantWord: "未能识别，请重新扫描"},
		{name: "truncated code", submit: func(e *env) { e.app.submit(sample(t, "valid-vehicle").Text[:40]) },
			want: outcomeUnreadable, wantWord: "未能识别，请重新扫描"},
		{name: "pasted garbage", submit: func(e *env) { e.app.submitFrom("hello world 12345", sourcePaste) },
			want: outcomeNotRTC, wantWord: "该二维码不是道路运输电子证照"},
		{name: "a newer format", submit: func(e *env) { e.tapSample(t, "invalid-unsupported-version") },
			want: outcomeNeedsUpdate, wantWord: "本终端需要更新"},
		{name: "RTC2 text", submit: func(e *env) { e.app.submit("RTC2:" + strings.Repeat("A", 60)) },
			want: outcomeNeedsUpdate, wantWord: "本终端需要更新"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.signIn(t, "1001", "1234")
			tt.submit(e)
			c := e.app.check
			if c == nil || c.kind != tt.want || c.shown == nil {
				t.Fatalf("screen %+v, want %v", c, tt.want)
			}
			v := c.shown
			if v.word.Text != tt.wantWord || v.band.FillColor != outcomeBand(tt.want) || v.band.FillColor == verdictBand(verify.Invalid) {
				t.Errorf("band %q %v", v.word.Text, v.band.FillColor)
			}
			if n := outcomeButtons(v); n != 0 || len(v.actions) != 0 {
				t.Errorf("%d outcome buttons on a neutral screen", n)
			}
			if v.symbol.symbolName() != "?" {
				t.Errorf("symbol %q", v.symbol.symbolName())
			}
			test.Tap(v.next)
			if got := e.records(t); len(got) != 0 {
				t.Errorf("%d check records for a scan that read no licence", len(got))
			}
			evs := e.app.events.List()
			if len(evs) != 1 || evs[0].Outcome != tt.want.String() || evs[0].Officer != "1001" || evs[0].Digest == "" {
				t.Errorf("scan events %+v", evs)
			}
		})
	}
}

// Red is for a code that was read and is not valid, and says what was
// established.
func TestRedSaysWhatWasEstablished(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	for name, want := range map[string]string{
		"invalid-bad-signature":   "签名无效：证照内容不可信",
		"invalid-licence-revoked": "证照真实，但已被注销或吊销",
		"invalid-unknown-signer":  "签名证书未知：无法确认证照真伪",
	} {
		e.tapSample(t, name)
		v := e.app.check.shown
		if v.kind != outcomeInvalid || v.word.Text != "无效" || !strings.Contains(v.sub.Text, want) || v.symbol.symbolName() != "✗" {
			t.Errorf("%s: %v %q %q %s", name, v.kind, v.word.Text, v.sub.Text, v.symbol.symbolName())
		}
		if strings.Contains(v.sub.Text, "无法读取证照信息") {
			t.Errorf("%s: says the licence could not be read", name)
		}
		if outcomeButtons(v) != len(outcomeActions) {
			t.Errorf("%s: %d outcome buttons", name, outcomeButtons(v))
		}
	}
}

// Leaving a verdict without an outcome records it as 未处置: with
// 扫描下一个 and with the next code.
func TestLeavingRecordsUntreated(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "invalid-bad-signature")
	test.Tap(e.app.check.shown.next)
	e.tapSample(t, "valid-permit")
	e.tapSample(t, "valid-practitioner") // the next code leaves valid-permit
	es := e.records(t)
	if len(es) != 2 {
		t.Fatalf("%d records, want 2", len(es))
	}
	for i, want := range []verify.Verdict{verify.Invalid, verify.Valid} {
		c := es[i].Check
		if c.Verdict != want || c.Action != records.ActionNone || c.ActionText != "" || c.Officer != "1001" {
			t.Errorf("record %d: %v %v %q", i, c.Verdict, c.Action, c.ActionText)
		}
		if ref := e.app.pol.Ref(); c.Policy == nil || *c.Policy != ref || rowFromEntry(es[i]).Policy != ref.String() {
			t.Errorf("record %d: policy %+v, want the policy in force %+v", i, c.Policy, ref)
		}
		if got := outcomeName(e.app.cat, rowFromEntry(es[i]).Action); got != "未处置" {
			t.Errorf("shown as %q", got)
		}
	}
	// Signing out records the check on screen too.
	e.app.signOut()
	if n := len(e.records(t)); n != 3 {
		t.Errorf("%d records after signing out, want 3", n)
	}
}

// One tap saves the outcome, "已保存：放行" and 撤销 appear; undo brings the
// check back, and the next outcome corrects the first record.
func TestOneTapSaveAndUndo(t *testing.T) {
	var timers []func()
	e := newEnv(t)
	e.app.after = func(_ time.Duration, f func()) { timers = append(timers, f) }
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "valid-vehicle")
	test.Tap(e.app.check.shown.actions[records.ActionRelease])
	s := e.app.scanScr
	if e.app.check != nil || s.toast.Text != "已保存：放行" || !s.undo.Visible() {
		t.Fatalf("after one tap: check %v, toast %q, undo %v", e.app.check, s.toast.Text, s.undo.Visible())
	}
	first := e.records(t)
	if len(first) != 1 || first[0].Check.Action != records.ActionRelease {
		t.Fatalf("records %d", len(first))
	}
	test.Tap(s.undo)
	c := e.app.check
	if c == nil || c.recorded || c.corrects != first[0].Record.ID || s.undo.Visible() {
		t.Fatalf("after undo: %+v", c)
	}
	test.Tap(c.shown.actions[records.ActionWarning])
	es := e.records(t)
	if len(es) != 2 || es[1].Check.Action != records.ActionWarning || es[1].Check.Corrects != first[0].Record.ID {
		t.Fatalf("correction: %d records", len(es))
	}
	// The undo is offered for a few seconds only.
	for _, f := range timers {
		f()
	}
	if s.undo.Visible() || s.toast.Text != "" {
		t.Errorf("after the undo window: toast %q, undo %v", s.toast.Text, s.undo.Visible())
	}
	// History shows the latest version only.
	h := buildHistoryScreen(e.app)
	if len(h.rows.rows) != 1 || h.rows.rows[0].Action != records.ActionWarning {
		t.Errorf("history rows %+v", h.rows.rows)
	}
}

// A scanner burst cut by a pause (a busy machine) is joined: neither part
// is typed into the focused field, the whole code is verified.
func TestSplitBurstJoined(t *testing.T) {
	code := sample(t, "valid-vehicle").Text
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.app.tabs.SelectIndex(2) // history, its search field focused
	e.app.tabShown(e.app.tabs.Items[2])
	search := e.app.historyScr.search
	e.app.win.Canvas().Focus(search)
	cut := len(code) / 3
	e.typeKeys(search, code[:cut], 2*time.Millisecond, false)
	e.clk.Advance(120 * time.Millisecond) // the GUI stalls: more than the 35 ms gap
	e.typeKeys(search, code[cut:], 2*time.Millisecond, true)
	e.settle()
	if search.Text != "" {
		t.Errorf("the search field got %q", search.Text)
	}
	if e.app.check == nil || e.app.check.text != code || e.app.check.res.Verdict != verify.Valid {
		t.Fatalf("split burst not verified whole: %+v", e.app.check)
	}

	// A burst whose Enter never comes: 扫描不完整，请重扫, nothing typed.
	test.Tap(e.app.check.shown.next)
	e.app.win.Canvas().Unfocus()
	e.typeKeys(nil, code[:cut], 2*time.Millisecond, false)
	e.settle()
	if e.app.check == nil || e.app.check.kind != outcomeCut || e.app.scanScr.entry.Text != "" {
		t.Fatalf("cut burst: %+v, scan field %q", e.app.check, e.app.scanScr.entry.Text)
	}
	if e.app.check.shown.word.Text != "扫描不完整，请重扫" {
		t.Errorf("cut screen %q", e.app.check.shown.word.Text)
	}
	// Its rest, coming late, is taken for what it is: nothing verified,
	// nothing typed, nothing more to say.
	test.Tap(e.app.check.shown.next)
	e.typeKeys(nil, code[cut:], 2*time.Millisecond, true)
	e.settle()
	if e.app.check != nil || e.app.scanScr.entry.Text != "" {
		t.Fatalf("the rest of a cut code: %+v, field %q", e.app.check, e.app.scanScr.entry.Text)
	}
	// The tail of a code alone, later, is not verified as a code either.
	e.clk.Advance(tailWindow)
	e.typeKeys(nil, code[cut:], 2*time.Millisecond, true)
	e.settle()
	if e.app.check == nil || e.app.check.kind != outcomeCut {
		t.Fatalf("a tail was verified: %+v", e.app.check)
	}
	// 扫描下一个 clears the scan field's leftovers.
	e.app.scanScr.entry.SetText("RTC1:")
	test.Tap(e.app.check.shown.next)
	if e.app.scanScr.entry.Text != "" {
		t.Errorf("leftover %q", e.app.scanScr.entry.Text)
	}
}

// kindSamples are demo samples of kind k that verify with claims, each of
// another licence.
func kindSamples(t *testing.T, e *env, k credential.Kind) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range demoWorld(t).Samples {
		res := e.app.ver.Verify(context.Background(), s.Text, time.Time{})
		if res.Claims != nil && res.Claims.Credential.Kind == k && !seen[res.Claims.Credential.ID] {
			seen[res.Claims.Credential.ID] = true
			out = append(out, s.Name)
		}
	}
	return out
}

// A second vehicle certificate asks 新车辆？开始新的路检; a second driver
// may be another driver of the same vehicle.
func TestSecondVehiclePrompt(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	vehicles := kindSamples(t, e, credential.KindVehicle)
	drivers := kindSamples(t, e, credential.KindPractitioner)
	if len(vehicles) < 2 || len(drivers) < 2 {
		t.Fatalf("demo world: %d vehicles, %d drivers", len(vehicles), len(drivers))
	}
	e.tapSample(t, vehicles[0])
	firstStop := e.app.stop.ID
	e.tapSample(t, vehicles[1])
	v := e.app.check.shown
	if e.app.check.prompt != promptVehicle || v.promptBox == nil || v.newStop == nil || v.driver != nil {
		t.Fatalf("no prompt for a second vehicle: %+v", e.app.check)
	}
	if got := e.app.stop.Slot(credential.KindVehicle); got == e.app.check.res {
		t.Error("the second vehicle replaced the first before the officer answered")
	}
	test.Tap(v.newStop)
	if e.app.stop.ID == firstStop || e.app.stop.Slot(credential.KindVehicle) != e.app.check.res || !e.app.check.inStop {
		t.Errorf("new stop %q (was %q)", e.app.stop.ID, firstStop)
	}
	// The first vehicle's check was recorded in the first stop.
	es := e.records(t)
	if len(es) != 1 || es[0].Check.StopID != firstStop {
		t.Fatalf("records %d", len(es))
	}

	e.tapSample(t, drivers[0])
	e.tapSample(t, drivers[1])
	v = e.app.check.shown
	if e.app.check.prompt != promptDriver || v.driver == nil {
		t.Fatalf("no driver prompt")
	}
	test.Tap(v.driver)
	if len(e.app.stopDrivers) != 1 || e.app.stopDrivers[0] != e.app.check.res {
		t.Errorf("other drivers %d", len(e.app.stopDrivers))
	}
	// One outcome for every licence of the stop.
	e.app.tabs.Select(e.app.tabStop)
	st := e.app.stopScr
	if st == nil || len(st.drivers) != 1 {
		t.Fatalf("stop view: %+v", st)
	}
	test.Tap(st.outcomes[records.ActionRelease])
	if !strings.Contains(st.outcomeResult.Text, "3 份证照") {
		t.Errorf("stop outcome: %q", st.outcomeResult.Text)
	}
	n := 0
	for _, en := range e.records(t) {
		if en.Check.StopID == e.app.stop.ID && en.Check.Action == records.ActionRelease {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d released records in the stop, want 3", n)
	}
}

// The check policy is the supervisor's, signed: read-only for an
// inspector; a supervisor on a terminal without a hub signs a new one,
// which the verifier then uses; a file edited by hand is refused.
func TestPolicySignedBySupervisor(t *testing.T) {
	path := policy.FileFor(filepath.Join(t.TempDir(), "terminal.db"))
	e := newEnv(t, func(d *Deps) { d.PolicyFile = path })
	e.signIn(t, "1001", "1234")
	s := buildSettingsScreen(e.app)
	if s.policy.form.Visible() {
		t.Fatal("an inspector may edit the policy")
	}
	e.app.signOut()
	e.signIn(t, "9001", "9999")
	s = buildSettingsScreen(e.app)
	if !s.policy.form.Visible() {
		t.Fatal("a supervisor of a terminal without a hub gets no policy form")
	}
	s.policy.skew.SetText("4000")
	test.Tap(s.policy.sign)
	if s.policy.message.Text != e.app.tr("policy.badValues") || e.app.pol.Source != policy.SourceDefault {
		t.Fatalf("out of bounds: %q %v", s.policy.message.Text, e.app.pol)
	}
	s.policy.skew.SetText("120")
	s.policy.maxAge.SetText("3")
	s.policy.lock.SetText("2")
	test.Tap(s.policy.sign)
	if p := e.app.pol; p.Source != policy.SourceDevice || p.ClockSkew != 120*time.Second || p.Supervisor != "9001" || e.app.set.AutoLock != 2*time.Minute {
		t.Fatalf("policy in force %v (%q)", p, s.policy.message.Text)
	}
	if !strings.Contains(s.policy.source.Text, "主管 9001") {
		t.Errorf("source %q", s.policy.source.Text)
	}
	// Loosened by hand: refused, the default in force and said so.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), "clock-skew-seconds: 120", "clock-skew-seconds: 3600", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	e.app.loadPolicy()
	if e.app.pol.ClockSkew != policy.DefaultClockSkew || e.app.polErr == nil {
		t.Errorf("edited policy applied: %v", e.app.pol)
	}
	s = buildSettingsScreen(e.app)
	if !s.policy.refused.Visible() {
		t.Error("the refusal is not shown")
	}
	// A newer one signed; the older one put back by hand is refused
	// (the terminal remembers the sequence it applied).
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.app.loadPolicy()
	s = buildSettingsScreen(e.app)
	s.policy.skew.SetText("60")
	test.Tap(s.policy.sign)
	if p := e.app.pol; p.Seq != 2 || p.ClockSkew != 60*time.Second {
		t.Fatalf("second policy %v (%q)", p, s.policy.message.Text)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.app.loadPolicy()
	if !errors.Is(e.app.polErr, policy.ErrRollback) || e.app.pol.Source != policy.SourceDefault {
		t.Errorf("older policy put back: %v %v", e.app.polErr, e.app.pol)
	}
	// The supervisor signs again: after the highest applied, so it holds.
	s = buildSettingsScreen(e.app)
	s.policy.skew.SetText("30")
	test.Tap(s.policy.sign)
	if p := e.app.pol; p.Seq != 3 || p.ClockSkew != 30*time.Second || e.app.polErr != nil {
		t.Errorf("signed after a refusal: %v %v (%q)", p, e.app.polErr, s.policy.message.Text)
	}
}

// A hub policy (signed with the key the terminal pinned at enrolment,
// saved by the sync) is in force after ReloadPolicy, read-only even for a
// supervisor, and every record carries it.
func TestHubPolicyInForce(t *testing.T) {
	ctx := context.Background()
	path := policy.FileFor(filepath.Join(t.TempDir(), "terminal.db"))
	e := newEnv(t, func(d *Deps) { d.PolicyFile = path })
	hubKey, err := gm.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := hubKey.Public().MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.recs.UpdateSyncState(ctx, func(st *records.SyncState) { st.HubURL, st.HubPolicyKey = "https://hub.example", der }); err != nil {
		t.Fatal(err)
	}
	want := policy.Policy{Source: policy.SourceHub, Seq: 4, Issued: e.clk.Now().Truncate(time.Second), ClockSkew: 90 * time.Second,
		MaxTrustAge: 48 * time.Hour, AutoLock: 3 * time.Minute, Retention: 10 * 24 * time.Hour}
	data, err := policy.SignWithKey(want, hubKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.Save(ctx, path, data); err != nil {
		t.Fatal(err)
	}
	e.signIn(t, "9001", "9999")
	e.app.loadPolicy()
	if p := e.app.pol; p.Source != policy.SourceHub || p.Seq != 4 || p.ClockSkew != 90*time.Second || e.app.set.AutoLock != 3*time.Minute || e.app.polErr != nil {
		t.Fatalf("policy in force %v, %v", p, e.app.polErr)
	}
	s := buildSettingsScreen(e.app)
	if s.policy.form.Visible() || !strings.Contains(s.policy.source.Text, "数据中心") {
		t.Fatalf("hub policy: form shown %v, source %q", s.policy.form.Visible(), s.policy.source.Text)
	}
	e.tapSample(t, "valid-permit")
	e.app.leaveCheckNow()
	es := e.records(t)
	if len(es) != 1 || es[0].Check.Policy == nil || es[0].Check.Policy.Source != policy.SourceHub || es[0].Check.Policy.Seq != 4 ||
		es[0].Check.Policy.Digest != e.app.pol.Digest {
		t.Fatalf("record's policy %+v", es)
	}
	// The same policy signed by another key: refused, the default in force.
	other, _ := gm.GenerateKey(nil)
	forged, _ := policy.SignWithKey(want, other)
	if err := policy.Save(ctx, path, forged); err != nil {
		t.Fatal(err)
	}
	e.app.loadPolicy()
	if !errors.Is(e.app.polErr, policy.ErrBadSignature) || e.app.pol.Source != policy.SourceDefault {
		t.Fatalf("forged hub policy: %v %v", e.app.polErr, e.app.pol)
	}
}

// Supervisors manage officers in the GUI: add one (with a PIN key slot,
// as --add-officer does), reset a PIN (ending a lock-out), remove one;
// never themselves or the last supervisor.
func TestOfficerManagement(t *testing.T) {
	var dir *OfficerDirectory
	e := newEnv(t, func(d *Deps) {
		dir = openDir(t, filepath.Join(t.TempDir(), OfficersFile), d.Clock)
		d.Officers, d.Demo, d.Samples = dir, false, nil
	})
	ctx := context.Background()
	if err := dir.Add(ctx, Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, "246810"); err != nil {
		t.Fatal(err)
	}
	e.app.showSignIn()
	e.signIn(t, "9001", "246810")
	e.app.tabs.SelectIndex(4)
	s := e.app.officersScr
	if s == nil || len(s.rows) != 1 || s.rows["9001"].remove.Disabled() == false {
		t.Fatalf("officers screen: %+v", s)
	}
	test.Type(s.id, "1002")
	test.Type(s.name, "赵敏")
	test.Type(s.pin, "135790")
	test.Type(s.pin2, "135790")
	test.Tap(s.add)
	if len(s.rows) != 2 || s.message.Text != "已添加 赵敏（工号 1002）。" {
		t.Fatalf("after add: %d rows, %q", len(s.rows), s.message.Text)
	}
	// Five wrong PINs lock 1002 out; a reset ends it.
	for range MaxPINAttempts {
		if _, err := dir.SignIn(ctx, "1002", "000000"); err == nil {
			t.Fatal("wrong PIN accepted")
		}
	}
	s.reload(e.app)
	if !strings.Contains(s.rows["1002"].label.Text, "锁定至") {
		t.Errorf("lock-out not shown: %q", s.rows["1002"].label.Text)
	}
	test.Tap(s.rows["1002"].reset)
	if s.message.Text != "请在下方 PIN 栏两次输入新 PIN，再点“重置 PIN”。" {
		t.Errorf("reset without a PIN: %q", s.message.Text)
	}
	test.Type(s.pin, "975310")
	test.Type(s.pin2, "975310")
	test.Tap(s.rows["1002"].reset)
	if o, err := dir.SignIn(ctx, "1002", "975310"); err != nil || o.Name != "赵敏" {
		t.Fatalf("new PIN: %v", err)
	}
	test.Tap(s.rows["9001"].remove)
	if len(s.rows) != 2 {
		t.Error("the supervisor removed themself")
	}
	test.Tap(s.rows["1002"].remove)
	if len(s.rows) != 1 || dir.find("1002") >= 0 {
		t.Fatalf("not removed: %d rows", len(s.rows))
	}
	if err := dir.Remove(ctx, "9001", "9002"); !errors.Is(err, ErrLastSupervisor) {
		t.Errorf("removing the last supervisor: %v", err)
	}
}
