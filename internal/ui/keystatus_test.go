package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/keys/keystest"
	"github.com/roadcheck/roadcheck/internal/ui/terminal"
)

// TestStatusBarKeyProtection: the status bar says what protects the
// terminal's keys — a real terminal on a software TPM, and one with only
// the device file — in both languages, visible without scrolling at
// 1280×800 and 800×1280 (a terminal without a TPM as a warning), and the
// trust summary in Settings starts with the same words.
func TestStatusBarKeyProtection(t *testing.T) {
	open := func(t *testing.T, device string) *terminal.Terminal {
		t.Helper()
		tm, err := terminal.Open(context.Background(), terminal.Options{Dir: t.TempDir(), NoSync: true, Device: device,
			Iterations: 1000, Clock: clock.NewFake(demo.ReferenceTime)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tm.Close() })
		return tm
	}
	for _, tt := range []struct {
		name       string
		device     func(t *testing.T) string
		zh, en     string
		importance widget.Importance
	}{
		{name: "tpm", device: func(t *testing.T) string { return keystest.SWTPM(t) },
			zh: "密钥受 TPM 保护", en: "Keys protected by the TPM", importance: widget.MediumImportance},
		{name: "no tpm", device: func(*testing.T) string { return "none" },
			zh: "无 TPM：密钥仅由 PIN 保护", en: "No TPM: keys protected by PINs only", importance: widget.WarningImportance},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm := open(t, tt.device(t))
			for _, l := range []Lang{LangZH, LangEN} {
				want := map[Lang]string{LangZH: tt.zh, LangEN: tt.en}[l]
				e := newEnv(t, func(d *Deps) { d.Keys = tm })
				e.app.setLang(l)
				e.app.showSignIn()
				e.signIn(t, "1001", "1234")
				for _, size := range []fyne.Size{fyne.NewSize(1280, 800), fyne.NewSize(800, 1280)} {
					e.app.win.Resize(size)
					s := e.app.status
					if !s.keys.Visible() || s.keys.Text != want || s.keys.Importance != tt.importance {
						t.Fatalf("%s %v: key status %q (shown %v, importance %v), want %q (%v)",
							l, size, s.keys.Text, s.keys.Visible(), s.keys.Importance, want, tt.importance)
					}
					// Not scrolled away: the label ends inside the
					// status texts' visible width.
					var scroll *container.Scroll
					for _, o := range test.LaidOutObjects(s.root) {
						if sc, ok := o.(*container.Scroll); ok {
							scroll = sc
						}
					}
					if scroll == nil {
						t.Fatal("no scroll around the status texts")
					}
					d := fyne.CurrentApp().Driver()
					end := d.AbsolutePositionForObject(s.keys).X + s.keys.Size().Width
					if limit := d.AbsolutePositionForObject(scroll).X + scroll.Size().Width; end > limit {
						t.Errorf("%s %v: key status ends at x=%.0f, beyond the visible status texts (%.0f)", l, size, end, limit)
					}
				}
				ss := buildSettingsScreen(e.app)
				if !strings.HasPrefix(ss.trust.Text, want+"\n") {
					t.Errorf("%s: trust summary does not start with %q: %q", l, want, ss.trust.Text)
				}
				exposed := strings.Contains(ss.trust.Text, e.app.cat.T("settings.keys.pinOnlyDetail"))
				if exposed != (tt.importance == widget.WarningImportance) {
					t.Errorf("%s: trust summary explains what is exposed: %v, want %v", l, exposed, !exposed)
				}
			}
		})
	}
	// Demo mode keeps no keys: it says so rather than claim a protection.
	c := newCatalog(t, LangZH)
	if got := c.T(keyStatusKey(keys.Status{Kind: "demo"})); got != "演示：密钥在退出时丢弃" {
		t.Errorf("demo key status %q", got)
	}
}
