package scan

import (
	"context"
	"errors"
	"math"
	"slices"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// errNotRead is the internal "this candidate did not decode" error.
var errNotRead = errors.New("scan: candidate did not decode")

// grid is a located symbol: the homography from module coordinates to the
// sampling plane, and the symbol size.
type grid struct {
	h   homography
	dim int
}

// corners returns the four outer corners of the symbol in plane coordinates.
func (g grid) corners() [4]pt {
	d := float64(g.dim)
	return [4]pt{g.h.apply(0, 0), g.h.apply(d, 0), g.h.apply(d, d), g.h.apply(0, d)}
}

// reader decodes located symbols from a grey plane.
type reader struct {
	dec *decoder.Decoder
}

func newReader() *reader { return &reader{dec: decoder.NewDecoder()} }

// polarity: +1 when modules are darker than the background, -1 when lighter.
type polarity float64

// readTriple locates and decodes the symbol whose finders are t (in g's
// coordinates). It tries the most plausible symbol sizes in turn.
func (r *reader) readTriple(ctx context.Context, g *plane, t triple, pol polarity) (string, grid, error) {
	contrast := finderContrast(g, t, pol)
	if contrast < 6 {
		return "", grid{}, errNotRead
	}
	t, fits := refineTriple(g, t, pol)
	var ms [3][2]float64
	for i, f := range fits {
		ms[i] = [2]float64{f.msx, f.msy}
	}
	for _, dim := range candidateDims(g, t, ms, pol) {
		if ctx.Err() != nil {
			return "", grid{}, ctx.Err()
		}
		gr, ok := r.locate(g, t, fits, dim, pol, contrast)
		trace("    dim %d located=%v contrast=%.1f", dim, ok, contrast)
		if !ok {
			continue
		}
		if text, err := r.readGrid(g, gr, pol); err == nil {
			return text, gr, nil
		}
	}
	return "", grid{}, errNotRead
}

// candidateDims lists the symbol sizes to try: those the timing patterns
// count, then those nearest the size the finder distances imply.
func candidateDims(g *plane, t triple, ms [3][2]float64, pol polarity) []int {
	ex := t.tr.p.sub(t.tl.p)
	ey := t.bl.p.sub(t.tl.p)
	lx, ly := ex.norm(), ey.norm()
	ex, ey = ex.scale(1/lx), ey.scale(1/ly)
	var dims []int
	addDim := func(d int) {
		if d != 0 && !slices.Contains(dims, d) {
			dims = append(dims, d)
		}
	}
	d1 := timingDim(g, t.tl.p, t.tr.p, ey, ms[0][1], ms[1][1], pol)
	d2 := timingDim(g, t.tl.p, t.bl.p, ex, ms[0][0], ms[2][0], pol)
	trace("    timing dims %d %d", d1, d2)
	addDim(d1)
	addDim(d2)
	est := (lx/((ms[0][0]+ms[1][0])/2)+ly/((ms[0][1]+ms[2][1])/2))/2 + 7
	for _, d := range nearestDims(est, 3) {
		if len(dims) >= 4 {
			break
		}
		addDim(d)
	}
	return dims
}

// nearestDims returns the n symbol sizes (17+4v) nearest est.
func nearestDims(est float64, n int) []int {
	v := int(math.Round((est - 17) / 4))
	var out []int
	for _, dv := range []int{0, 1, -1, 2, -2, 3, -3} {
		vv := v + dv
		if vv >= 1 && vv <= 40 {
			out = append(out, 17+4*vv)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return math.Abs(float64(out[i])-est) < math.Abs(float64(out[j])-est)
	})
	return out[:min(n, len(out))]
}

// finderContrast estimates ink/paper contrast from the finders: centres are
// dark, the ring two modules out is light.
func finderContrast(g *plane, t triple, pol polarity) float64 {
	ex := t.tr.p.sub(t.tl.p)
	ey := t.bl.p.sub(t.tl.p)
	ex = ex.scale(1 / ex.norm())
	ey = ey.scale(1 / ey.norm())
	dark, light := 0.0, 0.0
	for _, f := range []finder{t.tl, t.tr, t.bl} {
		dark += g.sample(f.p.x, f.p.y)
		l := 0.0
		for _, d := range []pt{ex, ex.scale(-1), ey, ey.scale(-1)} {
			l += g.sample(f.p.x+2*d.x*f.ms, f.p.y+2*d.y*f.ms)
		}
		light += l / 4
	}
	return float64(pol) * (light - dark) / 3
}

// locate fits the module grid of a dim×dim symbol to the finders and as
// many alignment patterns as it can find.
func (r *reader) locate(g *plane, t triple, fits [3]finderFit, dim int, pol polarity, contrast float64) (grid, bool) {
	d := float64(dim)
	src := []pt{{3.5, 3.5}, {d - 3.5, 3.5}, {3.5, d - 3.5}}
	dst := []pt{t.tl.p, t.tr.p, t.bl.p}
	// Affine start: the fourth corner completes the parallelogram.
	h, ok := fitHomography(append(src[:3:3], pt{d - 3.5, d - 3.5}), append(dst[:3:3], t.tr.p.add(t.bl.p).sub(t.tl.p)))
	if !ok {
		return grid{}, false
	}
	// With all three finders measured, their outer edges show how the
	// module size changes across the code: a perspective start.
	if fits[0].ok && fits[1].ok && fits[2].ok {
		es, ed := append([]pt(nil), src...), append([]pt(nil), dst...)
		for i, c := range src {
			for k, o := range []pt{{3.5, 0}, {-3.5, 0}, {0, 3.5}, {0, -3.5}} {
				es = append(es, c.add(o))
				ed = append(ed, fits[i].edges[k])
			}
		}
		if hp, ok := fitHomography(es, ed); ok && plausible(hp, h, d) {
			h = hp
		}
	}
	ver, err := decoder.Version_GetVersionForNumber((dim - 17) / 4)
	if err != nil {
		return grid{}, false
	}
	centres := ver.GetAlignmentPatternCenters()
	if len(centres) == 0 {
		return grid{h: h, dim: dim}, true
	}
	n := len(centres) - 1
	if n == 1 {
		// Versions 2–6: one alignment pattern, bottom right, searched
		// widely since only it shows the perspective.
		last := float64(centres[n]) + 0.5
		radius := math.Max(4, d*0.1)
		p, ok := findAlignment(g, &h, pt{last, last}, radius, pol, contrast)
		trace("      BR align %v found=%v at %v", last, ok, p)
		if ok {
			src = append(src, pt{last, last})
			dst = append(dst, p)
			if h4, ok := fitHomography(src, dst); ok {
				h = h4
			}
		}
		return grid{h: h, dim: dim}, true
	}
	// Versions 7+: alignment patterns in rings outwards from the top-left,
	// so each is predicted by a fit of its nearer neighbours. The ones on
	// the top and left edges come first: with the finders they fix the
	// perspective along both axes.
	type ap struct {
		m    pt
		i, j int
	}
	var aps []ap
	for i := 0; i <= n; i++ {
		for j := 0; j <= n; j++ {
			if (i == 0 && j == 0) || (i == 0 && j == n) || (i == n && j == 0) {
				continue
			}
			aps = append(aps, ap{pt{float64(centres[j]) + 0.5, float64(centres[i]) + 0.5}, i, j})
		}
	}
	sort.SliceStable(aps, func(a, b int) bool {
		ea, eb := min(aps[a].i, aps[a].j) == 0, min(aps[b].i, aps[b].j) == 0
		if ea != eb {
			return ea
		}
		ma, mb := max(aps[a].i, aps[a].j), max(aps[b].i, aps[b].j)
		if ma != mb {
			return ma < mb
		}
		return aps[a].i+aps[a].j < aps[b].i+aps[b].j
	})
	// Only points off the finders' lines, or on both edges, fix a
	// homography: three finders plus points on one edge are degenerate.
	edgeX, edgeY, inner := false, false, false
	for _, a := range aps {
		radius := 2.5
		if a.i == n && a.j == n && !(edgeX && edgeY) {
			radius = math.Max(4, d*0.1)
		}
		p, ok := findAlignment(g, &h, a.m, radius, pol, contrast)
		trace("      align %v found=%v at %v", a.m, ok, p)
		if !ok {
			continue
		}
		src = append(src, a.m)
		dst = append(dst, p)
		edgeX = edgeX || a.i == 0
		edgeY = edgeY || a.j == 0
		inner = inner || (a.i != 0 && a.j != 0)
		if !(edgeX && edgeY) && !inner {
			continue
		}
		if h2, ok := robustFit(src, dst); ok && plausible(h2, h, d) {
			h = h2
		}
	}
	return grid{h: h, dim: dim}, true
}

// plausible reports whether the perspective fit hp stays near the affine
// fit h over the symbol (within a third of its size): a bad edge
// measurement must not throw the grid off.
func plausible(hp, h homography, d float64) bool {
	size := h.apply(0, 0).dist(h.apply(d, 0))
	for _, c := range []pt{{0, 0}, {d, 0}, {0, d}, {d, d}} {
		p := hp.apply(c.x, c.y)
		if !p.finite() || p.dist(h.apply(c.x, c.y)) > size/3 {
			return false
		}
	}
	return true
}

// robustFit fits a homography, drops points more than a module off the fit
// (mislocated alignment patterns; the three finders are kept) and refits.
func robustFit(src, dst []pt) (homography, bool) {
	h, ok := fitHomography(src, dst)
	if !ok {
		return h, false
	}
	var s2, d2 []pt
	for i := range src {
		q := h.apply(src[i].x, src[i].y)
		unit := h.apply(src[i].x+1, src[i].y).dist(q)
		if i < 3 || q.dist(dst[i]) <= unit {
			s2 = append(s2, src[i])
			d2 = append(d2, dst[i])
		}
	}
	if len(s2) == len(src) || len(s2) < 4 {
		return h, true
	}
	return fitHomography(s2, d2)
}

// findAlignment searches around the predicted module position m for the
// 5×5 alignment pattern and returns its centre in plane coordinates.
func findAlignment(g *plane, h *homography, m pt, radius float64, pol polarity, contrast float64) (pt, bool) {
	c := h.apply(m.x, m.y)
	if !c.finite() {
		return pt{}, false
	}
	bx := h.apply(m.x+1, m.y).sub(c)
	by := h.apply(m.x, m.y+1).sub(c)
	if bx.norm() < 0.5 || by.norm() < 0.5 {
		return pt{}, false
	}
	score := func(o pt) float64 {
		base := c.add(bx.scale(o.x)).add(by.scale(o.y))
		var dark, light float64
		for j := -2; j <= 2; j++ {
			for i := -2; i <= 2; i++ {
				p := base.add(bx.scale(float64(i))).add(by.scale(float64(j)))
				v := g.sample(p.x, p.y)
				switch max(abs(i), abs(j)) {
				case 2:
					dark += v
				case 1:
					light += v
				default:
					dark += 4 * v
				}
			}
		}
		return float64(pol) * (light/8 - dark/20)
	}
	best, bestO := math.Inf(-1), pt{}
	step := 0.5
	for oy := -radius; oy <= radius+1e-9; oy += step {
		for ox := -radius; ox <= radius+1e-9; ox += step {
			o := pt{ox, oy}
			s := score(o) - 0.03*contrast*o.norm()
			if s > best {
				best, bestO = s, o
			}
		}
	}
	// Refine around the best coarse position.
	centre := bestO
	for oy := -0.5; oy <= 0.5+1e-9; oy += 0.125 {
		for ox := -0.5; ox <= 0.5+1e-9; ox += 0.125 {
			o := centre.add(pt{ox, oy})
			s := score(o) - 0.03*contrast*o.norm()
			if s > best {
				best, bestO = s, o
			}
		}
	}
	if best < 0.35*contrast {
		return pt{}, false
	}
	p := c.add(bx.scale(bestO.x)).add(by.scale(bestO.y))
	if !p.within(g.w, g.h) {
		return pt{}, false
	}
	return p, true
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// readGrid samples the module centres and decodes them with a few
// thresholding strategies.
func (r *reader) readGrid(g *plane, gr grid, pol polarity) (string, error) {
	dim := gr.dim
	vals := make([]float64, dim*dim)
	for y := range dim {
		for x := range dim {
			p := gr.h.apply(float64(x)+0.5, float64(y)+0.5)
			if !p.finite() {
				return "", errNotRead
			}
			v := g.sample(p.x, p.y)
			if pol < 0 {
				v = 255 - v
			}
			vals[y*dim+x] = v
		}
	}
	for _, th := range []func([]float64, int) []float64{localMeanThreshold, globalThreshold, sharpenedThreshold} {
		thr := th(vals, dim)
		bits, _ := gozxing.NewSquareBitMatrix(dim)
		for i, v := range vals {
			if v < thr[i] {
				bits.Set(i%dim, i/dim)
			}
		}
		res, err := r.dec.Decode(bits, nil)
		if err == nil {
			return res.GetText(), nil
		}
	}
	return "", errNotRead
}

// localMeanThreshold: each module against the mean of the 9×9 modules
// around it.
func localMeanThreshold(vals []float64, dim int) []float64 {
	const rad = 4
	out := make([]float64, len(vals))
	// Integral image over the module grid.
	integ := make([]float64, (dim+1)*(dim+1))
	for y := range dim {
		row := 0.0
		for x := range dim {
			row += vals[y*dim+x]
			integ[(y+1)*(dim+1)+x+1] = integ[y*(dim+1)+x+1] + row
		}
	}
	for y := range dim {
		y0, y1 := max(0, y-rad), min(dim, y+rad+1)
		for x := range dim {
			x0, x1 := max(0, x-rad), min(dim, x+rad+1)
			s := integ[y1*(dim+1)+x1] - integ[y0*(dim+1)+x1] - integ[y1*(dim+1)+x0] + integ[y0*(dim+1)+x0]
			out[y*dim+x] = s / float64((y1-y0)*(x1-x0))
		}
	}
	return out
}

// globalThreshold: one Otsu threshold for the whole symbol.
func globalThreshold(vals []float64, dim int) []float64 {
	t := otsu(vals)
	out := make([]float64, len(vals))
	for i := range out {
		out[i] = t
	}
	return out
}

// sharpenedThreshold undoes some inter-module blur: it compares each module
// with the local mean after subtracting half the neighbours' excess, which
// is a 3×3 unsharp mask on the module grid.
func sharpenedThreshold(vals []float64, dim int) []float64 {
	mean := localMeanThreshold(vals, dim)
	out := make([]float64, len(vals))
	for y := range dim {
		for x := range dim {
			n, c := 0.0, 0
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				xx, yy := x+d[0], y+d[1]
				if xx >= 0 && yy >= 0 && xx < dim && yy < dim {
					n += vals[yy*dim+xx]
					c++
				}
			}
			v := vals[y*dim+x]
			sharp := v + 0.6*(v-n/float64(c))
			// Express as a threshold on v: v < thr ⇔ sharp < mean.
			out[y*dim+x] = v - sharp + mean[y*dim+x]
		}
	}
	return out
}
