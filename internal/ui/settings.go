package ui

import (
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// Settings are the officer-editable settings, kept in fyne's preferences.
type Settings struct {
	// Camera is the camera device used for live scanning ("" = first one).
	Camera  string
	Lang    Lang
	Palette Palette
	// Policy is the verification policy (clock skew, maximum trust age).
	Policy   verify.Policy
	AutoLock time.Duration
}

const (
	prefCamera   = "camera"
	prefLang     = "lang"
	prefPalette  = "palette"
	prefSkew     = "policy.skewSeconds"
	prefMaxAge   = "policy.maxTrustAgeHours"
	prefAutoLock = "autoLockMinutes"
)

// Settings validation errors (user-visible).
var (
	ErrSkew     = &UserError{Key: "settings.badSkew", Msg: "ui: clock skew must be 0–3600 seconds"}
	ErrMaxAge   = &UserError{Key: "settings.badMaxAge", Msg: "ui: maximum trust age must be 1–90 days"}
	ErrAutoLock = &UserError{Key: "settings.badAutoLock", Msg: "ui: auto-lock must be 1–120 minutes"}
)

// loadSettings reads p, filling defaults from d.
func loadSettings(p fyne.Preferences, d Deps) Settings {
	pol := d.Policy
	if pol == (verify.Policy{}) {
		pol = verify.DefaultPolicy()
	}
	lock := d.AutoLock
	if lock <= 0 {
		lock = 5 * time.Minute
	}
	s := Settings{
		Camera:   p.String(prefCamera),
		Lang:     Lang(p.StringWithFallback(prefLang, string(LangZH))),
		Palette:  Palette(p.StringWithFallback(prefPalette, string(PaletteLight))),
		Policy:   pol,
		AutoLock: lock,
	}
	if v := p.Int(prefSkew); v > 0 {
		s.Policy.ClockSkew = time.Duration(v) * time.Second
	}
	if v := p.Int(prefMaxAge); v > 0 {
		s.Policy.MaxTrustAge = time.Duration(v) * time.Hour
	}
	if v := p.Int(prefAutoLock); v > 0 {
		s.AutoLock = time.Duration(v) * time.Minute
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
	p.SetInt(prefSkew, int(s.Policy.ClockSkew/time.Second))
	p.SetInt(prefMaxAge, int(s.Policy.MaxTrustAge/time.Hour))
	p.SetInt(prefAutoLock, int(s.AutoLock/time.Minute))
}

// settingsForm is the text the settings screen edits.
type settingsForm struct {
	Camera                  string
	Lang                    Lang
	Palette                 Palette
	SkewSeconds, MaxAgeDays string
	AutoLockMinutes         string
}

// parse validates the form into Settings; errors are UserErrors.
func (f settingsForm) parse() (Settings, error) {
	s := Settings{Camera: f.Camera, Lang: f.Lang, Palette: f.Palette}
	skew, err := strconv.Atoi(strings.TrimSpace(f.SkewSeconds))
	if err != nil || skew < 0 || skew > 3600 {
		return Settings{}, ErrSkew
	}
	days, err := strconv.Atoi(strings.TrimSpace(f.MaxAgeDays))
	if err != nil || days < 1 || days > 90 {
		return Settings{}, ErrMaxAge
	}
	mins, err := strconv.Atoi(strings.TrimSpace(f.AutoLockMinutes))
	if err != nil || mins < 1 || mins > 120 {
		return Settings{}, ErrAutoLock
	}
	s.Policy = verify.Policy{ClockSkew: time.Duration(skew) * time.Second, MaxTrustAge: time.Duration(days) * 24 * time.Hour}
	s.AutoLock = time.Duration(mins) * time.Minute
	return s, nil
}
