package ui

import (
	"bytes"
	"context"
	"encoding/csv"
	"image"
	"image/png"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/xuri/excelize/v2"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/qrcode"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

func (e *env) records(t *testing.T) []*records.Entry {
	t.Helper()
	es, err := e.recs.List(context.Background(), records.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestSignIn(t *testing.T) {
	tests := []struct {
		name       string
		id, pin    string
		wantSigned bool
		wantMsg    string
		wantTabs   []string
	}{
		{name: "wrong PIN", id: "1001", pin: "0000", wantMsg: "工号或 PIN 不正确。"},
		{name: "unknown officer", id: "4242", pin: "1234", wantMsg: "工号或 PIN 不正确。"},
		{name: "missing PIN", id: "1001", pin: "", wantMsg: "请输入工号和 PIN。"},
		{name: "inspector", id: "1001", pin: "1234", wantSigned: true, wantTabs: []string{"核验", "路检", "记录", "设置"}},
		{name: "station", id: "2001", pin: "2345", wantSigned: true, wantTabs: []string{"核验", "路检", "记录", "设置"}},
		{name: "supervisor", id: "9001", pin: "9999", wantSigned: true, wantTabs: []string{"核验", "路检", "记录", "督查", "设置"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.app.signInScr
			e.signIn(t, tt.id, tt.pin)
			if (e.app.officer != nil) != tt.wantSigned {
				t.Fatalf("signed in = %v, want %v", e.app.officer != nil, tt.wantSigned)
			}
			if !tt.wantSigned {
				if s.message.Text != tt.wantMsg || e.app.tabs != nil {
					t.Errorf("message %q (want %q), main shown %v", s.message.Text, tt.wantMsg, e.app.tabs != nil)
				}
				return
			}
			var tabs []string
			for _, it := range e.app.tabs.Items {
				tabs = append(tabs, it.Text)
			}
			if strings.Join(tabs, ",") != strings.Join(tt.wantTabs, ",") {
				t.Errorf("tabs = %v, want %v", tabs, tt.wantTabs)
			}
		})
	}
}

func TestSupervisorScreenRefusedToInspector(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	obj := newSupervisorScreen(e.app)
	if got := test.LaidOutObjects(obj); len(got) == 0 || !strings.Contains(test.RenderObjectToMarkup(obj), "您的角色无权使用此功能。") {
		t.Errorf("inspector got a supervisor screen: %s", test.RenderObjectToMarkup(obj))
	}
}

// A newcomer taps a demo sample: the real verifier over the real trust
// store gives the verdict the demo world promises; two taps record it.
func TestSampleVerifyAndRecord(t *testing.T) {
	for _, name := range []string{"valid-vehicle", "limited-status-unknown", "invalid-bad-signature", "invalid-licence-revoked"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.signIn(t, "1001", "1234")
			e.tapSample(t, name)
			smp := sample(t, name)
			v := e.app.check.shown
			if v == nil || e.app.check.res.Verdict.String() != smp.Verdict {
				t.Fatalf("verdict on screen = %+v, want %s", e.app.check, smp.Verdict)
			}
			if v.word.Text != e.app.check.res.Verdict.Chinese() {
				t.Errorf("word %q", v.word.Text)
			}
			var reasons []string
			for _, r := range e.app.check.res.Reasons {
				reasons = append(reasons, r.String())
			}
			if strings.Join(reasons, ",") != strings.Join(smp.Reasons, ",") {
				t.Errorf("reasons %v, want %v", reasons, smp.Reasons)
			}
			if (e.app.check.res.Claims == nil) != (len(v.fields) == 0) {
				t.Errorf("claims %v but %d fields shown", e.app.check.res.Claims != nil, len(v.fields))
			}
			revealed := v.reveal != nil
			if revealed {
				e.clk.Advance(3 * time.Second)
				test.Tap(v.reveal)
			}
			test.Tap(v.actions[records.ActionRelease]) // one tap saves
			if e.app.check != nil {
				t.Error("verdict still on screen after the outcome")
			}
			if got := e.app.scanScr.toast.Text; got != "已保存：放行" || !e.app.scanScr.undo.Visible() {
				t.Errorf("confirmation %q, undo shown %v", got, e.app.scanScr.undo.Visible())
			}
			es := e.records(t)
			if len(es) != 1 {
				t.Fatalf("%d records, want 1", len(es))
			}
			c := es[0].Check
			if c.Officer != "1001" || c.Action != records.ActionRelease || c.Verdict.String() != smp.Verdict || (!c.HolderIDRevealed.IsZero()) != revealed {
				t.Errorf("record = officer %q action %v verdict %v revealed %v", c.Officer, c.Action, c.Verdict, c.HolderIDRevealed)
			}
			if revealed && !c.HolderIDRevealed.Equal(demoTime().Add(3*time.Second)) {
				t.Errorf("reveal logged at %v", c.HolderIDRevealed)
			}
		})
	}
}

func demoTime() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, credential.CST()) }

