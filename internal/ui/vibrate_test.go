package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

// vibrations records what the GUI asks of the device's vibrator: the
// hardware boundary, like the camera (this machine has no vibrator).
type vibrations struct{ got [][]time.Duration }

func (v *vibrations) Vibrate(p []time.Duration) { v.got = append(v.got, p) }

// TestVerdictVibrates: where the device has a vibrator each verdict
// vibrates its pattern (one pulse valid, two limited, three invalid) until
// the officer switches it off in Settings; without one (desktop) Settings
// says so and offers no switch.
func TestVerdictVibrates(t *testing.T) {
	v := &vibrations{}
	e := newEnv(t, func(d *Deps) { d.Vibrator = v })
	e.signIn(t, "1001", "1234")
	pulses := func(p []time.Duration) int { return (len(p) + 1) / 2 }
	for i, tt := range []struct {
		sample string
		pulses int
	}{{"valid-vehicle", 1}, {"limited-status-unknown", 2}, {"invalid-licence-expired", 3}} {
		e.app.newStop()
		e.tapSample(t, tt.sample)
		if len(v.got) != i+1 || pulses(v.got[i]) != tt.pulses {
			t.Fatalf("%s: vibrations %v, want %d pulses", tt.sample, v.got, tt.pulses)
		}
	}
	s := buildSettingsScreen(e.app)
	if s.vibrate.Disabled() || !s.vibrate.Checked {
		t.Fatalf("vibration switch: disabled %v, checked %v", s.vibrate.Disabled(), s.vibrate.Checked)
	}
	s.vibrate.SetChecked(false)
	test.Tap(s.save)
	e.app.newStop()
	e.tapSample(t, "valid-permit")
	if len(v.got) != 3 || e.app.set.Vibrate {
		t.Errorf("switched off: %d vibrations, setting %v", len(v.got), e.app.set.Vibrate)
	}

	plain := newEnv(t)
	plain.signIn(t, "1001", "1234")
	if s := buildSettingsScreen(plain.app); !s.vibrate.Disabled() || s.vibrate.Checked || s.vibrate.Text != "本设备没有振动器" {
		t.Errorf("no vibrator: switch %q, disabled %v, checked %v", s.vibrate.Text, s.vibrate.Disabled(), s.vibrate.Checked)
	}
}
