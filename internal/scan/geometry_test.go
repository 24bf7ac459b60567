package scan

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

// TestSplineFollowsSmoothField: a thin-plate spline through the residuals
// of a bent grid (a quadratic displacement, as a cylinder gives) predicts
// the displacement between its control points to a fraction of a module.
func TestSplineFollowsSmoothField(t *testing.T) {
	const d = 101.0
	h := homography{4, 0, 10, 0, 4, 20, 0, 0, 1} // 4 px per module
	bend := func(m pt) pt {
		u := m.x/d - 0.5
		return pt{0, 48 * (0.25 - u*u)} // 3 modules of sag in the middle
	}
	// Finder centres and alignment patterns, as a version 21 symbol has.
	src := []pt{{3.5, 3.5}, {d - 3.5, 3.5}, {3.5, d - 3.5}}
	var dst []pt
	for _, m := range src {
		dst = append(dst, h.apply(m.x, m.y).add(bend(m)))
	}
	for _, c := range []float64{6.5, 28.5, 50.5, 72.5, 94.5} {
		for _, r := range []float64{6.5, 28.5, 50.5, 72.5, 94.5} {
			m := pt{c, r}
			if (c == 6.5 || c == 94.5) && (r == 6.5 || r == 94.5) && !(c == 94.5 && r == 94.5) {
				continue // finders there
			}
			src = append(src, m)
			dst = append(dst, h.apply(m.x, m.y).add(bend(m)))
		}
	}
	w, worst, ok := fitWarp(h, src, dst, int(d))
	if !ok {
		t.Fatal("fitWarp failed")
	}
	if worst < 2.5 || worst > 3.1 {
		t.Errorf("worst residual %.2f modules, want about 3", worst)
	}
	g := grid{h: h, dim: int(d), w: w}
	inner, edge := 0.0, 0.0
	for v := 0.5; v < d; v += 3 {
		for u := 0.5; u < d; u += 3 {
			want := h.apply(u, v).add(bend(pt{u, v}))
			e := g.at(u, v).dist(want) / 4
			if u > 6 && v > 6 && u < d-6 && v < d-6 {
				inner = math.Max(inner, e)
			} else {
				edge = math.Max(edge, e)
			}
		}
	}
	if inner > 0.3 || edge > 0.5 {
		t.Errorf("warped grid off by up to %.2f modules inside, %.2f at the edges; want ≤ 0.3 and 0.5", inner, edge)
	}
	// A flat grid needs no warp.
	var flat []pt
	for _, m := range src {
		flat = append(flat, h.apply(m.x, m.y))
	}
	if _, worst, _ := fitWarp(h, src, flat, int(d)); worst > 1e-9 {
		t.Errorf("flat grid: worst residual %v", worst)
	}
}

func TestSolveN(t *testing.T) {
	// 2x + y = 5, x + 3y = 10 → x = 1, y = 3; second right-hand side doubled.
	a := []float64{2, 1, 1, 3}
	b1, b2 := []float64{5, 10}, []float64{10, 20}
	if !solveN(a, 2, b1, b2) {
		t.Fatal("solveN failed")
	}
	if math.Abs(b1[0]-1) > 1e-12 || math.Abs(b1[1]-3) > 1e-12 || math.Abs(b2[1]-6) > 1e-12 {
		t.Errorf("solutions %v %v", b1, b2)
	}
	if solveN([]float64{1, 2, 2, 4}, 2, []float64{1, 1}, []float64{1, 1}) {
		t.Error("a singular system solved")
	}
}

// syntheticFinder draws a finder pattern of ms×sy pixels per module (sy
// stretches it vertically) on a light bitmap.
func syntheticFinder(w, h int, cx, cy, ms, sy float64) *bitmap {
	b := &bitmap{w: w, h: h, pix: make([]byte, w*h)}
	for y := range h {
		for x := range w {
			u := (float64(x) + 0.5 - cx) / ms
			v := (float64(y) + 0.5 - cy) / (ms * sy)
			ring := math.Max(math.Abs(u), math.Abs(v))
			if ring < 1.5 || (ring >= 2.5 && ring < 3.5) {
				b.pix[y*w+x] = 1
			}
		}
	}
	return b
}

// TestFindFindersForeshortened: a finder twice as tall as wide, as a steep
// tilt shows it, is still found.
func TestFindFindersForeshortened(t *testing.T) {
	for _, sy := range []float64{1, 0.55, 2} {
		b := syntheticFinder(200, 200, 100, 100, 6, sy)
		cands := findFinders(b, 0, 2)
		if len(cands) != 1 || cands[0].p.dist(pt{100, 100}) > 1.5 {
			t.Errorf("aspect %.2f: candidates %+v, want one at 100,100", sy, cands)
		}
		// Inverted, it is not a dark-module finder.
		if inv := findFinders(b, 1, 2); len(inv) != 0 {
			t.Errorf("aspect %.2f: %d candidates in the inverted bitmap", sy, len(inv))
		}
	}
}