// Station staff: the scanner types into the focused field and presses
// Enter; several codes in a row need no tap at all.
func TestScannerCodesInARow(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "2001", "2345")
	for _, name := range []string{"valid-vehicle", "valid-permit", "valid-practitioner"} {
		test.Type(e.app.scanScr.entry, sample(t, name).Text)
		e.app.scanScr.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
		if e.app.check == nil || e.app.check.res.Claims == nil || e.app.check.res.Verdict != verify.Valid {
			t.Fatalf("%s: no VALID verdict after the scanner's Enter", name)
		}
		if e.app.scanScr.entry.Text != "" {
			t.Errorf("field not cleared: %q", e.app.scanScr.entry.Text)
		}
	}
	// The three licences of the demo stop agree.
	if !e.app.stop.Complete() || len(e.app.stop.Check()) != 0 {
		t.Errorf("stop complete=%v findings=%v", e.app.stop.Complete(), e.app.stop.Check())
	}
}

// Keys typed while no field has the focus go to the wedge (here without a
// Wedge: the GUI's own Enter-terminated buffer).
func TestUnfocusedKeysReachScanner(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "2001", "2345")
	e.app.win.Canvas().Unfocus()
	test.TypeOnCanvas(e.app.win.Canvas(), sample(t, "valid-permit").Text)
	e.app.win.Canvas().(test.WindowlessCanvas).OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if e.app.check == nil || e.app.check.res.Claims == nil || e.app.check.res.Claims.Credential.Kind != credential.KindPermit {
		t.Fatalf("unfocused scanner input not verified: %+v", e.app.check)
	}
}

