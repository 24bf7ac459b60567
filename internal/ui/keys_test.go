package ui

import (
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// Every text field goes through the wedge (real scan.Wedge, keys stamped
// by the fake clock): on the sign-in screen a scanned code is neither
// typed into the ID or PIN field nor verified, and the officer is told
// why; a person's typing still lands in the field and Enter still signs in.
func TestWedgeOnSignInScreen(t *testing.T) {
	code := sample(t, "valid-vehicle").Text
	t.Run("scan into the PIN field before sign-in", func(t *testing.T) {
		e := newEnv(t)
		s := e.app.signInScr
		e.typeHuman(s.id, "1001")
		e.typeKeys(s.pin, code, 3*time.Millisecond, true)
		e.settle()
		if s.pin.Text != "" || s.id.Text != "1001" {
			t.Errorf("fields after a scan: id %q, PIN %d characters", s.id.Text, len([]rune(s.pin.Text)))
		}
		if e.app.officer != nil || e.app.check != nil {
			t.Fatalf("a scan signed in (%v) or was verified (%v)", e.app.officer, e.app.check)
		}
		if s.message.Text != "请先登录再扫码：刚才扫描的二维码未核验，也未填入输入框。" || s.message.Importance != widget.WarningImportance {
			t.Errorf("hint %q (importance %v)", s.message.Text, s.message.Importance)
		}
		// The PIN typed by a person, then Enter, signs in.
		e.typeKeys(s.pin, "1234", 150*time.Millisecond, true)
		e.settle()
		if e.app.officer == nil || e.app.officer.ID != "1001" {
			t.Fatalf("typed PIN and Enter did not sign in")
		}
	})
	t.Run("scan with no field focused", func(t *testing.T) {
		e := newEnv(t)
		e.app.win.Canvas().Unfocus()
		e.typeKeys(nil, code, 2*time.Millisecond, true)
		e.settle()
		s := e.app.signInScr
		if s.message.Text == "" || s.id.Text != "" || s.pin.Text != "" || e.app.check != nil {
			t.Errorf("unfocused scan on the sign-in screen: hint %q, id %q, PIN %q, check %v", s.message.Text, s.id.Text, s.pin.Text, e.app.check)
		}
	})
	t.Run("scan while locked keeps the check and asks for the PIN", func(t *testing.T) {
		e := newEnv(t)
		e.signIn(t, "1001", "1234")
		e.tapSample(t, "valid-permit")
		before := e.app.check
		e.app.lock()
		s := e.app.signInScr
		e.typeKeys(s.pin, code, 3*time.Millisecond, true)
		e.settle()
		if s.pin.Text != "" || e.app.check != before || !e.app.locked {
			t.Fatalf("scan while locked: PIN %d characters, check replaced %v, locked %v", len([]rune(s.pin.Text)), e.app.check != before, e.app.locked)
		}
		if s.message.Text != "终端已锁定：请输入 PIN 解锁后重新扫码。刚才扫描的二维码未核验，也未填入输入框。" {
			t.Errorf("hint %q", s.message.Text)
		}
		// A wrong PIN afterwards is an error again, not a warning.
		e.typeKeys(s.pin, "0000", 150*time.Millisecond, true)
		e.settle()
		if s.message.Text != "工号或 PIN 不正确。" || s.message.Importance != widget.DangerImportance {
			t.Errorf("wrong PIN after the hint: %q (importance %v)", s.message.Text, s.message.Importance)
		}
		e.typeKeys(s.pin, "1234", 150*time.Millisecond, true)
		e.settle()
		if e.app.locked || e.app.check != before {
			t.Errorf("unlock: locked %v, check kept %v", e.app.locked, e.app.check == before)
		}
	})
	t.Run("sign-in button reads keys still held", func(t *testing.T) {
		e := newEnv(t)
		s := e.app.signInScr
		// Typed faster than the wedge's gap, and the button tapped before
		// its timer: the held keys reach the fields first.
		e.typeKeys(s.id, "9001", 10*time.Millisecond, false)
		e.typeKeys(s.pin, "9999", 10*time.Millisecond, false)
		s.submit.OnTapped()
		if e.app.officer == nil || e.app.officer.ID != "9001" {
			t.Fatalf("not signed in: id %q, message %q", s.id.Text, s.message.Text)
		}
	})
}

// The first-run set-up screen's fields refuse scans the same way.
func TestWedgeOnSetupScreen(t *testing.T) {
	e := newEnv(t, func(d *Deps) {
		d.Officers = openDir(t, filepath.Join(t.TempDir(), OfficersFile), d.Clock)
		d.Demo, d.Samples = false, nil
	})
	s := e.app.setupScr
	if s == nil {
		t.Fatal("no set-up screen")
	}
	e.typeHuman(s.name, "陈刚")
	e.typeKeys(s.pin, sample(t, "valid-permit").Text, 2*time.Millisecond, true)
	e.settle()
	if s.pin.Text != "" || s.name.Text != "陈刚" || s.message.Text != "请先登录再扫码：刚才扫描的二维码未核验，也未填入输入框。" {
		t.Errorf("set-up after a scan: name %q, PIN %d characters, message %q", s.name.Text, len([]rune(s.pin.Text)), s.message.Text)
	}
}

// Signed in, a scan into a settings or supervisor field is verified and
// shown; the field keeps what a person typed into it.
func TestWedgeInSettingsAndSupervisorFields(t *testing.T) {
	code := sample(t, "valid-vehicle").Text
	e := newEnv(t)
	e.signIn(t, "9001", "9999")

	st := buildSettingsScreen(e.app)
	st.hubURL.SetText("")
	e.typeHuman(st.hubURL, "https://hub")
	e.typeKeys(st.hubURL, code, 3*time.Millisecond, true)
	if e.app.check == nil || e.app.check.text != code || e.app.check.res.Verdict != verify.Valid {
		t.Fatalf("scan into the hub address field not verified: %+v", e.app.check)
	}
	if st.hubURL.Text != "https://hub" || e.app.tabs.Selected() != e.app.tabCheck {
		t.Errorf("hub field %q, check tab shown %v", st.hubURL.Text, e.app.tabs.Selected() == e.app.tabCheck)
	}
	for _, f := range []*wedgeEntry{st.policy.skew, st.policy.maxAge, st.policy.lock, st.hubURL, st.hubToken, st.hubCA} {
		if f.keys != e.app.keys {
			t.Error("a settings field does not go through the wedge")
		}
	}

	e.app.next()
	sv := buildSupervisorScreen(e.app)
	e.typeHuman(sv.plate, "粤B")
	e.typeKeys(sv.plate, code, 3*time.Millisecond, true)
	if e.app.check == nil || e.app.check.text != code {
		t.Fatalf("scan into the supervisor's plate field not verified")
	}
	if sv.plate.Text != "粤B" {
		t.Errorf("plate filter %q: the code leaked into it", sv.plate.Text)
	}
	for _, f := range []*wedgeEntry{sv.from.entry, sv.to.entry, sv.txt} {
		if f.keys != e.app.keys {
			t.Error("a supervisor field does not go through the wedge")
		}
	}
	// 查询 reads keys still held by the wedge.
	sv.txt.SetText("")
	e.typeKeys(sv.txt, "吊销", 10*time.Millisecond, false)
	sv.query.OnTapped()
	if sv.txt.Text != "吊销" || e.app.keys.w.Pending() != 0 {
		t.Errorf("query with held keys: field %q, %d held", sv.txt.Text, e.app.keys.w.Pending())
	}
}
