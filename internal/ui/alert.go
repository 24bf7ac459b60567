package ui

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os/exec"
	"sync/atomic"
	"time"
)

// AlertKind is what a verdict sounds like.
type AlertKind uint8

// Alert kinds: one rising tone (valid), two mid tones (limited), three
// low buzzes (invalid), one soft low tone (neutral: scan again).
const (
	AlertValid AlertKind = iota + 1
	AlertLimited
	AlertInvalid
	AlertNeutral
)

// Alerter sounds a verdict (a tone pattern per kind; vibration is the
// Vibrator's). Alert must not block: it is called on fyne's goroutine.
type Alerter interface {
	Alert(kind AlertKind)
}

// alertKind maps a screen's outcome to its alert.
func alertKind(o outcome) AlertKind {
	switch o {
	case outcomeValid:
		return AlertValid
	case outcomeLimited:
		return AlertLimited
	case outcomeInvalid:
		return AlertInvalid
	}
	return AlertNeutral
}

// alert sounds o and vibrates its pattern, each unless the officer
// switched it off in Settings (vibration only where a Vibrator is wired).
func (a *App) alert(o outcome) {
	k := alertKind(o)
	if a.alerter != nil && a.set.Sound {
		a.alerter.Alert(k)
	}
	if a.deps.Vibrator != nil && a.set.Vibrate {
		a.deps.Vibrator.Vibrate(vibrationPattern(k))
	}
}

// Vibrator vibrates the device: pattern alternates on and off durations,
// starting with on. Vibrate must not block (it is called on fyne's
// goroutine).
//
// fyne v2.7 has no vibration API and desktop Linux tablets have no
// vibrator, so app/roadcheck wires none (Deps.Vibrator nil: the hook is a
// no-op and Settings says the device has none). An Android build would
// wire the platform's android.os.Vibrator here (through the fyne driver's
// JNI context).
type Vibrator interface {
	Vibrate(pattern []time.Duration)
}

// vibrationPattern is kind's vibration, felt without looking: one short
// pulse (valid), two (limited), three long ones (invalid), one very short
// (neutral: scan again).
func vibrationPattern(kind AlertKind) []time.Duration {
	const ms = time.Millisecond
	switch kind {
	case AlertValid:
		return []time.Duration{120 * ms}
	case AlertLimited:
		return []time.Duration{150 * ms, 120 * ms, 150 * ms}
	case AlertInvalid:
		return []time.Duration{300 * ms, 150 * ms, 300 * ms, 150 * ms, 300 * ms}
	}
	return []time.Duration{50 * ms}
}

// ToneAlerter plays short generated tones through the host's sound player
// (aplay or paplay), on a goroutine of its own; one tone at a time, later
// ones dropped while one plays.
type ToneAlerter struct {
	player []string // the command reading a WAV on standard input
	busy   atomic.Bool
}

// NewToneAlerter returns an alerter using the first sound player found on
// PATH, or nil when there is none (the GUI is then silent).
func NewToneAlerter() *ToneAlerter {
	for _, p := range [][]string{{"aplay", "-q", "-"}, {"paplay"}} {
		if path, err := exec.LookPath(p[0]); err == nil {
			return &ToneAlerter{player: append([]string{path}, p[1:]...)}
		}
	}
	return nil
}

// Alert implements Alerter.
func (t *ToneAlerter) Alert(kind AlertKind) {
	if t == nil || !t.busy.CompareAndSwap(false, true) {
		return
	}
	wav := toneWAV(kind)
	go func() {
		defer t.busy.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, t.player[0], t.player[1:]...)
		cmd.Stdin = bytes.NewReader(wav)
		_ = cmd.Run() // a missing sound card leaves the GUI silent, nothing more
	}()
}

// toneWAV is kind's tone pattern as a 16-bit mono 16 kHz WAV file.
func toneWAV(kind AlertKind) []byte {
	const rate = 16000
	type note struct {
		hz  float64
		dur time.Duration
	}
	var notes []note
	switch kind {
	case AlertValid:
		notes = []note{{880, 90 * time.Millisecond}, {1320, 140 * time.Millisecond}}
	case AlertLimited:
		notes = []note{{660, 130 * time.Millisecond}, {0, 70 * time.Millisecond}, {660, 130 * time.Millisecond}}
	case AlertInvalid:
		notes = []note{{220, 160 * time.Millisecond}, {0, 60 * time.Millisecond}, {220, 160 * time.Millisecond},
			{0, 60 * time.Millisecond}, {220, 160 * time.Millisecond}}
	default:
		notes = []note{{440, 120 * time.Millisecond}}
	}
	var pcm []int16
	for _, n := range notes {
		samples := int(n.dur.Seconds() * rate)
		for i := range samples {
			v := 0.0
			if n.hz > 0 {
				env := math.Min(1, math.Min(float64(i), float64(samples-i))/(rate*0.005)) // 5 ms ramps, no clicks
				v = 0.45 * env * math.Sin(2*math.Pi*n.hz*float64(i)/rate)
				if kind == AlertInvalid {
					v = 0.45 * env * math.Copysign(1, v) * 0.6 // a buzz: square wave
				}
			}
			pcm = append(pcm, int16(v*math.MaxInt16))
		}
	}
	var b bytes.Buffer
	data := len(pcm) * 2
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * 2), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(data))
	_ = binary.Write(&b, binary.LittleEndian, pcm)
	return b.Bytes()
}