func qrPNG(t *testing.T, text string) []byte {
	t.Helper()
	sym, err := qrcode.Encode(text, qrcode.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, sym.Image(4)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImageDecodeAndPaste(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.app.decodeImage(qrPNG(t, sample(t, "valid-practitioner").Text))
	if e.app.check == nil || e.app.check.res.Verdict != verify.Valid {
		t.Fatalf("image not verified: %+v (message %q)", e.app.check, e.app.scanScr.message.Text)
	}
	e.app.next()
	e.app.decodeImage([]byte("not an image"))
	if e.app.check != nil || e.app.scanScr.message.Text != "该文件不是 PNG 或 JPEG 图片。" {
		t.Errorf("bad image: check %v, message %q", e.app.check, e.app.scanScr.message.Text)
	}
	var blank bytes.Buffer
	if err := png.Encode(&blank, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	e.app.decodeImage(blank.Bytes())
	if e.app.scanScr.message.Text != "图片中未找到二维码，请换一张更清晰的图片。" {
		t.Errorf("blank image message %q", e.app.scanScr.message.Text)
	}
	e.fa.Clipboard().SetContent(sample(t, "valid-vehicle").Text)
	test.Tap(e.app.scanScr.paste)
	if e.app.check == nil || e.app.check.res.Claims.Credential.Kind != credential.KindVehicle {
		t.Errorf("pasted text not verified: %+v", e.app.check)
	}
	e.fa.Clipboard().SetContent("hello")
	e.app.next()
	test.Tap(e.app.scanScr.paste)
	if e.app.scanScr.message.Text != "剪贴板中既没有二维码文本，也没有图片文件路径。" {
		t.Errorf("paste of junk: %q", e.app.scanScr.message.Text)
	}
}

// fakeCamera delivers fixed frames (fakes are allowed for cameras).
type fakeCamera struct {
	frames []image.Image
	torch  []bool
}

func (c *fakeCamera) Devices() []string { return []string{"/dev/video0"} }
func (c *fakeCamera) Stream(ctx context.Context, _ string, frame func(image.Image)) error {
	for _, f := range c.frames {
		frame(f)
	}
	return nil
}
func (c *fakeCamera) Torch(_ string, on bool) error { c.torch = append(c.torch, on); return nil }

func TestCameraAndTorch(t *testing.T) {
	sym, err := qrcode.Encode(sample(t, "valid-permit").Text, qrcode.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	frame := sym.Image(5)
	cam := &fakeCamera{frames: []image.Image{frame, frame}}
	e := newEnv(t, func(d *Deps) { d.Camera = cam })
	e.signIn(t, "1001", "1234")
	if e.app.check == nil || e.app.check.res.Claims.Credential.Kind != credential.KindPermit {
		t.Fatalf("camera frame not verified: %+v", e.app.check)
	}
	if e.app.scanScr.preview.Image != frame || e.app.scanScr.noCamera.Visible() {
		t.Error("preview does not show the frame")
	}
	if n := len(e.records(t)); n != 0 {
		t.Errorf("%d records before any action", n)
	}
	e.app.scanScr.torch.SetChecked(true)
	if len(cam.torch) != 1 || !cam.torch[0] {
		t.Errorf("torch calls %v", cam.torch)
	}
}

func TestNoCamera(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	if !e.app.scanScr.noCamera.Visible() || e.app.scanScr.noCamera.Text != e.app.tr("scan.noCamera") || !e.app.scanScr.torch.Disabled() {
		t.Errorf("no camera: label visible=%v text=%q torch disabled=%v", e.app.scanScr.noCamera.Visible(), e.app.scanScr.noCamera.Text, e.app.scanScr.torch.Disabled())
	}
}

func TestAutoLock(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "valid-vehicle")
	e.clk.Advance(4 * time.Minute)
	e.app.tick()
	if e.app.locked {
		t.Fatal("locked after 4 minutes (auto-lock is 5)")
	}
	e.clk.Advance(time.Minute)
	e.app.tick()
	if !e.app.locked || e.app.signInScr == nil || e.app.signInScr.id.Text != "1001" {
		t.Fatalf("not locked after 5 idle minutes (locked=%v)", e.app.locked)
	}
	e.signIn(t, "1001", "1234")
	if e.app.locked || e.app.check == nil || e.app.check.res.Claims.Credential.Kind != credential.KindVehicle {
		t.Error("the same officer lost the check on screen after unlocking")
	}
	e.app.lock()
	e.signIn(t, "9001", "9999")
	if e.app.check != nil || e.app.stop.Scans() != 0 {
		t.Error("another officer sees the previous officer's check")
	}
}

func TestOtherNeedsNotes(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "invalid-licence-expired")
	v := e.app.check.shown
	test.Tap(v.actions[records.ActionOther])
	if v.errLabel.Text != "选择“其他”时请在备注中写明处置内容。" || len(e.records(t)) != 0 || e.app.check == nil {
		t.Fatalf("other without notes: %q, %d records", v.errLabel.Text, len(e.records(t)))
	}
	e.typeHuman(v.notes, "移交交警处理")
	test.Tap(v.actions[records.ActionOther])
	es := e.records(t)
	if len(es) != 1 || es[0].Check.ActionText != "移交交警处理" || es[0].Check.Action != records.ActionOther {
		t.Errorf("records %+v", es)
	}
}

func TestLayouts(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.app.win.Resize(fyne.NewSize(800, 1280))
	if *e.app.orient.landscape {
		t.Error("portrait: tabs not at the bottom")
	}
	if !e.app.scanScr.root.Visible() || e.app.verdictBox.Visible() {
		t.Error("portrait without a verdict: scan screen should fill the tab")
	}
	e.tapSample(t, "valid-vehicle")
	if e.app.scanScr.root.Visible() || !e.app.verdictBox.Visible() {
		t.Error("portrait with a verdict: verdict should fill the tab at once")
	}
	test.Tap(e.app.check.shown.next)
	if !e.app.scanScr.root.Visible() || e.app.verdictBox.Visible() {
		t.Error("portrait after 下一个: the scan panel should be back")
	}
	e.tapSample(t, "valid-vehicle")
	e.app.win.Resize(fyne.NewSize(1280, 800))
	// Landscape too: the verdict takes the whole tab, the scan panel gives way.
	if !*e.app.orient.landscape || e.app.scanScr.root.Visible() || !e.app.verdictBox.Visible() {
		t.Errorf("landscape: tabs leading %v, scan %v, verdict %v", *e.app.orient.landscape, e.app.scanScr.root.Visible(), e.app.verdictBox.Visible())
	}
	test.Tap(e.app.check.shown.next)
	if !e.app.scanScr.root.Visible() || !e.app.verdictBox.Visible() {
		t.Error("landscape without a verdict: scan panel and placeholder side by side")
	}
}

func TestStatusBar(t *testing.T) {
	test.NewTempApp(t)
	c := newCatalog(t, LangZH)
	now := demoTime()
	pol := verify.DefaultPolicy()
	list := func(this time.Time, stale ...bool) []trust.ListSummary {
		l := []trust.ListSummary{{Issuer: "440300", ThisUpdate: this, NextUpdate: this.Add(72 * time.Hour)}}
		for i, st := range stale {
			if i > 0 {
				l = append(l, trust.ListSummary{Issuer: "510100", ThisUpdate: this})
			}
			l[i].Stale = st
		}
		return l
	}
	tests := []struct {
		name      string
		st        statusState
		wantOnl   string
		wantTrust string
		wantStale bool
		wantBand  string
		wantErr   bool
		wantSync  bool
	}{
		{name: "no hub, trust unknown", st: statusState{Now: now, Pending: 2, Policy: pol}, wantOnl: "离线（未配置中心）", wantTrust: "信任数据：未知"},
		{name: "sync wired, not enrolled", st: statusState{Now: now, SyncWired: true, Policy: pol}, wantOnl: "离线（未配置中心）", wantTrust: "信任数据：未知"},
		{name: "online, fresh", st: statusState{Now: now, SyncWired: true, Enrolled: true, Sync: syncclient.State{Online: true, LastSuccess: now.Add(-time.Hour)}, Policy: pol,
			Trust: &trust.Summary{Lists: list(now.Add(-26 * time.Hour)), Oldest: now.Add(-26 * time.Hour)}}, wantOnl: "在线", wantTrust: "信任数据 1 天 前", wantSync: true},
		{name: "syncing", st: statusState{Now: now, SyncWired: true, Enrolled: true, Sync: syncclient.State{Online: true, Syncing: true}, Policy: pol},
			wantOnl: "正在同步…", wantTrust: "信任数据：未知", wantSync: true},
		{name: "offline with an error, too old", st: statusState{Now: now, SyncWired: true, Enrolled: true, Sync: syncclient.State{LastError: "syncclient: the hub cannot be reached", LastErrorKind: syncclient.KindUnreachable}, Policy: pol,
			Trust: &trust.Summary{Lists: list(now.Add(-8*24*time.Hour), true), Oldest: now.Add(-8 * 24 * time.Hour), Stale: true}}, wantOnl: "离线", wantTrust: "信任数据 8 天 前",
			wantStale: true, wantBand: "信任数据已过期", wantErr: true, wantSync: true},
		{name: "one list of two stale", st: statusState{Now: now, SyncWired: true, Enrolled: true, Policy: pol,
			Trust: &trust.Summary{Lists: list(now.Add(-2*time.Hour), false, true), Oldest: now.Add(-2 * time.Hour), Stale: true}}, wantOnl: "离线", wantTrust: "信任数据 2 小时 前",
			wantStale: true, wantBand: "部分信任数据已过期（1/2", wantSync: true},
		{name: "no status list", st: statusState{Now: now, Policy: pol, Trust: &trust.Summary{}}, wantOnl: "离线（未配置中心）", wantTrust: "无证照状态清单", wantStale: true, wantBand: "信任数据已过期"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &App{cat: c}
			s := newStatusBar(a)
			s.update(c, tt.st)
			if s.online.Text != tt.wantOnl || s.trustAge.Text != tt.wantTrust || s.stale.Visible() != tt.wantStale {
				t.Errorf("online %q trust %q stale %v; want %q %q %v", s.online.Text, s.trustAge.Text, s.stale.Visible(), tt.wantOnl, tt.wantTrust, tt.wantStale)
			}
			if tt.wantStale && !strings.HasPrefix(s.staleText.Text, tt.wantBand) {
				t.Errorf("band %q, want it to start with %q", s.staleText.Text, tt.wantBand)
			}
			if s.syncErr.Visible() != tt.wantErr || (tt.wantErr && s.syncErr.Text != "同步失败：无法连接中心") || s.syncNow.Visible() != tt.wantSync {
				t.Errorf("sync error shown %v (%q), sync-now shown %v; want %v, %v", s.syncErr.Visible(), s.syncErr.Text, s.syncNow.Visible(), tt.wantErr, tt.wantSync)
			}
			if want := c.T("status.pending", tt.st.Pending); s.pending.Text != want {
				t.Errorf("pending %q, want %q", s.pending.Text, want)
			}
		})
	}
}

// A failed sync is explained by its kind in one plain phrase; a kind this
// build does not know reads as a plain "sync failed".
func TestStatusBarSyncErrorKinds(t *testing.T) {
	c := newCatalog(t, LangZH)
	tests := []struct {
		name string
		kind syncclient.ErrorKind
		want string
	}{
		{name: "revoked", kind: syncclient.KindRevoked, want: "同步失败：终端已被中心停用"},
		{name: "clock", kind: syncclient.KindClockSkew, want: "同步失败：终端时间与中心不符"},
		{name: "storage full", kind: syncclient.KindStorageFull, want: "同步失败：本机存储已满"},
		{name: "other", kind: syncclient.KindOther, want: "同步失败"},
		{name: "unknown kind", kind: syncclient.ErrorKind(200), want: "同步失败"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStatusBar(&App{cat: c})
			s.update(c, statusState{SyncWired: true, Enrolled: true, Sync: syncclient.State{LastError: "x", LastErrorKind: tt.kind}, Policy: verify.DefaultPolicy()})
			if !s.syncErr.Visible() || s.syncErr.Text != tt.want {
				t.Fatalf("sync error %q (shown %v), want %q", s.syncErr.Text, s.syncErr.Visible(), tt.want)
			}
		})
	}
}

