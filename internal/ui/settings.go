package ui

import (
	"time"

	"fyne.io/fyne/v2"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// Settings are the GUI's settings, kept in fyne's preferences. Policy and
// AutoLock are the check policy in force (package policy), shown but not
// edited here: no officer can loosen them from Settings.
type Settings struct {
	// Camera is the camera device used for live scanning ("" = first one).
	Camera  string
	Lang    Lang
	Palette Palette
	// Policy is the verification policy in force (read-only here).
	Policy   verify.Policy
	AutoLock time.Duration
	// Sound: each verdict sounds.
	Sound bool
	// Vibrate: each verdict vibrates, where the device has a vibrator
	// (Deps.Vibrator; none on desktop).
	Vibrate bool
}

const (
	prefCamera  = "camera"
	prefLang    = "lang"
	prefPalette = "palette"
	prefSound   = "sound"
	prefVibrate = "vibrate"
)

// loadSettings reads p; the policy comes from d (and then the policy file).
func loadSettings(p fyne.Preferences, d Deps) Settings {
	pol := initialPolicy(d)
	s := Settings{
		Camera:   p.String(prefCamera),
		Lang:     Lang(p.StringWithFallback(prefLang, string(LangZH))),
		Palette:  Palette(p.StringWithFallback(prefPalette, string(PaletteLight))),
		Policy:   pol.Verify(),
		AutoLock: pol.AutoLock,
		Sound:    p.BoolWithFallback(prefSound, true),
		Vibrate:  p.BoolWithFallback(prefVibrate, true),
	}
	if s.Lang != LangEN {
		s.Lang = LangZH
	}
	if s.Palette != PaletteDark {
		s.Palette = PaletteLight
	}
	return s
}

func (s Settings) save(p fyne.Preferences) {
	p.SetString(prefCamera, s.Camera)
	p.SetString(prefLang, string(s.Lang))
	p.SetString(prefPalette, string(s.Palette))
	p.SetBool(prefSound, s.Sound)
	p.SetBool(prefVibrate, s.Vibrate)
}
