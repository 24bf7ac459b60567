package ui

import (
	"maps"
	"slices"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	c := newCatalog(t, LangZH)
	zh, en := slices.Sorted(maps.Keys(c.msgs[LangZH])), slices.Sorted(maps.Keys(c.msgs[LangEN]))
	if !slices.Equal(zh, en) {
		for _, k := range zh {
			if _, ok := c.msgs[LangEN][k]; !ok {
				t.Errorf("en.json lacks %q", k)
			}
		}
		for _, k := range en {
			if _, ok := c.msgs[LangZH][k]; !ok {
				t.Errorf("zh-Hans.json lacks %q", k)
			}
		}
	}
	for _, k := range zh {
		if c.msgs[LangZH][k] == "" || c.msgs[LangEN][k] == "" {
			t.Errorf("empty translation for %q", k)
		}
	}
}

// Building every screen in both languages looks up no missing key, and the
// language can be switched at run time.
func TestEveryScreenTranslated(t *testing.T) {
	for _, l := range []Lang{LangZH, LangEN} {
		t.Run(string(l), func(t *testing.T) {
			e := newEnv(t)
			e.app.setLang(l)
			e.app.showSignIn()
			e.signIn(t, "9001", "9999")
			for _, name := range []string{"valid-vehicle", "invalid-bad-signature", "limited-status-unknown"} {
				e.tapSample(t, name)
			}
			test.Tap(e.app.check.shown.stopLink)
			for _, item := range e.app.tabs.Items {
				e.app.tabs.Select(item)
			}
			e.app.lock()
			if miss := e.app.cat.missingKeys(); len(miss) > 0 {
				t.Errorf("missing translations: %v", miss)
			}
			wantTab := map[Lang]string{LangZH: "核验", LangEN: "Check"}[l]
			e.signIn(t, "9001", "9999")
			if got := e.app.tabs.Items[0].Text; got != wantTab {
				t.Errorf("first tab = %q, want %q", got, wantTab)
			}
		})
	}
}