// The status bar reads the real trust store's Summary with the injected
// clock and the policy's MaxTrustAge: fresh at the demo world's time, stale
// once its status lists are older than the maximum age.
func TestStatusBarTrustFromStore(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	st := e.app.status
	// The demo world's 四川 list is stale on purpose (limited-trust-stale):
	// an amber band, not the red one.
	if !st.stale.Visible() || st.staleBg.FillColor != verdictBand(verify.Limited) || !strings.HasPrefix(st.staleText.Text, "部分信任数据已过期（1/5") {
		t.Fatalf("demo trust data: band %v %v %q", st.stale.Visible(), st.staleBg.FillColor, st.staleText.Text)
	}
	if st.trustAge.Text != "信任数据 12 天 前" || st.trustAge.Importance != widget.WarningImportance {
		t.Errorf("trust age %q (importance %v)", st.trustAge.Text, st.trustAge.Importance)
	}
	e.clk.Advance(e.app.set.Policy.MaxTrustAge + 24*time.Hour)
	e.app.refreshStatus()
	if !st.stale.Visible() || st.staleBg.FillColor != verdictBand(verify.Invalid) || st.staleText.Text != "信任数据已过期：核验结果可能不可靠，请尽快联网同步" {
		t.Errorf("after MaxTrustAge: band %v %q", st.stale.Visible(), st.staleText.Text)
	}
	if st.trustAge.Importance != widget.DangerImportance {
		t.Errorf("trust age importance %v", st.trustAge.Importance)
	}
}

