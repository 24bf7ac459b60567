package ui

import (
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/roadcheck/roadcheck/assets"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// MinTouch is the smallest height or width of anything the officer taps, in
// dp: 48 dp is usable with gloves.
const MinTouch float32 = 48

// Palette is a named theme choice.
type Palette string

// Palettes: a high-contrast light one for sunlight and a dark one for night.
const (
	PaletteLight Palette = "light"
	PaletteDark  Palette = "dark"
)

var (
	uiFont     = fyne.NewStaticResource(assets.UIFontName, assets.UIFont)
	uiBoldFont = fyne.NewStaticResource(assets.UIBoldFontName, assets.UIBoldFont)
)

// outdoorTheme is RoadCheck's fyne theme: the bundled CJK font for every
// text, large text and paddings (buttons ≥ MinTouch), and a palette that
// ignores the host's light/dark preference (the officer chooses it).
type outdoorTheme struct {
	dark bool
}

func newTheme(p Palette) *outdoorTheme { return &outdoorTheme{dark: p == PaletteDark} }

func (t *outdoorTheme) variant() fyne.ThemeVariant {
	if t.dark {
		return theme.VariantDark
	}
	return theme.VariantLight
}

func hex(rgb uint32) color.NRGBA {
	return color.NRGBA{R: uint8(rgb >> 16), G: uint8(rgb >> 8), B: uint8(rgb), A: 0xff}
}

// Color returns the palette's colour for n; the host's variant is ignored.
func (t *outdoorTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	if t.dark {
		switch n {
		case theme.ColorNameBackground:
			return hex(0x101214)
		case theme.ColorNameForeground:
			return hex(0xF4F6F8)
		case theme.ColorNameButton:
			// ≥ 3:1 against the background and the bars (WCAG AA for a
			// control's edge), white text on it ≥ 4.5:1.
			return hex(0x5F6B76)
		case theme.ColorNameInputBackground:
			return hex(0x1C2024)
		case theme.ColorNameInputBorder:
			return hex(0x9AA4AE)
		case theme.ColorNamePrimary:
			return hex(0x64B5F6)
		case theme.ColorNameForegroundOnPrimary:
			return hex(0x000000)
		case theme.ColorNamePlaceHolder:
			return hex(0xB0B8C0)
		case theme.ColorNameSeparator:
			return hex(0x5A636C)
		case theme.ColorNameDisabled:
			return hex(0xA0AAB4)
		case theme.ColorNameDisabledButton:
			return hex(0x22272C)
		case theme.ColorNameHeaderBackground, theme.ColorNameMenuBackground, theme.ColorNameOverlayBackground:
			return hex(0x1C2024)
		}
	} else {
		switch n {
		case theme.ColorNameBackground:
			return hex(0xFFFFFF)
		case theme.ColorNameForeground:
			return hex(0x000000)
		case theme.ColorNameButton:
			// ≥ 3:1 against white and the bars (WCAG AA for a control's
			// edge: #E3E6EA was 1.25:1, invisible in sunlight), black text
			// on it ≥ 4.5:1.
			return hex(0x7F8A95)
		case theme.ColorNameInputBackground:
			return hex(0xFFFFFF)
		case theme.ColorNameInputBorder:
			return hex(0x3C4650)
		case theme.ColorNamePrimary:
			return hex(0x0B4F9C)
		case theme.ColorNameForegroundOnPrimary:
			return hex(0xFFFFFF)
		case theme.ColorNamePlaceHolder:
			return hex(0x4A545E)
		case theme.ColorNameSeparator:
			return hex(0x7A848E)
		case theme.ColorNameDisabled:
			// Readable in sunlight: a disabled 保存 must still say what it is.
			return hex(0x59636D)
		case theme.ColorNameDisabledButton:
			return hex(0xEEF0F2)
		case theme.ColorNameHeaderBackground, theme.ColorNameMenuBackground, theme.ColorNameOverlayBackground:
			return hex(0xF2F4F6)
		}
	}
	// Status colours are used for text on the background (labels with an
	// importance) and as button fills, so each must read both ways: dark
	// shades on the light palette, light ones on the dark palette, each
	// ≥ 4.5:1 against the background and against its own text (a test
	// checks). The verdict bands use verdictBand, not these.
	switch n {
	case theme.ColorNameSuccess:
		return t.pick(0x1B5E20, 0x81C784)
	case theme.ColorNameWarning:
		return t.pick(0x8A4B00, 0xFFB300)
	case theme.ColorNameError:
		return t.pick(0xB71C1C, 0xEF9A9A)
	case theme.ColorNameForegroundOnSuccess, theme.ColorNameForegroundOnWarning, theme.ColorNameForegroundOnError:
		return t.pick(0xFFFFFF, 0x000000)
	}
	return theme.DefaultTheme().Color(n, t.variant())
}

// pick is light in the light palette, dark in the dark one.
func (t *outdoorTheme) pick(light, dark uint32) color.NRGBA {
	if t.dark {
		return hex(dark)
	}
	return hex(light)
}

// Font returns the bundled CJK fonts for every style but monospace and
// symbols (QR texts are ASCII; icons come from fyne's symbol font): a real
// bold face for bold text, so that a Chinese heading is bold in its Chinese
// characters too, not only in its Latin ones.
func (t *outdoorTheme) Font(s fyne.TextStyle) fyne.Resource {
	switch {
	case s.Monospace || s.Symbol:
		return theme.DefaultTheme().Font(s)
	case s.Bold:
		return uiBoldFont
	}
	return uiFont
}

// Icon returns fyne's icons (they follow the palette's foreground).
func (t *outdoorTheme) Icon(n fyne.ThemeIconName) fyne.Resource {
	return theme.DefaultTheme().Icon(n)
}

// Size enlarges text and paddings so the smallest button is MinTouch high.
func (t *outdoorTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNameText:
		return 18
	case theme.SizeNameHeadingText:
		return 28 // also the verdict's reasons: read at arm's length
	case theme.SizeNameSubHeadingText:
		return 22
	case theme.SizeNameCaptionText:
		return 15
	case theme.SizeNameInnerPadding:
		return 13
	case theme.SizeNamePadding:
		return 6
	case theme.SizeNameInlineIcon:
		return 24
	case theme.SizeNameScrollBar:
		return 16
	case theme.SizeNameScrollBarSmall:
		return 6
	case theme.SizeNameInputBorder:
		return 2
	case theme.SizeNameSeparatorThickness:
		return 2
	}
	return theme.DefaultTheme().Size(n)
}

