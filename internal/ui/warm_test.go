package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// paintWarmStep stands in for fyne's painter drawing the warm screen: it
// runs the screen's paint probe.
func paintWarmStep(t *testing.T, w *warmer) {
	t.Helper()
	if len(w.holder.Objects) != 2 {
		t.Fatalf("warm holder has %d objects, want a screen and its probe", len(w.holder.Objects))
	}
	probe := w.holder.Objects[1].(*fyne.Container).Objects[0].(*canvas.Raster)
	probe.Generator(1, 1)
}

// After the scan screen's first paint the warmer paints one made-up
// verdict screen per frame beside the window, then clears them; it repeats
// once warmRefresh has passed on the injected clock, so that fyne's text
// caches (one minute) never lose the verdict screen's fixed texts.
func TestWarmUp(t *testing.T) {
	e := newEnv(t)
	e.signIn(t, "1001", "1234")
	e.app.win.Resize(fyne.NewSize(1280, 800))
	w := e.app.warm
	if w == nil || w.active || len(w.holder.Objects) != 0 {
		t.Fatal("warm-up started before the scan screen was painted")
	}
	// Beside the window, the size of a (full-screen) verdict.
	if x, vw := w.holder.Position().X, e.app.checkBox.Size().Width; x < vw || w.holder.Size() != e.app.checkBox.Size() {
		t.Errorf("warm holder at x %.0f (check tab %.0f wide), size %v, verdict size %v", x, vw, w.holder.Size(), e.app.checkBox.Size())
	}
	done := 0
	w.done = func() { done++ }
	e.app.scanPainted()
	steps := 0
	for w.active {
		markup := test.RenderObjectToMarkup(w.holder.Objects[0])
		if markup == "" {
			t.Fatal("empty warm screen")
		}
		paintWarmStep(t, w)
		steps++
	}
	if steps != len(warmResults()) || len(w.holder.Objects) != 0 || done != 1 || !w.last.Equal(e.clk.Now()) {
		t.Fatalf("after %d steps: %d objects held, done %d, last %v", steps, len(w.holder.Objects), done, w.last)
	}
	// Not again before warmRefresh; then at the next tick on the check tab.
	e.clk.Advance(warmRefresh / 2)
	e.app.tick()
	if w.active {
		t.Error("warmed again too soon")
	}
	e.clk.Advance(warmRefresh / 2)
	e.app.tick()
	if !w.active || len(w.holder.Objects) != 2 {
		t.Fatal("not warmed again after warmRefresh")
	}
	// A probe of an aborted warm-up (palette changed) does nothing.
	old := w.holder.Objects[1].(*fyne.Container).Objects[0].(*canvas.Raster)
	w.abort()
	w.start()
	old.Generator(1, 1)
	if w.step != 1 {
		t.Errorf("a stale probe advanced the warm-up to step %d", w.step)
	}
	// Signing out drops the warmer with the screens.
	e.app.signOut()
	if e.app.warm != nil {
		t.Error("warmer kept after sign-out")
	}
	if done != 1 {
		t.Errorf("done called %d times", done)
	}
}

// The made-up results cover every fixed text of the verdict screen: all
// three verdicts, every reason sentence, every licence kind (so every
// field name), a licence-less result and the stop link.
func TestWarmResultsCoverVerdictScreen(t *testing.T) {
	test.NewTempApp(t)
	verdicts := map[verify.Verdict]bool{}
	reasons := map[verify.Reason]bool{}
	kinds := map[credential.Kind]bool{}
	noClaims, stopLink := false, false
	for _, wr := range warmResults() {
		verdicts[wr.res.Verdict] = true
		for _, r := range wr.res.Reasons {
			reasons[r] = true
		}
		if wr.res.Claims == nil {
			noClaims = true
		} else {
			kinds[wr.res.Claims.Credential.Kind] = true
		}
		stopLink = stopLink || wr.stop
	}
	for _, v := range []verify.Verdict{verify.Valid, verify.Limited, verify.Invalid} {
		if !verdicts[v] {
			t.Errorf("no warm screen for %v", v)
		}
	}
	for _, r := range verify.AllReasons() {
		if !reasons[r] {
			t.Errorf("reason %v not warmed", r)
		}
	}
	for _, k := range []credential.Kind{credential.KindPractitioner, credential.KindPermit, credential.KindVehicle} {
		if !kinds[k] {
			t.Errorf("no warm screen for kind %v", k)
		}
	}
	if !noClaims || !stopLink {
		t.Errorf("licence-less screen %v, stop link %v", noClaims, stopLink)
	}
	// Every field of a kind is filled in, so every field name is drawn.
	c := newCatalog(t, LangZH)
	for _, wr := range warmResults() {
		if wr.res.Claims == nil {
			continue
		}
		vs := buildVerdictScreen(c, wr.res, nil, verdictActions{})
		want := map[credential.Kind]int{credential.KindPractitioner: 14, credential.KindPermit: 11, credential.KindVehicle: 16}[wr.res.Claims.Credential.Kind]
		if len(vs.fields) != want {
			t.Errorf("kind %v: %d fields shown, want %d", wr.res.Claims.Credential.Kind, len(vs.fields), want)
		}
	}
}