func TestStatusBarPendingFromRecords(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "valid-permit")
	test.Tap(e.app.check.shown.actions[records.ActionRelease])
	if got := e.app.status.pending.Text; got != "待上传 1 条" {
		t.Errorf("pending = %q", got)
	}
}

func TestSettings(t *testing.T) {
	var changed []Settings
	e := newEnv(t, func(d *Deps) { d.SettingsChanged = func(s Settings) { changed = append(changed, s) } })
	e.signIn(t, "1001", "1234")
	s := buildSettingsScreen(e.app)
	// The check policy is shown, not edited: no field for an inspector.
	if s.policy.form.Visible() || !strings.Contains(s.policy.values.Text, "允许时钟误差 300 秒") || !strings.Contains(s.policy.values.Text, "保留 30 天") || s.policy.source.Text != "默认策略（未收到签发的策略）" {
		t.Errorf("policy section: form %v, %q, %q", s.policy.form.Visible(), s.policy.values.Text, s.policy.source.Text)
	}
	s.sound.SetChecked(false)
	test.Tap(s.save)
	if e.app.set.Sound || len(changed) != 1 || changed[0].Sound || e.app.set.Policy != verify.DefaultPolicy() {
		t.Errorf("settings %+v, changes %+v", e.app.set, changed)
	}
	if got := loadSettings(e.fa.Preferences(), Deps{}); got.Sound {
		t.Errorf("saved preferences give %+v", got)
	}
	// Switching the language rebuilds the screens in English.
	s = buildSettingsScreen(e.app)
	s.lang.SetSelected("English")
	test.Tap(s.save)
	if e.app.cat.current() != LangEN || e.app.tabs.Items[0].Text != "Check" {
		t.Errorf("after switching to English: lang %v, first tab %q", e.app.cat.current(), e.app.tabs.Items[0].Text)
	}
}

