package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// recordSample verifies a demo sample and records it with action.
func (e *env) recordSample(t *testing.T, name string, action records.Action) {
	t.Helper()
	e.tapSample(t, name)
	test.Tap(e.app.check.shown.actions[action])
}

// Switching to the dark palette rebuilds the screens: the status bar's
// background was taken from the light theme and left its light texts
// unreadable. Settings comes back with its "saved" message and says who
// is signed in.
func TestPaletteSwitchRebuilds(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "9001", "9999")
	e.app.tabs.SelectIndex(len(e.app.tabs.Items) - 1)
	s := e.app.settingsScr
	if s == nil || s.who.Text != "当前登录：陈刚（工号 9001，主管）" || s.message.Text != "" {
		t.Fatalf("settings: who %q, message %q", s.who.Text, s.message.Text)
	}
	s.palette.SetSelected("夜间")
	test.Tap(s.save)
	dark := newTheme(PaletteDark).Color(theme.ColorNameHeaderBackground, theme.VariantDark)
	if got := e.app.status.bg.FillColor; got != dark {
		t.Errorf("status bar background %v after switching to dark, want %v", got, dark)
	}
	st := e.app.settingsScr
	if st == s || e.app.tabs.Selected().Text != "设置" || st.message.Text != "设置已保存。" || !st.message.Visible() {
		t.Errorf("after the switch: rebuilt %v, tab %q, message %q", st != s, e.app.tabs.Selected().Text, st.message.Text)
	}
}

// History rows: two lines cut to the width, the practitioner's number
// (the ID card number) masked like the holder ID, a licence-less code
// described by its reason; the list reloads each time its tab is shown,
// and a tap shows the record's details.
func TestHistoryRows(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.recordSample(t, "valid-practitioner", records.ActionRelease)
	e.app.tabs.SelectIndex(2)
	h := e.app.historyScr
	if h == nil || len(h.rows.rows) != 1 {
		t.Fatal("history not built with the record on selection")
	}
	e.app.tabs.Select(e.app.tabCheck)
	e.recordSample(t, "invalid-bad-signature", records.ActionWarning)
	e.app.tabs.SelectIndex(2)
	rows := h.rows.rows
	if len(rows) != 2 || h.count.Text != "共 2 条记录" {
		t.Fatalf("history shows %d rows after a new record, want 2 (reloaded on selection)", len(rows))
	}
	c := e.app.cat
	head, what := rowLines(c, rows[1])
	if !strings.Contains(head, "有效") || !strings.Contains(head, "放行") || !strings.HasSuffix(head, "检查员 1001") {
		t.Errorf("first line %q", head)
	}
	if rows[1].Number != rows[1].HolderID || !strings.HasPrefix(what, "从业资格证  ·  **************") {
		t.Errorf("practitioner line %q: the ID card number is not masked", what)
	}
	if _, what := rowLines(c, rows[0]); what != verify.BadSignature.Chinese() {
		t.Errorf("licence-less row %q", what)
	}
	// Rows are cut with an ellipsis rather than running off the edge.
	item := h.rows.list.CreateItem()
	for _, o := range test.LaidOutObjects(item) {
		if l, ok := o.(*widget.Label); ok && l.Truncation != fyne.TextTruncateEllipsis {
			t.Error("a row line is not truncated with an ellipsis")
		}
	}
	// A tap shows the details in a dialog over the window.
	h.rows.list.Select(1)
	top := e.app.win.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(test.RenderObjectToMarkup(top), "持证主体代码") {
		t.Error("no details dialog")
	}
}

// The supervisor's filters sit beside the records in landscape and above
// them in portrait; either way the list keeps room for rows.
func TestSupervisorLayout(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "9001", "9999")
	e.app.tabs.SelectIndex(3)
	s := e.app.supervisorScr
	if s == nil {
		t.Fatal("no supervisor screen")
	}
	e.app.win.Resize(fyne.NewSize(1280, 800))
	list := s.rows.list
	if list.Position().X < 300 || list.Size().Height < s.root.Size().Height-1 {
		t.Errorf("landscape: list at %v size %v in %v", list.Position(), list.Size(), s.root.Size())
	}
	e.app.win.Resize(fyne.NewSize(800, 1280))
	if list.Position().X != 0 || list.Size().Height < s.root.Size().Height*0.45-1 {
		t.Errorf("portrait: list at %v size %v in %v", list.Position(), list.Size(), s.root.Size())
	}
}
