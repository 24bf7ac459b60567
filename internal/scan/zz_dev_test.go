package scan

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
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
	sharp := g.unsharp(context.Background(), 3, 2)
	bm := binarize(context.Background(), sharp, binHybrid)
	dumpPlane("/tmp/sc13/dev/frame.png", g)
	dumpPlane("/tmp/sc13/dev/sharp.png", sharp)
	dumpBitmap("/tmp/sc13/dev/bin.png", bm)
	cands := findFinders(bm, flipOf(pol), 2)
	for _, c := range cands {
		t.Logf("candidate %.1f,%.1f ms %.2f count %d", c.p.x, c.p.y, c.ms, c.count)
	}
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
		for k, o := range []pt{{3.5, 0}, {-3.5, 0}, {0, 3.5}, {0, -3.5}} {
			ex, ey := f.ModuleToImage(m.x+o.x, m.y+o.y)
			t.Logf("   edge %v at %.1f,%.1f truth %.1f,%.1f", o, fits[i].edges[k].x, fits[i].edges[k].y, ex, ey)
		}
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

func dumpPlane(path string, p *plane) {
	img := image.NewGray(image.Rect(0, 0, p.w, p.h))
	copy(img.Pix, p.pix)
	f, _ := os.Create(path)
	png.Encode(f, img)
	f.Close()
}

func dumpBitmap(path string, b *bitmap) {
	img := image.NewGray(image.Rect(0, 0, b.w, b.h))
	for i, v := range b.pix {
		img.Pix[i] = 255 * (1 - v)
	}
	f, _ := os.Create(path)
	png.Encode(f, img)
	f.Close()
}

func threadCPUDev() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

func cpuMS(n int, f func()) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPUDev()
	for range n {
		f()
	}
	return float64(threadCPUDev()-t0) / float64(n) / 1e6
}

func TestDevPrims(t *testing.T) {
	if os.Getenv("DEVPRIMS") == "" {
		t.Skip()
	}
	best := func(f func()) float64 {
		m := math.Inf(1)
		for range 7 {
			m = math.Min(m, cpuMS(3, f))
		}
		return m
	}
	for _, sz := range []scene.Size{{W: 640, H: 480}, {W: 1920, H: 1080}} {
		f := render(t, scene.Spec{Seed: 3, Condition: scene.Clean, Size: sz})
		g := greyOf(f.Image)
		ctx := context.Background()
		bm := binarize(ctx, g, binHybrid)
		sum := 0
		fmt.Printf("%s calib %.3f grey %.2f half %.2f blur %.2f unsharp %.2f eroded %.2f local %.2f hybrid %.2f global %.2f finders %.2f\n", sz,
			best(func() {
				for _, v := range g.pix {
					sum += int(v)
				}
			}),
			best(func() { greyOf(f.Image) }),
			best(func() { g.resized(context.Background(), 0.5) }),
			best(func() { g.boxBlur(context.Background(), 3) }),
			best(func() { g.unsharp(context.Background(), 3, 2) }),
			best(func() { g.eroded(context.Background()) }),
			best(func() { g.localNormalised(context.Background(), 20) }),
			best(func() { binarize(ctx, g, binHybrid) }),
			best(func() { binarize(ctx, g, binGlobal) }),
			best(func() { findFinders(bm, 0, 2) }))
	}
}