// Settings shows the trust store read-only from trust.Store.Summary, stale
// items marked once the clock passes the policy's maximum age.
func TestSettingsTrustView(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	s := buildSettingsScreen(e.app)
	txt := s.trust.Text
	for _, want := range []string{"根证书 · ", "CA 证书 · ", "签名证书 · ", "吊销列表 · ", "状态清单 · 440300"} {
		if !strings.Contains(txt, want) {
			t.Errorf("trust view lacks %q:\n%s", want, txt)
		}
	}
	// Only the 四川 list (stale on purpose in the demo world) is marked.
	staleLine := regexp.MustCompile(`(?m)^状态清单 · 510100 · 序号 \d+，0 条，更新于 2026-11-15 · 至 2026-11-22 · 已过期$`)
	if n := strings.Count(txt, "· 已过期"); n != 1 || !staleLine.MatchString(txt) {
		t.Errorf("want only the 510100 list marked stale, %d marks:\n%s", n, txt)
	}
	e.clk.Advance(30 * 24 * time.Hour)
	s = buildSettingsScreen(e.app)
	if !strings.HasPrefix(s.trust.Text, "信任数据已过期") || !strings.Contains(s.trust.Text, "状态清单 · 440300") || !strings.Contains(s.trust.Text, "· 已过期") {
		t.Errorf("30 days later the trust view is not marked stale:\n%s", s.trust.Text)
	}
}

