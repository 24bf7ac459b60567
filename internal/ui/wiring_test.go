package ui

import (
	"context"
	"errors"
	"image"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/qrcode"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/ui/terminal"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// The real scan.Wedge with timed keys (the fake clock stamps them): a
// scanner's burst anywhere in the window becomes a scan, a person's typing
// lands in the field, and no character is lost either way.
func TestWedgeTimedKeys(t *testing.T) {
	code := sample(t, "valid-vehicle").Text
	t.Run("burst with no field focused", func(t *testing.T) {
		e := newEnv(t)
		e.signIn(t, "2001", "2345")
		e.app.win.Canvas().Unfocus()
		e.typeKeys(nil, code, 3*time.Millisecond, true)
		if e.app.check == nil || e.app.check.text != code || e.app.check.res.Verdict != verify.Valid {
			t.Fatalf("scanner burst not verified: %+v", e.app.check)
		}
		if e.app.scanScr.entry.Text != "" || e.app.keys.w.Pending() != 0 {
			t.Errorf("scan field %q, %d keys held", e.app.scanScr.entry.Text, e.app.keys.w.Pending())
		}
	})
	t.Run("burst into the notes field", func(t *testing.T) {
		e := newEnv(t)
		e.signIn(t, "2001", "2345")
		e.tapSample(t, "valid-permit")
		notes := e.app.check.shown.notes
		e.typeHuman(notes, "已核")
		e.typeKeys(notes, code, 2*time.Millisecond, true)
		if e.app.check == nil || e.app.check.text != code {
			t.Fatalf("burst in the notes field not verified as a scan")
		}
		if notes.Text != "已核" {
			t.Errorf("notes field = %q: the code leaked into it", notes.Text)
		}
	})
	t.Run("person typing is not a code", func(t *testing.T) {
		e := newEnv(t)
		e.signIn(t, "2001", "2345")
		e.app.win.Canvas().Unfocus()
		// 12 characters and Enter, 120 ms apart: typed, not scanned.
		e.typeKeys(nil, "RTC1:HELLO12", 120*time.Millisecond, false)
		e.settle()
		if e.app.check != nil {
			t.Fatalf("typing verified as a scan: %+v", e.app.check)
		}
		if got := e.app.scanScr.entry.Text; got != "RTC1:HELLO12" {
			t.Errorf("typed text went to the scan field as %q", got)
		}
	})
	t.Run("hiccup inside a burst loses nothing", func(t *testing.T) {
		e := newEnv(t)
		e.signIn(t, "2001", "2345")
		e.app.win.Canvas().Unfocus()
		half := len(code) / 2
		e.typeKeys(nil, code[:half], 2*time.Millisecond, false)
		e.clk.Advance(200 * time.Millisecond) // a USB pause longer than the wedge's gap
		e.typeKeys(nil, code[half:], 2*time.Millisecond, true)
		e.settle()
		if got := e.app.scanScr.entry.Text; got != "" {
			t.Fatalf("scan field holds %d characters of the code", len([]rune(got)))
		}
		if e.app.check == nil || e.app.check.text != code {
			t.Errorf("split code not joined and verified")
		}
	})
	t.Run("head typed into a field, then the rest", func(t *testing.T) {
		// A single "R" released as typed (the gap passed after it), then
		// the rest of the code: the R is taken back out of the field.
		e := newEnv(t)
		e.signIn(t, "2001", "2345")
		entry := e.app.scanScr.entry
		e.typeKeys(entry, code[:1], 2*time.Millisecond, false)
		e.clk.Advance(100 * time.Millisecond)
		e.app.keys.flush()
		if entry.Text != code[:1] {
			t.Fatalf("field %q", entry.Text)
		}
		e.typeKeys(entry, code[1:], 2*time.Millisecond, true)
		e.settle()
		if entry.Text != "" || e.app.check == nil || e.app.check.text != code {
			t.Fatalf("field %q, check %+v", entry.Text, e.app.check)
		}
	})
	t.Run("backspace edits held keys in order", func(t *testing.T) {
		e := newEnv(t)
		e.signIn(t, "2001", "2345")
		e.tapSample(t, "valid-permit")
		notes := e.app.check.shown.notes
		test.Tap(notes)
		e.typeKeys(notes, "ab", 20*time.Millisecond, false) // still held
		notes.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
		e.settle()
		if notes.Text != "a" {
			t.Errorf("notes = %q, want %q", notes.Text, "a")
		}
	})
}

// Demo mode: the GUI starts signed in as the demo inspector (no PIN on the
// way to the first verdict), with the 演示 banner and the samples; signing
// out leads to the sign-in screen, where every role can still sign in.
func TestDemoStartsSignedIn(t *testing.T) {
	insp := DemoAccounts()[0].Officer
	e := newEnv(t, func(d *Deps) { d.SignedIn = &insp })
	a := e.app
	if a.officer == nil || a.officer.ID != "1001" || a.tabs == nil || a.signInScr != nil {
		t.Fatalf("demo did not start signed in: officer %+v", a.officer)
	}
	if !strings.Contains(test.RenderObjectToMarkup(a.win.Content()), "演示模式") {
		t.Error("no 演示 banner")
	}
	if len(a.scanScr.samples) != len(demoWorld(t).Samples) {
		t.Errorf("%d sample buttons", len(a.scanScr.samples))
	}
	e.tapSample(t, "valid-vehicle")
	if a.check == nil || a.check.res.Verdict != verify.Valid {
		t.Fatal("first sample tap gave no VALID verdict")
	}
	a.signOut()
	if a.signInScr == nil || !strings.Contains(test.RenderObjectToMarkup(a.signInScr.root), "9001 / 9999") {
		t.Fatal("sign-out did not show the sign-in screen with the demo accounts")
	}
	e.signIn(t, "9001", "9999")
	if a.officer == nil || a.officer.Role != RoleSupervisor || len(a.tabs.Items) != 5 {
		t.Errorf("supervisor sign-in in demo mode: %+v", a.officer)
	}
}

func openDir(t *testing.T, path string, clk clock.Clock) *OfficerDirectory {
	t.Helper()
	d, err := OpenOfficerDirectory(path, clk, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestOfficerDirectory moved to officerdir_test.go (TestSealedOfficerDirectory):
// the directory is the key vault now (issue 10).

// First run outside demo mode: the set-up screen creates the supervisor,
// who then signs in; wrong PINs lock the account on the sign-in screen.
func TestSetupAndLockoutScreens(t *testing.T) {
	var dir *OfficerDirectory
	e := newEnv(t, func(d *Deps) {
		dir = openDir(t, filepath.Join(t.TempDir(), OfficersFile), d.Clock)
		d.Officers, d.Demo, d.Samples = dir, false, nil
	})
	a := e.app
	s := a.setupScr
	if s == nil || a.signInScr != nil {
		t.Fatal("empty directory: no set-up screen")
	}
	test.Type(s.id, "9001")
	test.Type(s.name, "陈刚")
	test.Type(s.pin, "246810")
	test.Type(s.pin2, "246811")
	test.Tap(s.create)
	if s.message.Text != "两次输入的 PIN 不一致。" {
		t.Errorf("mismatch message %q", s.message.Text)
	}
	s.pin2.SetText("246810")
	test.Tap(s.create)
	if a.signInScr == nil || a.signInScr.id.Text != "9001" || a.signInScr.message.Text != "主管账号已创建，请登录。" {
		t.Fatalf("after set-up: sign-in screen %v", a.signInScr != nil)
	}
	for i := 0; i < MaxPINAttempts; i++ {
		e.signIn(t, "9001", "000000")
	}
	if got := a.signInScr.message.Text; got != "PIN 连续输错次数过多，该账号已锁定至 10:15。" {
		t.Errorf("lock-out message %q", got)
	}
	e.signIn(t, "9001", "246810")
	if a.officer != nil {
		t.Fatal("signed in while locked out")
	}
	e.clk.Advance(PINLockout)
	e.signIn(t, "9001", "246810")
	if a.officer == nil || a.officer.Role != RoleSupervisor || len(a.tabs.Items) != 6 || a.tabs.Items[4].Text != "人员" {
		t.Fatalf("supervisor not signed in after the lock-out: %v", a.officer)
	}
}

// ScanCameras over scan's scripted FakeCamera: frames reach the preview, a
// code in them is verified, the torch switches; without a camera the scan
// screen says so.
func TestScanCameras(t *testing.T) {
	sym, err := qrcode.Encode(sample(t, "valid-practitioner").Text, qrcode.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	frame := yuyvFrame(sym.Image(4))
	var fake *scan.FakeCamera
	cams := &ScanCameras{
		List: func(context.Context) ([]scan.CameraInfo, error) {
			return []scan.CameraInfo{{Device: "/dev/video7", Name: "fake"}}, nil
		},
		Open: func(ctx context.Context, dev string) (scan.FrameSource, error) {
			b := frame.Bounds()
			fake, err = scan.NewFakeCamera(scan.FakeCameraOptions{Name: dev, Format: scan.FormatYUYV, Width: b.Dx(), Height: b.Dy(),
				Frames: [][]byte{frame.Pix}, GoneAfter: 1})
			return fake, err
		},
	}
	e := newEnv(t, func(d *Deps) { d.Camera = cams })
	e.signIn(t, "1001", "1234")
	if e.app.check == nil || e.app.check.res.Claims.Credential.Kind != credential.KindPractitioner {
		t.Fatalf("camera code not verified: %+v", e.app.check)
	}
	// The fake camera vanished after its frame: the screen says so.
	if !e.app.scanScr.noCamera.Visible() || e.app.scanScr.noCamera.Text != "摄像头已断开，请检查连接后重新登录或重启。" {
		t.Errorf("camera gone: %q", e.app.scanScr.noCamera.Text)
	}
	if err := cams.Torch("/dev/video7", true); !errors.Is(err, ErrNoCamera) {
		t.Errorf("torch of a closed camera: %v", err)
	}
	if fake.DeviceCloses() != 1 {
		t.Errorf("device closed %d times", fake.DeviceCloses())
	}

	none := &ScanCameras{List: func(context.Context) ([]scan.CameraInfo, error) { return nil, scan.ErrNoCamera }}
	e = newEnv(t, func(d *Deps) { d.Camera = none })
	e.signIn(t, "1001", "1234")
	if !e.app.scanScr.noCamera.Visible() || e.app.scanScr.noCamera.Text != "未检测到摄像头。可使用扫码枪、打开图片或粘贴二维码文本。" || !e.app.scanScr.torch.Disabled() {
		t.Errorf("no camera: %q", e.app.scanScr.noCamera.Text)
	}
}

// yuyvFrame packs a grey image as YUYV (neutral chroma).
type yuyv struct {
	Pix []byte
	w   int
	h   int
}

func (y yuyv) Bounds() image.Rectangle { return image.Rect(0, 0, y.w, y.h) }

func yuyvFrame(img image.Image) yuyv {
	b := img.Bounds()
	w := b.Dx() &^ 1
	out := yuyv{Pix: make([]byte, w*b.Dy()*2), w: w, h: b.Dy()}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < w; x++ {
			r, _, _, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			out.Pix[(y*w+x)*2] = byte(r >> 8)
			out.Pix[(y*w+x)*2+1] = 128
		}
	}
	return out
}

// Frames that arrive while the decoder works on an earlier one are shown
// but dropped, not queued for decoding.
func TestCameraDropsFramesWhileDecoding(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	run := &cameraRun{cancel: func() {}}
	e.app.cam = run
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	run.decoding.Store(true) // an earlier frame is being decoded
	e.app.cameraFrame(context.Background(), run, e.app.scanScr, e.app.deps.Decoder, img)
	if run.dropped.Load() != 1 || e.app.scanScr.preview.Image != img {
		t.Errorf("dropped %d, preview shows the frame: %v", run.dropped.Load(), e.app.scanScr.preview.Image == img)
	}
	run.decoding.Store(false)
	e.app.cameraFrame(context.Background(), run, e.app.scanScr, e.app.deps.Decoder, img)
	if run.dropped.Load() != 1 || run.decoding.Load() {
		t.Errorf("free decoder: dropped %d, still decoding %v", run.dropped.Load(), run.decoding.Load())
	}
}

// Enrolment in Settings and the status bar's sync state, against a real
// hub on loopback through the terminal's SyncService.
func TestHubEnrolmentAndSync(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(demoTime())
	// The hub.
	hdb, err := storage.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hdb.Close() })
	hstore, err := hub.NewBoltStore(ctx, hdb)
	if err != nil {
		t.Fatal(err)
	}
	htrust, err := trust.New(ctx, hdb)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := hub.LoadKeys(hub.KeyFilePath(filepath.Join(t.TempDir(), "hub.db")), true)
	if err != nil {
		t.Fatal(err)
	}
	w := demoWorld(t)
	if _, err := htrust.AddAnchors(ctx, w.AnchorsPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Publish(ctx, hstore, htrust, w.BundlePEM, w.At); err != nil {
		t.Fatal(err)
	}
	srv, err := hub.New(hub.Config{Store: hstore, Trust: htrust, Keys: keys, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	tok, err := hub.CreateToken(ctx, hstore, hub.RoleDevice, "ui test", 0, clk.Now())
	if err != nil {
		t.Fatal(err)
	}

	var svc *terminal.SyncService
	e := newEnv(t, func(d *Deps) {})
	svc = terminal.NewSyncService(e.recs, e.trust, e.clk)
	e.app.deps.Sync, e.app.deps.Hub, e.app.deps.HubRecords = svc, svc, svc
	sctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); svc.Stop() })
	if err := svc.Start(sctx); err != nil {
		t.Fatal(err)
	}
	states, unsub := svc.Subscribe()
	defer unsub()

	// An inspector sees the enrolment read-only; a supervisor enrols.
	e.signIn(t, "1001", "1234")
	if s := buildSettingsScreen(e.app); s.hubForm.Visible() || !strings.Contains(s.hubState.Text, "尚未登记") {
		t.Errorf("inspector: form shown %v, %q", s.hubForm.Visible(), s.hubState.Text)
	}
	if e.app.status.online.Text != "离线（未配置中心）" || e.app.status.syncNow.Visible() {
		t.Errorf("status before enrolment: %q", e.app.status.online.Text)
	}
	e.app.signOut()
	e.signIn(t, "9001", "9999")
	s := buildSettingsScreen(e.app)
	if !s.hubForm.Visible() {
		t.Fatal("supervisor: no enrolment form")
	}
	s.hubURL.SetText("http://bad.example.cn")
	s.hubToken.SetText(tok)
	test.Tap(s.enroll)
	if s.hubMessage.Text != "中心地址必须以 https:// 开头（仅本机测试中心可用 http://）。" {
		t.Errorf("insecure hub message %q", s.hubMessage.Text)
	}
	s.hubURL.SetText(hs.URL)
	test.Tap(s.enroll)
	if s.hubMessage.Text != "登记成功，已开始同步。" || !strings.HasPrefix(s.hubState.Text, "已登记到 "+hs.URL) || !s.syncNow.Visible() {
		t.Fatalf("after enrolment: %q / %q", s.hubMessage.Text, s.hubState.Text)
	}

	// Record a check, ask for a sync now, and wait (bounded, not timed)
	// for the client to report it delivered.
	e.tapSample(t, "valid-vehicle")
	test.Tap(e.app.check.shown.actions[records.ActionRelease])
	test.Tap(e.app.status.syncNow)
	deadline := time.After(60 * time.Second)
	for {
		var st syncclient.State
		select {
		case st = <-states:
		case <-deadline:
			t.Fatalf("no successful sync with the pending record delivered; last state %+v", svc.State())
		}
		if n, _ := e.recs.PendingCount(ctx); st.Online && !st.LastSuccess.IsZero() && !st.Syncing && n == 0 {
			break
		}
	}
	e.app.refreshStatus()
	bar := e.app.status
	if bar.online.Text != "在线" || bar.pending.Text != "待上传 0 条" || bar.lastSync.Text != "上次同步 11-27 10:00" || bar.syncErr.Visible() {
		t.Errorf("status after sync: %q %q %q err %v", bar.online.Text, bar.pending.Text, bar.lastSync.Text, bar.syncErr.Visible())
	}

	// The supervisor screen, source 中心: the hub's copy of the record,
	// with the same filters; a refused token is a message, not rows.
	sup, err := hub.CreateToken(ctx, hstore, hub.RoleSupervisor, "ui test", 0, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	local, _ := e.recs.List(ctx, records.ListOptions{})
	if len(local) != 1 {
		t.Fatalf("%d device records", len(local))
	}
	id := local[0].Record.ID.String()
	sv := buildSupervisorScreen(e.app)
	sv.source.SetSelected("中心")
	if sv.message.Text != "查询中心记录需输入主管令牌。" || len(sv.current) != 0 {
		t.Errorf("no token: %q, %d rows", sv.message.Text, len(sv.current))
	}
	for _, tt := range []struct {
		name, token, plate, kind string
		rows                     int
		msg                      string
	}{
		{name: "valid token", token: sup, rows: 1, msg: "中心：共 1 条记录"},
		{name: "plate filter", token: sup, plate: "粤Z-00000", rows: 0, msg: "中心：共 0 条记录"},
		{name: "wrong token", token: "rcsup_wrong", rows: 0, msg: "中心拒绝了该主管令牌。"},
		{name: "device token", token: tok, rows: 0, msg: "中心拒绝了该主管令牌。"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sv.token.SetText(tt.token)
			sv.plate.SetText(tt.plate)
			test.Tap(sv.query)
			if sv.message.Text != tt.msg || len(sv.current) != tt.rows || len(sv.rows.rows) != tt.rows {
				t.Fatalf("message %q, %d rows (list %d); want %q, %d", sv.message.Text, len(sv.current), len(sv.rows.rows), tt.msg, tt.rows)
			}
			if tt.rows == 0 {
				return
			}
			r := sv.current[0]
			if r.ID != id || r.State != records.Delivered || r.Officer != "9001" || r.Verdict != verify.Valid || !strings.Contains(sv.perOfficer.Text, "9001") {
				t.Errorf("hub row %+v, per officer %q", r, sv.perOfficer.Text)
			}
			if data, err := sv.exportBytes(e.app.cat, "csv"); err != nil || !strings.Contains(string(data), id) {
				t.Errorf("export of the hub's rows: %v", err)
			}
		})
	}
	// Back to 本机: the device's record, whatever the hub said.
	sv.plate.SetText("")
	sv.source.SetSelected("本机")
	if len(sv.current) != 1 || sv.current[0].ID != id || sv.message.Text != "共 1 条记录" {
		t.Errorf("device view after the hub: %q, %d rows", sv.message.Text, len(sv.current))
	}
	// The hub gone: a clear message, and the device's records.
	hs.Close()
	sv.token.SetText(sup)
	sv.source.SetSelected("中心")
	if sv.message.Text != "无法连接中心（离线）：以下为本机记录。" || len(sv.current) != 1 {
		t.Errorf("hub offline: %q, %d rows", sv.message.Text, len(sv.current))
	}
}
