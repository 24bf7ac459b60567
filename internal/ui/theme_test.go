package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/roadcheck/roadcheck/assets"
	"github.com/roadcheck/roadcheck/internal/verify"
)

func TestVerdictColoursContrast(t *testing.T) {
	for _, v := range []verify.Verdict{verify.Valid, verify.Limited, verify.Invalid} {
		if r := contrast(verdictBand(v), verdictInk(v)); r < 4.5 {
			t.Errorf("%v: text contrast %.2f:1 < 4.5:1", v, r)
		}
	}
	for _, p := range []Palette{PaletteLight, PaletteDark} {
		th := newTheme(p)
		fg, bg := th.Color(theme.ColorNameForeground, 0), th.Color(theme.ColorNameBackground, 0)
		if r := contrast(fg, bg); r < 7 {
			t.Errorf("%s palette: body text contrast %.2f:1 < 7:1", p, r)
		}
		if r := contrast(th.Color(theme.ColorNameForegroundOnPrimary, 0), th.Color(theme.ColorNamePrimary, 0)); r < 4.5 {
			t.Errorf("%s palette: text on primary contrast %.2f:1", p, r)
		}
		if r := contrast(th.Color(theme.ColorNamePlaceHolder, 0), th.Color(theme.ColorNameInputBackground, 0)); r < 4.5 {
			t.Errorf("%s palette: placeholder contrast %.2f:1", p, r)
		}
		if r := contrast(th.Color(theme.ColorNameDisabled, 0), th.Color(theme.ColorNameDisabledButton, 0)); r < 4.5 {
			t.Errorf("%s palette: disabled button text contrast %.2f:1", p, r)
		}
		// Status colours: as text on the background and on the status
		// bar, and as fills under their own text.
		for _, pair := range [][2]fyne.ThemeColorName{
			{theme.ColorNameSuccess, theme.ColorNameForegroundOnSuccess},
			{theme.ColorNameWarning, theme.ColorNameForegroundOnWarning},
			{theme.ColorNameError, theme.ColorNameForegroundOnError},
		} {
			c := th.Color(pair[0], 0)
			for _, under := range []fyne.ThemeColorName{theme.ColorNameBackground, theme.ColorNameHeaderBackground} {
				if r := contrast(c, th.Color(under, 0)); r < 4.5 {
					t.Errorf("%s palette: %s text on %s: contrast %.2f:1", p, pair[0], under, r)
				}
			}
			if r := contrast(c, th.Color(pair[1], 0)); r < 4.5 {
				t.Errorf("%s palette: %s under %s: contrast %.2f:1", p, pair[0], pair[1], r)
			}
		}
	}
}

func TestThemeFont(t *testing.T) {
	th := newTheme(PaletteLight)
	for _, s := range []fyne.TextStyle{{}, {Italic: true}} {
		if r := th.Font(s); r.Name() != assets.UIFontName || len(r.Content()) != len(assets.UIFont) {
			t.Errorf("font for %+v = %s, want the bundled %s", s, r.Name(), assets.UIFontName)
		}
	}
	if r := th.Font(fyne.TextStyle{Bold: true}); r.Name() != assets.UIBoldFontName || len(r.Content()) != len(assets.UIBoldFont) {
		t.Errorf("bold font = %s, want the bundled bold CJK face", r.Name())
	}
	if len(assets.UIFont) < 1<<20 || len(assets.UIBoldFont) < 1<<20 {
		t.Errorf("bundled fonts are %d and %d bytes: not CJK fonts", len(assets.UIFont), len(assets.UIBoldFont))
	}
	// The bold face has every character of the GUI's texts, and the
	// common ones of names; a rare one is reported missing.
	c := newCatalog(t, LangZH)
	for k, v := range c.msgs[LangZH] {
		if !boldCovers(v) {
			t.Errorf("the bold face lacks a character of %s: %q", k, v)
		}
	}
	if !boldCovers("张建国 粤B·D1234 有效") || boldCovers("王喆") {
		t.Errorf("bold coverage: common %v, rare 喆 %v", boldCovers("张建国 粤B·D1234 有效"), boldCovers("王喆"))
	}
}

// Every button of every screen is at least MinTouch high.
func TestTouchTargets(t *testing.T) {
	for _, role := range []string{"1001", "9001"} {
		e := newEnv(t)
		e.signIn(t, role, map[string]string{"1001": "1234", "9001": "9999"}[role])
		e.tapSample(t, "valid-vehicle")
		e.app.win.Resize(fyne.NewSize(1280, 800))
		for _, item := range e.app.tabs.Items {
			e.app.tabs.Select(item)
			for _, b := range buttons(e.app.win.Content()) {
				if h := b.MinSize().Height; h < MinTouch {
					t.Errorf("officer %s, tab %q: button %q is %.0f dp high, want ≥ %.0f", role, item.Text, b.Text, h, MinTouch)
				}
			}
		}
		test.NewTempApp(t)
	}
}