func TestHistoryAndSupervisor(t *testing.T) {
	e := newEnv(t)
	// Inspector 1001 records two checks, supervisor 9001 one, a day later.
	e.signIn(t, "1001", "1234")
	for _, name := range []string{"valid-vehicle", "invalid-licence-revoked"} {
		e.tapSample(t, name)
		test.Tap(e.app.check.shown.actions[records.ActionWarning])
	}
	e.app.signOut()
	e.clk.Advance(24 * time.Hour)
	e.signIn(t, "9001", "9999")
	e.tapSample(t, "valid-permit")
	test.Tap(e.app.check.shown.actions[records.ActionRelease])

	// The inspector's history shows only their own checks.
	e.app.lock()
	e.signIn(t, "1001", "1234")
	h := buildHistoryScreen(e.app)
	if len(h.rows.rows) != 2 || h.count.Text != "共 2 条记录" {
		t.Errorf("inspector history: %d rows, %q", len(h.rows.rows), h.count.Text)
	}
	// The filters apply as the officer types, without Enter.
	e.typeHuman(h.search, "吊销不存在")
	if len(h.rows.rows) != 0 || h.count.Text != "没有符合筛选条件的记录（共 2 条）" {
		t.Errorf("search kept %d rows, %q", len(h.rows.rows), h.count.Text)
	}
	h.search.SetText("")
	h.verdict.SetSelectedIndex(3) // 无效
	if len(h.rows.rows) != 1 || h.rows.rows[0].Verdict != verify.Invalid {
		t.Errorf("verdict filter: %d rows", len(h.rows.rows))
	}
	h.verdict.SetSelectedIndex(0)
	h.period.SetSelectedIndex(1) // today: the checks were a day ago
	if len(h.rows.rows) != 0 {
		t.Errorf("today filter: %d rows", len(h.rows.rows))
	}
	h.period.SetSelectedIndex(2) // the last 7 days
	if len(h.rows.rows) != 2 {
		t.Errorf("7-day filter: %d rows", len(h.rows.rows))
	}

	e.app.signOut()
	e.signIn(t, "9001", "9999")
	s := buildSupervisorScreen(e.app)
	if len(s.current) != 3 {
		t.Fatalf("supervisor sees %d rows, want 3", len(s.current))
	}
	if s.perOfficer.Text != "李明（1001）：共 2 · 有效 1 · 有限 0 · 无效 1\n陈刚（9001）：共 1 · 有效 1 · 有限 0 · 无效 0" {
		t.Errorf("per officer:\n%s", s.perOfficer.Text)
	}
	if s.perDay.Text != "2026-11-27：共 2 · 有效 1 · 有限 0 · 无效 1\n2026-11-28：共 1 · 有效 1 · 有限 0 · 无效 0" {
		t.Errorf("per day:\n%s", s.perDay.Text)
	}
	s.verdicts[verify.Valid].SetChecked(false)
	s.verdicts[verify.Limited].SetChecked(false)
	test.Tap(s.query)
	if len(s.current) != 1 || s.current[0].Verdict != verify.Invalid {
		t.Errorf("INVALID only: %d rows", len(s.current))
	}
	s.verdicts[verify.Valid].SetChecked(true)
	s.from.entry.SetText("2026-11-28")
	test.Tap(s.query)
	if len(s.current) != 1 || s.current[0].Officer != "9001" {
		t.Errorf("from 11-28: %+v", s.current)
	}
	s.from.entry.SetText("28.11.2026")
	test.Tap(s.query)
	if s.message.Text != "无法识别该日期，例如 2026-11-28，或点日历选择。" {
		t.Errorf("bad date message %q", s.message.Text)
	}
	s.from.entry.SetText("2026年11月28日") // also understood
	test.Tap(s.query)
	if len(s.current) != 1 {
		t.Errorf("from 2026年11月28日: %d rows", len(s.current))
	}
	// The chart has a bar per day; the empty state says there is nothing.
	if len(s.chart.days) != 1 || s.empty.Visible() {
		t.Errorf("chart days %d, empty shown %v", len(s.chart.days), s.empty.Visible())
	}
	s.from.entry.SetText("2027-01-01")
	test.Tap(s.query)
	if len(s.current) != 0 || !s.empty.Visible() || s.empty.Text != "所选范围内没有核验记录。" {
		t.Errorf("empty range: %d rows, empty line %v", len(s.current), s.empty.Visible())
	}
	s.from.entry.SetText("")
	s.verdicts[verify.Limited].SetChecked(true)
	s.verdicts[verify.Invalid].SetChecked(true)
	test.Tap(s.query)

	data, err := s.exportBytes(e.app.cat, "csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF时间,检查员,")) {
		t.Errorf("CSV does not start with a BOM and the Chinese header: %q", data[:min(40, len(data))])
	}
	recs, err := csv.NewReader(bytes.NewReader(data[3:])).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("CSV rows %d, err %v", len(recs), err)
	}
	if recs[1][1] != "9001" || recs[3][8] != "有效" || !strings.HasPrefix(recs[3][6], "****") {
		t.Errorf("CSV rows: %q", recs)
	}
	xl, err := s.exportBytes(e.app.cat, "xlsx")
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(xl))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("核验记录")
	if err != nil || len(rows) != 4 || rows[0][0] != "时间" || rows[2][slices.Index(rows[0], "处置")] != "口头警告" {
		t.Errorf("XLSX rows %q, err %v", rows, err)
	}
}