// truthTriple returns the finder centres of a rendered frame, from its
// geometry.
func truthTriple(f *scene.Frame) triple {
	d := float64(f.Dim)
	mk := func(u, v float64) finder {
		x, y := f.ModuleToImage(u, v)
		x1, y1 := f.ModuleToImage(u+1, v)
		return finder{p: pt{x, y}, ms: math.Hypot(x1-x, y1-y), count: 5}
	}
	return triple{tl: mk(3.5, 3.5), tr: mk(d-3.5, 3.5), bl: mk(3.5, d-3.5)}
}

// TestVersionFromInfo reads the version information of real-length codes
// beside the finders, also on a bent surface and an overexposed screen.
func TestVersionFromInfo(t *testing.T) {
	for _, c := range []scene.Condition{scene.Curved, scene.Washed, scene.Keystone} {
		f := render(t, scene.Specs(corpusSeed, 1, []scene.Size{{W: 640, H: 480}}, []scene.Condition{c})[0])
		g := greyOf(f.Image)
		tr, fits := refineTriple(g, truthTriple(f), 1)
		_ = tr
		dim, sure := versionFromInfo(g, fits, float64(f.Dim), 1)
		if dim != f.Dim {
			t.Errorf("%s: version information read %d, want %d (%s)", c, dim, f.Dim, f.Params)
		} else if !sure {
			t.Logf("%s: read with errors", c)
		}
		g.release()
	}
}

// TestRefineFinderOverexposed: on an overexposed screen the dark modules
// are thinned, but the finder's module size is measured true.
func TestRefineFinderOverexposed(t *testing.T) {
	f := render(t, scene.Specs(corpusSeed, 1, []scene.Size{{W: 640, H: 480}}, []scene.Condition{scene.Washed})[0])
	g := greyOf(f.Image)
	defer g.release()
	want := truthTriple(f)
	_, fits := refineTriple(g, want, 1)
	for i, w := range []finder{want.tl, want.tr, want.bl} {
		if !fits[i].ok {
			t.Errorf("finder %d not measured", i)
			continue
		}
		ms := (fits[i].msx + fits[i].msy) / 2
		if math.Abs(ms-w.ms)/w.ms > 0.08 || fits[i].c.dist(w.p) > 0.3*w.ms {
			t.Errorf("finder %d: module %.2f at %v, truth %.2f at %v", i, ms, fits[i].c, w.ms, w.p)
		}
	}
}

// TestPairTriplesPredictsWashedFinder: with the finder under the lamp's
// glare left out, the triples predicted from the other two include one
// whose predicted finder lies near the truth: within a tenth of the
// symbol, close enough for the alignment patterns, searched outwards from
// the seen finders, to take over.
func TestPairTriplesPredictsWashedFinder(t *testing.T) {
	// The frames of the corpus test (rendered once).
	for _, sp := range scene.Specs(corpusSeed, hardSize(), []scene.Size{{W: 640, H: 480}}, []scene.Condition{scene.LampGlare}) {
		f := render(t, sp)
		g := greyOf(f.Image)
		tt := truthTriple(f)
		fs := []finder{tt.tl, tt.tr, tt.bl}
		washed := slices.IndexFunc(f.Oracle.FinderErrors[:], func(e int) bool { return e > 5 })
		if washed < 0 {
			g.release()
			continue
		}
		seen := slices.Delete(slices.Clone(fs), washed, washed+1)
		best := math.Inf(1)
		for _, tr := range pairTriples(g, seen, 1, 6) {
			for _, x := range []finder{tr.tl, tr.tr, tr.bl} {
				if x.virtual {
					best = math.Min(best, x.p.dist(fs[washed].p)/fs[washed].ms)
				}
			}
		}
		g.release()
		if best > 0.1*float64(f.Dim) {
			t.Errorf("%s: nearest prediction of the washed finder %.1f modules off", sp.Name(), best)
		}
	}
}

