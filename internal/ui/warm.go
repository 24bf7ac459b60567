package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Warming the verdict screen.
//
// Most of a verdict's cost is fyne's text rendering: every distinct
// (text, size, style, colour) is shaped with HarfBuzz and rasterised into
// its own GL texture the first time it is drawn, and the bundled CJK font
// makes that slow (the 64 dp verdict word, the 22 dp reasons, some forty
// field names and buttons). fyne caches those textures and the text
// measurements, but drops what has not been drawn for a minute. So without
// help the first verdict of a session, and the first after a minute
// without one, paid for rasterising every fixed text of the screen, on
// fyne's goroutine, between the decode and the paint: 140–240 ms instead
// of about 50.
//
// The warmer builds verdict screens for made-up results that together
// contain every fixed text of the verdict screen (the three verdict words
// in their inks, every reason sentence, every field name of the three
// licence kinds, the outcome buttons, the stop link) and has fyne paint
// them outside the window, one screen a frame, after the scan screen's
// first paint (so scan-ready does not wait for it). It repeats that every
// warmRefresh while the check tab is shown, which keeps those textures
// from expiring; the repetition finds them cached and costs a few draw
// calls. The values of a real licence (names, numbers, dates) are drawn
// when it is shown.
type warmer struct {
	a *App
	// holder is the check tab's third object; checkLayout gives it the
	// verdict's size, placed beside the window, out of sight (fyne's GL
	// painter draws every visible object, on the window or not, and so
	// creates its textures).
	holder *fyne.Container
	step   int  // next screen to paint
	active bool // a screen is waiting for its paint
	gen    int  // bumped by abort: a stale probe is ignored
	last   time.Time
	// done is called once after the first full warm-up (the --measure
	// harness starts its verdicts then).
	done func()
}

// warmRefresh is how often the warm-up repeats: under fyne's one minute
// cache lifetime (cache.ValidDuration), with the 10 s tick's slack.
const warmRefresh = 40 * time.Second

func newWarmer(a *App) *warmer {
	return &warmer{a: a, holder: container.NewStack()}
}

// start begins a warm-up unless one is running.
func (w *warmer) start() {
	if w.active {
		return
	}
	w.step = 0
	w.next()
}

// abort drops a warm-up in progress (its screen is not going to be
// painted: the check tab was left, or the palette changed).
func (w *warmer) abort() {
	w.gen++
	w.active = false
	w.clear()
}

// due reports whether the textures need warming again at now.
func (w *warmer) due(now time.Time) bool {
	return !w.active && now.Sub(w.last) >= warmRefresh
}

// next shows the next warm screen, or ends the warm-up.
func (w *warmer) next() {
	screens := warmResults()
	if w.step >= len(screens) {
		w.active = false
		w.last = w.a.deps.Clock.Now()
		w.clear()
		if f := w.done; f != nil {
			w.done = nil
			f()
		}
		return
	}
	wr := screens[w.step]
	w.step++
	w.active = true
	gen := w.gen
	var st *stop.Stop
	if wr.stop {
		st = stop.New("warm", wr.res.CheckedAt)
		if _, err := st.Add(wr.res); err != nil {
			st = nil
		}
	}
	vs := buildVerdictScreen(w.a.cat, wr.res, st, verdictActions{})
	probe := paintProbe(func() {
		// Called inside the paint: continue on fyne's goroutine after it.
		fyne.Do(func() {
			if gen == w.gen && w.active {
				w.next()
			}
		})
	})
	w.holder.Objects = []fyne.CanvasObject{vs.root, probe}
	w.holder.Refresh()
}

func (w *warmer) clear() {
	w.holder.Objects = nil
	w.holder.Refresh()
}

type warmResult struct {
	res  *verify.Result
	stop bool // show the stop link (a stop with this one scan)
}

// warmResults are made-up results covering every fixed text of the
// verdict screen. Their values are placeholders; they are never shown.
func warmResults() []warmResult {
	d := credential.Date{Year: 2026, Month: 1, Day: 1}
	common := func(k credential.Kind) credential.Credential {
		return credential.Credential{Kind: k, Number: "-", Holder: "-", HolderIDType: 1, HolderID: "-",
			Authority: "-", AuthorityCode: "-", Issued: d, ValidFrom: d, ValidUntil: d}
	}
	vehicle := common(credential.KindVehicle)
	vehicle.Holder = "--" // unlike the operator, so that both rows are drawn
	vehicle.Vehicle = &credential.Vehicle{Plate: "-", Operator: "-", OperatorLicence: "-", VehicleType: "-",
		Capacity: "-", Dimensions: "-", Scope: "-", ReviewUntil: d}
	practitioner := common(credential.KindPractitioner)
	practitioner.Practitioner = &credential.Practitioner{Categories: []string{"-"}, Sex: "-", BirthDate: d,
		VehicleClass: "-", IntegrityGrade: "-", IntegrityDate: d}
	permit := common(credential.KindPermit)
	permit.Permit = &credential.Permit{Scope: "-", Address: "-", EconomicType: "-"}
	claims := func(c credential.Credential) *credential.Claims { return &credential.Claims{Credential: c} }
	return []warmResult{
		{res: &verify.Result{Verdict: verify.Valid, Claims: claims(vehicle)}, stop: true},
		{res: &verify.Result{Verdict: verify.Limited, Claims: claims(practitioner),
			Reasons: []verify.Reason{verify.StatusUnknown, verify.TrustStale, verify.ReviewOverdue}}},
		{res: &verify.Result{Verdict: verify.Invalid, Claims: claims(permit),
			Reasons: []verify.Reason{verify.LicenceNotYetValid, verify.LicenceExpired, verify.LicenceRevoked, verify.LicenceSuspended}}},
		{res: &verify.Result{Verdict: verify.Invalid, Signer: &verify.SignerInfo{},
			Reasons: []verify.Reason{verify.Malformed, verify.UnsupportedVersion, verify.UnsupportedAlg, verify.UnknownSigner}}},
		{res: &verify.Result{Verdict: verify.Invalid, Signer: &verify.SignerInfo{},
			Reasons: []verify.Reason{verify.ChainInvalid, verify.SignerRevoked, verify.BadSignature, verify.IssuerMismatch,
				verify.CodeNotYetValid, verify.CodeExpired}}},
		// A neutral screen (nothing read): its band and hint.
		{res: &verify.Result{Verdict: verify.Invalid, Reasons: []verify.Reason{verify.Malformed}}},
	}
}