func BenchmarkDevDecode(b *testing.B) {
	files, _ := filepath.Glob(os.Getenv("DEVGLOB"))
	var imgs []image.Image
	for _, f := range files {
		img, err := LoadFile(context.Background(), f)
		if err != nil {
			b.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	if len(imgs) == 0 {
		b.Skip("DEVGLOB matches nothing")
	}
	d := NewDecoder(Options{Budget: -1})
	b.ReportAllocs()
	b.ResetTimer()
	ok := 0
	for i := 0; i < b.N; i++ {
		if _, err := d.Decode(context.Background(), imgs[i%len(imgs)]); err == nil {
			ok++
		}
	}
	b.ReportMetric(float64(ok)/float64(b.N), "rate")
}

func TestDevRegStats(t *testing.T) {
	files, _ := filepath.Glob(os.Getenv("DEVREG"))
	if len(files) == 0 {
		t.Skip()
	}
	var lines []string
	debugf = func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		if strings.Contains(s, "readgrid") {
			lines = append(lines, strings.TrimSpace(s))
		}
	}
	defer func() { debugf = nil }()
	for _, f := range files {
		img, _ := LoadFile(context.Background(), f)
		NewDecoder(Options{Budget: -1}).Decode(context.Background(), img)
	}
	hist := map[string][10]int{}
	for _, l := range lines {
		var kind string
		var reg float64
		fmt.Sscanf(l, "readgrid %s reg=%f", &kind, &reg)
		h := hist[kind]
		h[min(int(reg*10), 9)]++
		hist[kind] = h
	}
	fmt.Println(hist)
}

// TestDevVersion checks the version-information sampling positions on $DEVSPEC.
func TestDevVersion(t *testing.T) {
	specS := os.Getenv("DEVVSPEC")
	if specS == "" {
		t.Skip()
	}
	var w, h int
	var seed uint64
	parts := strings.Split(specS, "/")
	fmt.Sscanf(parts[1], "%dx%d", &w, &h)
	fmt.Sscanf(parts[2], "%x", &seed)
	f := render(t, scene.Spec{Seed: seed, Condition: scene.Condition(parts[0]), Size: scene.Size{W: w, H: h}})
	g := greyOf(f.Image)
	d := float64(f.Dim)
	mk := func(u, v float64) finder {
		x, y := f.ModuleToImage(u, v)
		x1, y1 := f.ModuleToImage(u+1, v)
		return finder{p: pt{x, y}, ms: math.Hypot(x1-x, y1-y), count: 5}
	}
	tr := triple{tl: mk(3.5, 3.5), tr: mk(d-3.5, 3.5), bl: mk(3.5, d-3.5)}
	tr2, fits := refineTriple(g, tr, 1)
	_ = tr2
	for k := 1; k <= 2; k++ {
		fi := fits[k]
		ex := fi.edges[0].sub(fi.edges[1]).scale(1.0 / 7)
		ey := fi.edges[2].sub(fi.edges[3]).scale(1.0 / 7)
		c := [3]pt{{3.5, 3.5}, {d - 3.5, 3.5}, {3.5, d - 3.5}}[k]
		worst := 0.0
		for j := 2; j >= -3; j-- {
			for i := -5; i >= -7; i-- {
				dx, dy := float64(i), float64(j)
				if k == 2 {
					dx, dy = dy, dx
				}
				p := fi.c.add(ex.scale(dx)).add(ey.scale(dy))
				x, y := f.ModuleToImage(c.x+dx, c.y+dy)
				worst = math.Max(worst, p.dist(pt{x, y})/tr.tl.ms)
			}
		}
		t.Logf("finder %d ok=%v worst sample offset %.2f modules", k, fi.ok, worst)
	}
	debugf = func(format string, args ...any) { t.Logf(format, args...) }
	defer func() { debugf = nil }()
	versionFromInfo(g, fits, d, 1)
	t.Logf("truth v%d %s", f.Version, f.Params)
}

func TestDevPairs(t *testing.T) {
	if os.Getenv("DEVPAIRS") == "" {
		t.Skip()
	}
	for _, sp := range scene.Specs(corpusSeed, 3, []scene.Size{{W: 640, H: 480}}, []scene.Condition{scene.LampGlare}) {
		f := render(t, sp)
		g := greyOf(f.Image)
		tt := truthTriple(f)
		fs := []finder{tt.tl, tt.tr, tt.bl}
		t.Logf("%s errors %v", sp.Name(), f.Oracle.FinderErrors)
		for i, x := range fs {
			a1, a2, ok := finderAxes(g, x)
			d := float64(f.Dim)
			m := [3]pt{{3.5, 3.5}, {d - 3.5, 3.5}, {3.5, d - 3.5}}[i]
			x0, y0 := f.ModuleToImage(m.x, m.y)
			x1, y1 := f.ModuleToImage(m.x+1, m.y)
			x2, y2 := f.ModuleToImage(m.x, m.y+1)
			ux := pt{x1 - x0, y1 - y0}
			uy := pt{x2 - x0, y2 - y0}
			t.Logf("  finder %d at %v axes %v %v ok=%v; truth x %v y %v", i, x.p, a1, a2, ok, ux.scale(1/ux.norm()), uy.scale(1/uy.norm()))
		}
		for _, tr := range pairTriples(g, fs[1:], 1, 6) {
			for _, x := range []finder{tr.tl, tr.tr, tr.bl} {
				if x.virtual {
					t.Logf("  predicted %v truth %v (%.1f modules)", x.p, fs[0].p, x.p.dist(fs[0].p)/fs[0].ms)
				}
			}
		}
	}
}

func TestDevQuiet(t *testing.T) {
	if os.Getenv("DEVQUIET") == "" {
		t.Skip()
	}
	for _, c := range []scene.Condition{scene.Clean, scene.Noise, scene.Moire, scene.Glass} {
		sz := scene.Size{W: 640, H: 480}
		f := render(t, scene.Specs(9, 1, []scene.Size{sz}, []scene.Condition{c})[0])
		img := image.NewRGBA(f.Image.Bounds())
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				img.Set(x, y, f.Image.At(x, y))
			}
		}
		minX, minY, maxX, maxY := 1e9, 1e9, -1e9, -1e9
		for _, c := range f.Corners {
			minX, maxX = math.Min(minX, c[0]), math.Max(maxX, c[0])
			minY, maxY = math.Min(minY, c[1]), math.Max(maxY, c[1])
		}
		for y := int(minY) - 20; y < int(maxY)+20; y++ {
			for x := int(minX) - 20; x < int(maxX)+20; x++ {
				img.Set(x, y, img.At(5, 5))
			}
		}
		var err error
		ms := cpuMS(3, func() { _, err = NewDecoder(Options{Budget: -1}).Decode(context.Background(), img) })
		fmt.Printf("%s no code: %.1f ms CPU (%v)\n", c, ms, err)
	}
}