// TestCodeRegions: a small code in a 720p frame shows as a textured
// region around it at half scale; a flat noisy frame shows none.
func TestCodeRegions(t *testing.T) {
	f := render(t, scene.Specs(corpusSeed, 1, []scene.Size{{W: 1280, H: 720}}, []scene.Condition{scene.Small})[0])
	g := greyOf(f.Image)
	defer g.release()
	half := g.resized(context.Background(), 0.5)
	defer half.release()
	bm := binarize(context.Background(), half, binHybrid)
	defer bm.release()
	rs := codeRegions(bm, 2)
	if len(rs) == 0 {
		t.Fatal("no region")
	}
	x, y := f.ModuleToImage(float64(f.Dim)/2, float64(f.Dim)/2)
	centre := pt{x / 2, y / 2}
	r := rs[0]
	if centre.x < float64(r.Min.X) || centre.x > float64(r.Max.X) || centre.y < float64(r.Min.Y) || centre.y > float64(r.Max.Y) {
		t.Errorf("region %v misses the code centre %v", r, centre)
	}
	flat := newPlane(400, 300)
	for i := range flat.pix {
		flat.pix[i] = byte(120 + i*7919%7)
	}
	defer flat.release()
	fb := binarize(context.Background(), flat, binHybrid)
	defer fb.release()
	if rs := codeRegions(fb, 2); len(rs) != 0 {
		t.Errorf("regions %v in a flat frame", rs)
	}
}

// TestRegistration: a grid on the code reads its function patterns; the
// same grid two modules off does not.
func TestRegistration(t *testing.T) {
	f := render(t, scene.Spec{Seed: 1, Condition: scene.Clean, Size: scene.Size{W: 640, H: 480}, Text: scene.Sample})
	g := greyOf(f.Image)
	defer g.release()
	at := func(du float64) func(x, y int) (float64, bool) {
		return func(x, y int) (float64, bool) {
			px, py := f.ModuleToImage(float64(x)+0.5+du, float64(y)+0.5)
			return g.sample(px, py), true
		}
	}
	if r, _ := registration(f.Dim, at(0)); r < 0.95 {
		t.Errorf("registration on the code %.2f, want ≥ 0.95", r)
	}
	if r, _ := registration(f.Dim, at(2)); r >= minRegistration {
		t.Errorf("registration two modules off %.2f, want < %.2f", r, minRegistration)
	}
}

// TestBuffersRecycled: pooled buffers come back in power-of-two classes;
// foreign slices are ignored.
func TestBuffersRecycled(t *testing.T) {
	for _, n := range []int{1, 7, 1000, 640 * 480} {
		b := getBytes(n)
		if len(b) != n || cap(b)&(cap(b)-1) != 0 || cap(b) < n {
			t.Errorf("getBytes(%d): len %d cap %d", n, len(b), cap(b))
		}
		putBytes(b)
		u := getUint16s(n)
		if len(u) != n {
			t.Errorf("getUint16s(%d): len %d", n, len(u))
		}
		putUint16s(u)
	}
	putBytes(make([]byte, 3)) // not a pool class: dropped
	putBytes(nil)             // nothing to recycle
	putUint16s(make([]uint16, 5))
}

// TestOrientKeystone: seen through a strong perspective (the far finder at
// under half the module size of the near ones, the leg towards it half as
// long in pixels), a code's finders are accepted and score better than
// three finders of one size whose legs differ as much.
func TestOrientKeystone(t *testing.T) {
	const d = 57.0
	// Module (u, v) → image: 8 px modules, the far side (large u) shrunk
	// by the perspective division.
	const k = 0.9
	proj := func(u, v float64) pt {
		w := 1 + k*u/d
		return pt{100 + 8*u/w, 60 + 8*v/w}
	}
	at := func(u, v float64) finder {
		c := proj(u, v)
		ms := math.Sqrt(proj(u+1, v).dist(c) * proj(u, v+1).dist(c))
		return finder{p: c, ms: ms, count: 5}
	}
	tl, tr, bl := at(3.5, 3.5), at(d-3.5, 3.5), at(3.5, d-3.5)
	if f := tr.ms / tl.ms; f > 0.5 {
		t.Fatalf("far finder at %.2f of the near one's module size, want a steeper view", f)
	}
	keystone, ok := orient(tr, tl, bl)
	if !ok {
		t.Fatal("keystoned triple refused")
	}
	if keystone.tl.p != tl.p || keystone.tr.p != tr.p || keystone.bl.p != bl.p {
		t.Fatalf("oriented as %+v", keystone)
	}
	// About the same leg lengths in pixels (1.9:1), the finders all one
	// size.
	clutter, ok := orient(finder{p: pt{100, 100}, ms: 5, count: 5}, finder{p: pt{300, 130}, ms: 5, count: 5}, finder{p: pt{160, 480}, ms: 5, count: 5})
	if !ok {
		t.Fatal("clutter triple refused")
	}
	if keystone.score >= clutter.score {
		t.Errorf("keystoned code scores %.2f, not better than clutter with unequal legs (%.2f)", keystone.score, clutter.score)
	}
}
