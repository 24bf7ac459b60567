package ui

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Every App of the tests runs its "background" work inline, from New on:
// results are on screen when the call that started them returns.
func init() { defaultAsync = func(f func()) { f() } }

var update = flag.Bool("update", false, "rewrite the golden markup files in testdata")

// assertCanvasMarkup compares canvas c as laid out (not laid out again)
// with testdata/name (rewritten with -update).
func assertCanvasMarkup(t *testing.T, name string, c fyne.Canvas) {
	t.Helper()
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(test.RenderToMarkup(c)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	test.AssertRendersToMarkup(t, name, c)
}

// assertMarkup compares obj's markup with testdata/name (rewritten with -update).
func assertMarkup(t *testing.T, name string, obj fyne.CanvasObject) {
	t.Helper()
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", name), []byte(test.RenderObjectToMarkup(obj)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	test.AssertObjectRendersToMarkup(t, name, obj)
}

var (
	worldOnce sync.Once
	world     *demo.World
	worldErr  error
)

// demoWorld is the demo deployment, built once per test binary.
func demoWorld(t *testing.T) *demo.World {
	t.Helper()
	worldOnce.Do(func() { world, worldErr = demo.Build(demo.DefaultSeed, demo.ReferenceTime) })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return world
}

// sample returns the demo sample called name.
func sample(t *testing.T, name string) demo.Sample {
	t.Helper()
	for _, s := range demoWorld(t).Samples {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no demo sample %q", name)
	return demo.Sample{}
}

// env is a GUI on real domain components: a trust store with the demo world
// imported and a record store, both in t.TempDir(), the real verifier and
// decoder, and a fake clock at the demo world's time.
type env struct {
	app *App
	// timers are the key router's pending flushes (run by settle).
	timers []func()
	fa     fyne.App
	clk    *clock.Fake
	recs   *records.Store
	trust  *trust.Store
}

func newEnv(t *testing.T, mod ...func(*Deps)) *env {
	t.Helper()
	ctx := context.Background()
	fa := test.NewTempApp(t)
	clk := clock.NewFake(demo.ReferenceTime)
	path := filepath.Join(t.TempDir(), "terminal.db")
	db, err := storage.Open(ctx, path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts, err := trust.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	w := demoWorld(t)
	if _, err := ts.AddAnchors(ctx, w.AnchorsPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Import(ctx, w.BundlePEM); err != nil {
		t.Fatal(err)
	}
	recs, err := records.Open(ctx, db, records.KeyFile(records.KeyFilePath(path)), records.Options{Clock: clk, DeviceID: "T-UI-TEST"})
	if err != nil {
		t.Fatal(err)
	}
	var samples []Sample
	for _, s := range w.Samples {
		samples = append(samples, Sample{Name: s.Description, Text: s.Text})
	}
	d := Deps{
		Clock:    clk,
		Verifier: func(p verify.Policy) Verifier { return verify.New(ts, clk, p) },
		Decoder:  scan.NewDecoder(scan.Options{Budget: -1, Clock: clk}),
		Wedge:    scan.NewWedge(scan.WedgeOptions{}),
		Trust:    ts,
		Records:  recs,
		Officers: NewStaticOfficers(DemoAccounts()...),
		Samples:  samples,
		Demo:     true,
		Device:   "T-UI-TEST",
	}
	for _, m := range mod {
		m(&d)
	}
	a, err := New(fa, d)
	if err != nil {
		t.Fatal(err)
	}
	a.async = func(f func()) { f() }
	e := &env{app: a, fa: fa, clk: clk, recs: recs, trust: ts}
	a.keys.after = func(_ time.Duration, f func()) { e.timers = append(e.timers, f) }
	// The undo of a save stays offered: a real timer would fire on its
	// own goroutine (tests that need it set their own).
	a.after = func(time.Duration, func()) {}
	t.Cleanup(a.closed)
	return e
}

// settle lets the wedge's gap pass (fake clock) and runs the key router's
// pending flushes, as its timer would: held typed keys reach their field,
// a held scanner fragment is joined or reported cut.
func (e *env) settle() {
	e.clk.Advance(time.Second)
	for i := 0; len(e.timers) > 0; i++ {
		if i > 1000 {
			panic("settle: the key router's timers never stop")
		}
		// A held scanner fragment waits for its join window: time passes
		// while the timers run.
		e.clk.Advance(100 * time.Millisecond)
		f := e.timers[0]
		e.timers = e.timers[1:]
		f()
	}
}

// typeKeys types text into target (nil: the window with no field focused),
// one key every gap on the fake clock, then Enter when enter is set. Like
// fyne's desktop driver, it reports each key press as a TypedKey (Shift
// first for a capital) before the character's TypedRune.
func (e *env) typeKeys(target *wedgeEntry, text string, gap time.Duration, enter bool) {
	c := e.app.win.Canvas().(test.WindowlessCanvas)
	press := func(name fyne.KeyName) {
		if target != nil {
			target.TypedKey(&fyne.KeyEvent{Name: name})
		} else {
			c.OnTypedKey()(&fyne.KeyEvent{Name: name})
		}
	}
	for _, r := range text {
		e.clk.Advance(gap)
		if unicode.IsUpper(r) {
			press(desktop.KeyShiftLeft)
		}
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			press(fyne.KeyName(strings.ToUpper(string(r))))
		}
		if target != nil {
			target.TypedRune(r)
		} else {
			c.OnTypedRune()(r)
		}
	}
	if !enter {
		return
	}
	e.clk.Advance(gap)
	press(fyne.KeyReturn)
}

// signIn types id and PIN on the sign-in screen and taps 登录.
func (e *env) signIn(t *testing.T, id, pin string) {
	t.Helper()
	s := e.app.signInScr
	if s == nil {
		t.Fatal("sign-in screen not shown")
	}
	s.id.SetText("")
	test.Type(s.id, id)
	test.Type(s.pin, pin)
	test.Tap(s.submit)
}

// tapSample taps the demo sample button whose text is the sample's description.
func (e *env) tapSample(t *testing.T, name string) {
	t.Helper()
	want := sample(t, name).Description
	for i, b := range e.app.scanScr.samples {
		if e.app.scanScr.sampleLabels[i] == want {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("no sample button %q", want)
}

// buttons lists the visible buttons under o.
func buttons(o fyne.CanvasObject) []*widget.Button {
	var out []*widget.Button
	for _, x := range test.LaidOutObjects(o) {
		if b, ok := x.(*widget.Button); ok && b.Visible() {
			out = append(out, b)
		}
	}
	return out
}

// newCatalog returns a catalog in language l, failing the test on error.
func newCatalog(t *testing.T, l Lang) *catalog {
	t.Helper()
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	c.set(l)
	return c
}

// typeHuman types text into target at a person's pace (150 ms a key on the
// fake clock) and lets the wedge release it.
func (e *env) typeHuman(target *wedgeEntry, text string) {
	e.typeKeys(target, text, 150*time.Millisecond, false)
	e.settle()
}
