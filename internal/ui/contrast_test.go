package ui

import (
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// WCAG 2.1 AA over every colour pair the GUI draws, in both palettes:
// text ≥ 4.5:1 against what it is drawn on, and the edges of controls
// (buttons, inputs) ≥ 3:1 against the surfaces they sit on.
func TestContrastWCAG(t *testing.T) {
	const textMin, edgeMin = 4.5, 3.0
	for _, p := range []Palette{PaletteLight, PaletteDark} {
		th := newTheme(p)
		col := func(n fyne.ThemeColorName) color.Color { return th.Color(n, th.variant()) }
		check := func(what string, a, b color.Color, want float64) {
			t.Helper()
			if r := contrast(a, b); r < want {
				t.Errorf("%s palette: %s: %.2f:1 < %.1f:1", p, what, r, want)
			}
		}
		surfaces := map[string]fyne.ThemeColorName{"background": theme.ColorNameBackground, "bars": theme.ColorNameHeaderBackground,
			"input": theme.ColorNameInputBackground, "overlay": theme.ColorNameOverlayBackground}
		for sname, s := range surfaces {
			// Text.
			check("text on "+sname, col(theme.ColorNameForeground), col(s), textMin)
			for _, n := range []fyne.ThemeColorName{theme.ColorNameSuccess, theme.ColorNameWarning, theme.ColorNameError, theme.ColorNamePrimary} {
				if s == theme.ColorNameInputBackground && n == theme.ColorNamePrimary {
					continue // primary text is never drawn in an input
				}
				check(string(n)+" text on "+sname, col(n), col(s), textMin)
			}
			// Control edges.
			check("button edge on "+sname, col(theme.ColorNameButton), col(s), edgeMin)
			check("primary button edge on "+sname, col(theme.ColorNamePrimary), col(s), edgeMin)
		}
		check("input border", col(theme.ColorNameInputBorder), col(theme.ColorNameBackground), edgeMin)
		check("input border on its field", col(theme.ColorNameInputBorder), col(theme.ColorNameInputBackground), edgeMin)
		check("placeholder", col(theme.ColorNamePlaceHolder), col(theme.ColorNameInputBackground), textMin)
		check("text on a button", col(theme.ColorNameForeground), col(theme.ColorNameButton), textMin)
		check("text on a primary button", col(theme.ColorNameForegroundOnPrimary), col(theme.ColorNamePrimary), textMin)
		check("disabled button text", col(theme.ColorNameDisabled), col(theme.ColorNameDisabledButton), textMin)
		for _, pair := range [][2]fyne.ThemeColorName{
			{theme.ColorNameSuccess, theme.ColorNameForegroundOnSuccess},
			{theme.ColorNameWarning, theme.ColorNameForegroundOnWarning},
			{theme.ColorNameError, theme.ColorNameForegroundOnError},
		} {
			check("text on a "+string(pair[0])+" button", col(pair[1]), col(pair[0]), textMin)
		}
	}
	// The verdict and neutral bands and their ink, in either palette.
	for _, o := range []outcome{outcomeValid, outcomeLimited, outcomeInvalid, outcomeUnreadable, outcomeNotRTC, outcomeNeedsUpdate, outcomeCut} {
		if r := contrast(outcomeBand(o), outcomeInk(o)); r < textMin {
			t.Errorf("%v band: text %.2f:1", o, r)
		}
	}
	for _, v := range []verify.Verdict{verify.Valid, verify.Limited, verify.Invalid} {
		if r := contrast(verdictBand(v), verdictInk(v)); r < textMin {
			t.Errorf("%v: band text %.2f:1", v, r)
		}
	}
	// The demo banner.
	if r := contrast(hex(0x4A148C), hex(0xFFFFFF)); r < textMin {
		t.Errorf("demo banner %.2f:1", r)
	}
}
