package ui

import (
	"fmt"
	"image"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"

	"github.com/roadcheck/roadcheck/internal/qrcode"
)

// Measure configures the timing harness of roadcheck --measure. It prints
// figures; it asserts nothing.
type Measure struct {
	// Start is when the process started (see ProcessAge).
	Start time.Time
	// Out receives one line per figure.
	Out io.Writer
	// Verdicts is the number of verdicts timed (default 6); they stride
	// through Deps.Samples.
	Verdicts int
}

// measureRun is the harness in progress. Times come from Deps.Clock.
//
// "Scan-ready" is the first paint of the scan screen: a 1×1 canvas.Raster
// probe sits on it, and fyne's painter calls a raster's generator when it
// draws it for the first time, inside the frame that the GL driver then
// swaps to the screen. "Verdict on screen" is the first paint of a probe on
// the verdict screen; the time before it starts when the decoder returned
// the code (a QR image of a demo sample, decoded by Deps.Decoder), and
// covers the hand-over to fyne's goroutine, verification, building the
// screen and painting it. The verdicts start once the verdict screen's
// warm-up (warm.go), which follows scan-ready, is done; its end is
// printed too.
type measureRun struct {
	m       Measure
	ready   time.Time
	trial   int
	decoded time.Time
	started bool // the verdicts have started (after the warm-up)
	waiting bool // a verdict probe should report
	results []time.Duration
}

// ProcessAge is how long ago the process started, from /proc/self/stat
// and /proc/uptime (10 ms resolution); 0 where /proc is missing.
func ProcessAge() time.Duration {
	stat, err1 := os.ReadFile("/proc/self/stat")
	up, err2 := os.ReadFile("/proc/uptime")
	if err1 != nil || err2 != nil {
		return 0
	}
	// Field 22 (starttime, clock ticks since boot) comes after the
	// parenthesised command name, which may contain spaces.
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	u := strings.Fields(string(up))
	if len(f) < 20 || len(u) < 1 {
		return 0
	}
	ticks, err1 := strconv.ParseFloat(f[19], 64)
	uptime, err2 := strconv.ParseFloat(u[0], 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const hz = 100 // USER_HZ on Linux
	age := time.Duration((uptime - ticks/hz) * float64(time.Second))
	return max(age, 0)
}

// paintProbe is a 1×1 transparent object that calls onPaint (on fyne's
// goroutine) the first time the painter draws it.
func paintProbe(onPaint func()) fyne.CanvasObject {
	done := false
	r := canvas.NewRaster(func(w, h int) image.Image {
		if !done {
			done = true
			onPaint()
		}
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	})
	r.Resize(fyne.NewSize(1, 1))
	return container.NewWithoutLayout(r)
}

// withProbe adds a probe calling onPaint to obj, when measuring.
func (a *App) withProbe(obj fyne.CanvasObject, onPaint func()) fyne.CanvasObject {
	if a.probe == nil {
		return obj
	}
	return container.NewStack(obj, paintProbe(onPaint))
}

// initMeasure arms the harness (New, before the first screen is built).
func (a *App) initMeasure() {
	m := *a.deps.Measure
	if m.Verdicts <= 0 {
		m.Verdicts = 6
	}
	if m.Out == nil {
		m.Out = os.Stdout
	}
	a.probe = &measureRun{m: m}
}

// scanPainted is the scan screen's probe: it is on screen; warm the
// verdict screen (after this paint, on fyne's goroutine).
func (a *App) scanPainted() {
	if p := a.probe; p != nil && p.ready.IsZero() {
		p.ready = a.deps.Clock.Now()
		fmt.Fprintf(p.m.Out, "measure: scan-ready %.0f ms after process start\n", ms(p.ready.Sub(p.m.Start)))
	}
	fyne.Do(func() {
		if a.warm != nil {
			a.warm.start()
		}
	})
}

// warmed starts the timed verdicts once the first warm-up is done: a code
// is not scanned within milliseconds of the window appearing, and the
// verdicts should not be timed against the warm-up's own work.
func (a *App) warmed() {
	p := a.probe
	if p == nil || p.started {
		return
	}
	p.started = true
	fmt.Fprintf(p.m.Out, "measure: warm-up done %.0f ms after process start\n", ms(a.deps.Clock.Now().Sub(p.m.Start)))
	a.nextTrial()
}

// verdictPainted is the verdict screen's probe.
func (a *App) verdictPainted() {
	p := a.probe
	if p == nil || !p.waiting {
		return
	}
	p.waiting = false
	d := a.deps.Clock.Now().Sub(p.decoded)
	p.results = append(p.results, d)
	fmt.Fprintf(p.m.Out, "measure: verdict %d (%s) on screen %.1f ms after decode\n", p.trial, a.check.res.Verdict, ms(d))
	p.trial++
	fyne.Do(func() {
		a.next()
		a.nextTrial()
	})
}

// nextTrial decodes the next sample's QR image off fyne's goroutine and
// hands the text over as the camera does, or ends the run.
func (a *App) nextTrial() {
	p := a.probe
	if p.trial >= p.m.Verdicts || len(a.deps.Samples) == 0 || a.deps.Decoder == nil {
		a.endMeasure()
		return
	}
	// Stride through the samples so VALID, LIMITED and INVALID screens
	// are all timed.
	smp := a.deps.Samples[(p.trial*5)%len(a.deps.Samples)]
	sym, err := qrcode.Encode(smp.Text, qrcode.LevelM)
	if err != nil {
		fmt.Fprintf(p.m.Out, "measure: %v\n", err)
		a.endMeasure()
		return
	}
	img := sym.Image(4)
	dec, ctx := a.deps.Decoder, a.ctx
	a.async(func() {
		r, err := dec.Decode(ctx, img)
		decoded := a.deps.Clock.Now()
		fyne.Do(func() {
			if err != nil {
				fmt.Fprintf(p.m.Out, "measure: decode: %v\n", err)
				a.endMeasure()
				return
			}
			p.decoded, p.waiting = decoded, true
			a.submit(r.Text)
		})
	})
}

func (a *App) endMeasure() {
	p := a.probe
	if len(p.results) > 0 {
		s := slices.Clone(p.results)
		slices.Sort(s)
		fmt.Fprintf(p.m.Out, "measure: summary scan-ready %.0f ms, verdict median %.1f ms, max %.1f ms (%d verdicts)\n",
			ms(p.ready.Sub(p.m.Start)), ms(s[len(s)/2]), ms(s[len(s)-1]), len(s))
	}
	a.Quit()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
