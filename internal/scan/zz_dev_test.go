package scan

import (
	"context"
	"fmt"
	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDevTrace decodes the file in $DEVFILE with tracing (development aid).
func TestDevTrace(t *testing.T) {
	path := os.Getenv("DEVFILE")
	if path == "" {
		t.Skip("DEVFILE not set")
	}
	img, err := LoadFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	filter := os.Getenv("DEVGREP")
	debugf = func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		if filter == "" || strings.Contains(s, filter) {
			fmt.Printf("%7.2fms %s\n", float64(time.Since(start).Microseconds())/1000, s)
		}
	}
	defer func() { debugf = nil }()
	res, err := NewDecoder(Options{Budget: -1}).Decode(context.Background(), img)
	fmt.Printf("result %q %v attempt=%s in %v\n", trunc(res.Text), err, res.Attempt, time.Since(start))
}

func trunc(s string) string {
	if len(s) > 30 {
		return s[:30] + "…"
	}
	return s
}

// TestDevGeom compares the located grid with the truth for $DEVSPEC
// (condition/WxH/seedhex).
func TestDevGeom(t *testing.T) {
	specS := os.Getenv("DEVSPEC")
	if specS == "" {
		t.Skip("DEVSPEC not set")
	}
	var cond string
	var w, h int
	var seed uint64
	parts := strings.Split(specS, "/")
	cond = parts[0]
	fmt.Sscanf(parts[1], "%dx%d", &w, &h)
	fmt.Sscanf(parts[2], "%x", &seed)
	f := render(t, scene.Spec{Seed: seed, Condition: scene.Condition(cond), Size: scene.Size{W: w, H: h}})
	t.Logf("truth: v%d dim %d %s; oracle %s", f.Version, f.Dim, f.Params, f.Oracle)
	g := greyOf(f.Image)
	pol := polarity(1)
	if strings.Contains(f.Params, "inverted=true") {
		pol = -1
	}
	sharp := g.unsharp(3, 2)
	bm, _ := binarize(sharp, "hybrid")
	if pol < 0 {
		bm.FlipAll()
	}
	cands := findFinders(bm, 2)
	ts := triples(cands, 6)
	if len(ts) == 0 {
		t.Fatalf("no triple from %d candidates", len(cands))
	}
	tr := ts[0]
	tr, fits := refineTriple(g, tr, pol)
	d := float64(f.Dim)
	for i, fp := range []finder{tr.tl, tr.tr, tr.bl} {
		m := [3]pt{{3.5, 3.5}, {d - 3.5, 3.5}, {3.5, d - 3.5}}[i]
		x, y := f.ModuleToImage(m.x, m.y)
		t.Logf("finder %d at %.1f,%.1f truth %.1f,%.1f (ok=%v)", i, fp.p.x, fp.p.y, x, y, fits[i].ok)
	}
	r := newReader()
	loc, ok := r.locate(g, tr, fits, f.Dim, pol, finderContrast(g, tr, pol))
	if !ok {
		t.Fatal("not located")
	}
	unit := func(u, v float64) float64 {
		x0, y0 := f.ModuleToImage(u, v)
		x1, y1 := f.ModuleToImage(u+1, v)
		return pt{x0, y0}.dist(pt{x1, y1})
	}
	for i := range loc.src {
		x, y := f.ModuleToImage(loc.src[i].x, loc.src[i].y)
		e := loc.dst[i].dist(pt{x, y}) / unit(loc.src[i].x, loc.src[i].y)
		if e > 0.3 {
			t.Logf("control %v off by %.2f modules", loc.src[i], e)
		}
	}
	report := func(name string, gr grid) {
		worst, sum := 0.0, 0.0
		bad := 0
		for v := 0; v < f.Dim; v++ {
			for u := 0; u < f.Dim; u++ {
				x, y := f.ModuleToImage(float64(u)+0.5, float64(v)+0.5)
				e := gr.at(float64(u)+0.5, float64(v)+0.5).dist(pt{x, y}) / unit(float64(u), float64(v))
				worst = math.Max(worst, e)
				sum += e
				if e > 0.35 {
					bad++
				}
			}
		}
		_, err := r.readGrid(g, gr, pol)
		t.Logf("%s: mean %.2f worst %.2f modules, %d modules > 0.35 off; read: %v", name, sum/d/d, worst, bad, err)
	}
	report("homography", grid{h: loc.h, dim: f.Dim})
	if w, worst, ok := fitWarp(loc.h, loc.src, loc.dst, f.Dim); ok {
		t.Logf("warp worst residual %.2f", worst)
		report("warp", grid{h: loc.h, dim: f.Dim, w: w})
	}
}