func TestDevClipped(t *testing.T) {
	if os.Getenv("DEVCLIP") == "" {
		t.Skip()
	}
	for _, dir := range []string{"/tmp/sc13/final-hard", "/tmp/sc13/cls777"} {
		files, _ := filepath.Glob(dir + "/*-640x480-*")
		byc := map[string][]float64{}
		for _, fn := range files {
			img, _ := LoadFile(context.Background(), fn)
			g := greyOf(img)
			n := 0
			for _, v := range g.pix {
				if v >= 250 {
					n++
				}
			}
			c := strings.SplitN(filepath.Base(fn), "-", 2)[0]
			byc[c] = append(byc[c], float64(n)/float64(len(g.pix)))
		}
		for c, v := range byc {
			fmt.Printf("%s %.2f\n", c, v)
		}
	}
}

func TestDevPure(t *testing.T) {
	if os.Getenv("DEVPURE") == "" {
		t.Skip()
	}
	text := scene.Sample
	hints := map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_ERROR_CORRECTION: "M"}
	bm, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 480, 480, hints)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 480, 480))
	for y := range 480 {
		for x := range 480 {
			if !bm.Get(x, y) {
				img.Pix[y*480+x] = 255
			}
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	ji, _ := jpeg.Decode(&buf)
	start := time.Now()
	debugf = func(format string, args ...any) {
		fmt.Printf("%7.2fms %s\n", float64(time.Since(start).Microseconds())/1000, fmt.Sprintf(format, args...))
	}
	defer func() { debugf = nil }()
	for _, im := range []image.Image{img, ji} {
		var res Result
		ms := cpuMS(1, func() { res, err = NewDecoder(Options{Budget: -1}).Decode(context.Background(), im) })
		fmt.Printf("pure: %.1f ms CPU %q %v %s\n", ms, trunc(res.Text), err, res.Attempt)
	}
}