// Verdict band colours and the text drawn on them. Each pair has a contrast
// ratio ≥ 4.5:1 (WCAG AA), checked by a test, in both palettes.
func verdictBand(v verify.Verdict) color.NRGBA {
	switch v {
	case verify.Valid:
		return hex(0x1B5E20) // green
	case verify.Limited:
		return hex(0xFFB300) // amber
	}
	return hex(0xB71C1C) // red
}

func verdictInk(v verify.Verdict) color.NRGBA {
	if v == verify.Limited {
		return hex(0x000000)
	}
	return hex(0xFFFFFF)
}

// neutralBand is the band of a screen that established nothing about a
// licence (read failure, not an RTC code, newer format): slate, never a
// verdict colour.
const neutralBand = 0x455A64

// outcomeBand and outcomeInk are the band colour of an outcome and the
// text drawn on it (≥ 4.5:1, checked by a test).
func outcomeBand(o outcome) color.NRGBA {
	switch o {
	case outcomeValid:
		return verdictBand(verify.Valid)
	case outcomeLimited:
		return verdictBand(verify.Limited)
	case outcomeInvalid:
		return verdictBand(verify.Invalid)
	}
	return hex(neutralBand)
}

func outcomeInk(o outcome) color.NRGBA {
	if o == outcomeLimited {
		return hex(0x000000)
	}
	return hex(0xFFFFFF)
}

// contrast is the WCAG 2 contrast ratio of two opaque colours.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}