func TestExportDefusesFormulas(t *testing.T) {
	c := newCatalog(t, LangZH)
	var buf bytes.Buffer
	if err := writeCSV(&buf, c, []Row{{At: demoTime(), Officer: "=cmd|' /C calc'!A0", Notes: "+1", Verdict: verify.Valid}}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[1][1] != "'=cmd|' /C calc'!A0" || recs[1][slices.Index(recs[0], "备注")] != "'+1" {
		t.Errorf("formula cells not defused: %q", recs[1])
	}
}

func TestFilterMatch(t *testing.T) {
	r := Row{At: demoTime(), Officer: "1001", Verdict: verify.Limited, Holder: "张伟", Plate: "粤B·D1234"}
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{name: "empty", f: Filter{}, want: true},
		{name: "officer", f: Filter{Officer: "1001"}, want: true},
		{name: "other officer", f: Filter{Officer: "9001"}},
		{name: "from after", f: Filter{From: demoTime().Add(time.Second)}},
		{name: "to is exclusive", f: Filter{To: demoTime()}},
		{name: "verdicts", f: Filter{Verdicts: []verify.Verdict{verify.Valid}}},
		{name: "text plate", f: Filter{Text: "d1234"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Match(r); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMaskID(t *testing.T) {
	for in, want := range map[string]string{"440304198803151234": "**************1234", "1234": "****", "": "", "粤A12345": "***2345"} {
		if got := maskID(in); got != want {
			t.Errorf("maskID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStopFromVerifiedSamples(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.tapSample(t, "valid-bus-guangzhou")
	e.tapSample(t, "valid-practitioner")
	fs := e.app.stop.Check()
	found := false
	for _, f := range fs {
		if f.Warning == stop.DriverNotQualified && f.Want == "道路旅客运输驾驶员" {
			found = true
		}
	}
	if !found {
		t.Errorf("bus + dangerous-goods driver: findings %v", fs)
	}
	// Recording the driver's check stores the stop and its mismatch in
	// the signed record.
	test.Tap(e.app.check.shown.actions[records.ActionWarning])
	es := e.records(t)
	if len(es) != 2 || !isUntreated(es[0].Check.Action, es[0].Check.ActionText) {
		t.Fatalf("%d records, want the bus (left, 未处置) and the driver", len(es))
	}
	c := es[1].Check
	if c.StopID != e.app.stop.ID || !slices.Contains(c.StopWarnings, stop.DriverNotQualified.String()) {
		t.Fatalf("record stop %q warnings %v, want %q with %s", c.StopID, c.StopWarnings, e.app.stop.ID, stop.DriverNotQualified)
	}
	e.tapSample(t, "valid-bus-guangzhou")
	test.Tap(e.app.check.shown.stopLink)
	if e.app.tabs.Selected() != e.app.tabStop {
		t.Error("stop link did not open the stop tab")
	}
}
