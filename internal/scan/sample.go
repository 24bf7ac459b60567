package scan

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// errNotRead is the internal "this candidate did not decode" error.
var errNotRead = errors.New("scan: candidate did not decode")

// errNoEvidence is the internal "this candidate shows no sign of a code
// (version information, timing pattern) and was left for later" error.
var errNoEvidence = errors.New("scan: candidate shows no version or timing pattern")

// reader decodes located symbols from a grey plane. It keeps scratch
// buffers, so it serves one Decode call at a time.
type reader struct {
	dec  *decoder.Decoder
	buf  []float64
	bits map[int]*gozxing.BitMatrix // by symbol size
	// spline: the buffers of the predictions while locating.
	spline splineScratch
}

func newReader() *reader {
	return &reader{dec: decoder.NewDecoder(), bits: map[int]*gozxing.BitMatrix{}}
}

// scratch returns the module value, local mean and integral image buffers
// for a dim×dim symbol.
func (r *reader) scratch(dim int) (vals, mean, integ []float64) {
	n := dim * dim
	need := 2*n + (dim+1)*(dim+1)
	if cap(r.buf) < need {
		r.buf = make([]float64, need)
	}
	b := r.buf[:need]
	return b[:n], b[n : 2*n], b[2*n:]
}

// polarity: +1 when modules are darker than the background, -1 when lighter.
type polarity float64

// readTriple locates and decodes the symbol whose finders are t (in g's
// coordinates). It tries the most plausible symbol sizes in turn and, for
// each, the homography through all the control points and then the warped
// grid that follows a curved surface. A virtual finder (predicted from the
// other two, see pairTriples) is neither measured nor trusted as a control
// point once alignment patterns are found.
//
// Unless force is set, a triple of a large symbol that shows neither
// version information nor a timing pattern fails with errNoEvidence before
// the costly part: most such triples are finder-like blobs of clutter, and
// the few real ones (a small, blurred, bent code) are better left until
// the likelier candidates are done.
func (r *reader) readTriple(ctx context.Context, g *plane, t triple, pol polarity, force bool) (string, grid, error) {
	contrast := finderContrast(g, t, pol)
	if contrast < 6 {
		return "", grid{}, errNotRead
	}
	t, fits := refineTriple(g, t, pol)
	dims, evidence, est := candidateDims(g, t, fits, pol)
	if !evidence && est >= 50 && !force {
		return "", grid{}, errNoEvidence
	}
	for _, dim := range dims {
		if ctx.Err() != nil {
			return "", grid{}, ctx.Err()
		}
		loc, ok := r.locate(g, t, fits, dim, pol, contrast)
		if debugf != nil {
			trace("    dim %d located=%v contrast=%.1f points=%d", dim, ok, contrast, len(loc.src))
		}
		if !ok {
			continue
		}
		gr := grid{h: loc.h, dim: dim}
		if text, err := r.readGrid(g, gr, pol); err == nil {
			return text, gr, nil
		}
		if ctx.Err() != nil {
			return "", grid{}, ctx.Err()
		}
		// Off the homography by more than a fraction of a module: a
		// curved surface or a lens; follow the control points.
		if w, worst, ok := fitWarp(loc.h, loc.src, loc.dst, dim); ok && worst > 0.3 {
			gw := grid{h: loc.h, dim: dim, w: w}
			text, err := r.readGrid(g, gw, pol)
			if debugf != nil {
				trace("    warp: worst residual %.2f modules: %v", worst, err)
			}
			if err == nil {
				return text, gw, nil
			}
		}
	}
	return "", grid{}, errNotRead
}

// candidateDims lists the symbol sizes to try: the one the version
// information blocks give, those the timing patterns count, then those
// nearest the size the finder distances imply (est). evidence reports
// whether the version information or a timing pattern was read.
func candidateDims(g *plane, t triple, fits [3]finderFit, pol polarity) (dims []int, evidence bool, est float64) {
	ex := t.tr.p.sub(t.tl.p)
	ey := t.bl.p.sub(t.tl.p)
	lx, ly := ex.norm(), ey.norm()
	ex, ey = ex.scale(1/lx), ey.scale(1/ly)
	var ms [3][2]float64
	for i, f := range fits {
		ms[i] = [2]float64{f.msx, f.msy}
	}
	addDim := func(d int) {
		if d != 0 && !slices.Contains(dims, d) {
			dims = append(dims, d)
		}
	}
	est = (lx/((ms[0][0]+ms[1][0])/2)+ly/((ms[0][1]+ms[2][1])/2))/2 + 7
	if vi, sure := versionFromInfo(g, fits, est, pol); vi != 0 {
		addDim(vi)
		if sure {
			return dims, true, est
		}
	}
	var d1, d2 int
	if !fits[0].virtual && !fits[1].virtual {
		d1 = timingDim(g, t.tl.p, t.tr.p, ey, ms[0][1], ms[1][1], pol)
	}
	if !fits[0].virtual && !fits[2].virtual {
		d2 = timingDim(g, t.tl.p, t.bl.p, ex, ms[0][0], ms[2][0], pol)
	}
	if debugf != nil {
		trace("    timing dims %d %d, estimate %.1f", d1, d2, est)
	}
	addDim(d1)
	addDim(d2)
	evidence = len(dims) > 0
	// Then the sizes nearest the estimate; with evidence, only those
	// within two versions of a size it gave (a timing pattern miscounted
	// by a run or two), not those it contradicts: locating a large grid
	// for nothing is the costliest way to reject clutter.
	for _, d := range nearestDims(est, 3) {
		if len(dims) >= 3 {
			break
		}
		if evidence && !slices.ContainsFunc(dims, func(e int) bool { return abs(d-e) <= 8 }) {
			continue
		}
		addDim(d)
	}
	return dims, evidence, est
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
	slices.SortStableFunc(out, func(a, b int) int {
		return cmp.Compare(math.Abs(float64(a)-est), math.Abs(float64(b)-est))
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
	dark, light, n := 0.0, 0.0, 0.0
	for _, f := range []finder{t.tl, t.tr, t.bl} {
		if f.virtual {
			continue
		}
		n++
		dark += g.sample(f.p.x, f.p.y)
		l := 0.0
		for _, d := range []pt{ex, ex.scale(-1), ey, ey.scale(-1)} {
			l += g.sample(f.p.x+2*d.x*f.ms, f.p.y+2*d.y*f.ms)
		}
		light += l / 4
	}
	return float64(pol) * (light - dark) / n
}

// located is the outcome of locate: the homography fitted to all the
// control points, and the points that fix the grid (finder and alignment
// pattern centres, module → plane) for the warp.
type located struct {
	h        homography
	src, dst []pt
}

// locate fits the module grid of a dim×dim symbol to the finders and as
// many alignment patterns as it can find. Each alignment pattern is looked
// for where the current homography, corrected by a thin-plate spline
// through the residuals of the patterns found so far, puts it: on a curved
// surface the grid drifts from any single homography, but smoothly.
func (r *reader) locate(g *plane, t triple, fits [3]finderFit, dim int, pol polarity, contrast float64) (located, bool) {
	d := float64(dim)
	centresM := []pt{{3.5, 3.5}, {d - 3.5, 3.5}, {3.5, d - 3.5}}
	centresP := []pt{t.tl.p, t.tr.p, t.bl.p}
	// Affine start: the fourth corner completes the parallelogram.
	h, ok := fitHomography(append(centresM[:3:3], pt{d - 3.5, d - 3.5}), append(centresP[:3:3], t.tr.p.add(t.bl.p).sub(t.tl.p)))
	if !ok {
		return located{}, false
	}
	// Points for the homography (hs → hd): finder centres seen and, when
	// measured, their outer edges, which show how the module size changes
	// across the code; points for the warp and the predictions (cs → cd):
	// the centres of the finders seen and of the alignment patterns found.
	// Room for the finders, their edges and every alignment pattern.
	room := 3 + 12 + 50
	hs, hd := make([]pt, 0, room), make([]pt, 0, room)
	cs, cd := make([]pt, 0, room), make([]pt, 0, room)
	for i := range 3 {
		if fits[i].virtual {
			continue
		}
		hs, hd = append(hs, centresM[i]), append(hd, centresP[i])
		cs, cd = append(cs, centresM[i]), append(cd, centresP[i])
	}
	measured := 0
	for i, f := range fits {
		if !f.ok {
			continue
		}
		measured++
		for k, o := range []pt{{3.5, 0}, {-3.5, 0}, {0, 3.5}, {0, -3.5}} {
			hs = append(hs, centresM[i].add(o))
			hd = append(hd, f.edges[k])
		}
	}
	// With a predicted finder, its centre holds the grid until the
	// alignment patterns take over.
	predicted := -1
	for i := range 3 {
		if fits[i].virtual {
			predicted = i
		}
	}
	fitH := func() {
		s2, d2 := hs, hd
		if predicted >= 0 && len(cs) < 6 {
			s2 = append(append([]pt(nil), hs...), centresM[predicted])
			d2 = append(append([]pt(nil), hd...), centresP[predicted])
		}
		if len(s2) < 4 {
			return
		}
		if h2, ok := fitHomography(s2, d2); ok && plausible(h2, h, d) {
			h = h2
		}
	}
	if measured >= 2 {
		fitH()
	}
	ver, err := decoder.Version_GetVersionForNumber((dim - 17) / 4)
	if err != nil {
		return located{}, false
	}
	// predict is where the grid puts module position m, from the
	// homography and the residuals of the control points.
	predict := func(m pt) pt {
		p := h.apply(m.x, m.y)
		var cs2, cd2 []pt
		cs2, cd2 = cs, cd
		if predicted >= 0 && len(cs) < 6 {
			cs2 = append(append([]pt(nil), cs...), centresM[predicted])
			cd2 = append(append([]pt(nil), cd...), centresP[predicted])
		}
		if sp, ok := newSpline(h, cs2, cd2, d, &r.spline); ok {
			p = p.add(sp.at(m))
		}
		return p
	}
	centres := ver.GetAlignmentPatternCenters()
	if len(centres) == 0 {
		return located{h: h, src: cs, dst: cd}, true
	}
	n := len(centres) - 1
	if n == 1 {
		// Versions 2–6: one alignment pattern, bottom right, searched
		// widely since only it shows the perspective.
		last := float64(centres[n]) + 0.5
		radius := math.Max(4, d*0.1)
		p, ok := findAlignment(g, &h, pt{last, last}, predict(pt{last, last}), radius, pol, contrast)
		if debugf != nil {
			trace("      BR align %v found=%v at %v", last, ok, p)
		}
		if ok {
			hs, hd = append(hs, pt{last, last}), append(hd, p)
			cs, cd = append(cs, pt{last, last}), append(cd, p)
			fitH()
		}
		return located{h: h, src: cs, dst: cd}, true
	}
	// Versions 7+: alignment patterns in rings outwards from the top-left,
	// so each is predicted by its nearer neighbours. The ones on the top
	// and left edges come first: with the finders they fix the
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
	slices.SortStableFunc(aps, func(a, b ap) int {
		ea, eb := min(a.i, a.j) == 0, min(b.i, b.j) == 0
		if ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(max(a.i, a.j), max(b.i, b.j)); c != 0 {
			return c
		}
		return cmp.Compare(a.i+a.j, b.i+b.j)
	})
	if predicted >= 0 {
		// Outwards from the finders seen instead: the predicted one may be
		// a few modules off.
		near := func(m pt) float64 {
			best := math.Inf(1)
			for i := range 3 {
				if i != predicted {
					best = math.Min(best, m.dist(centresM[i]))
				}
			}
			return best
		}
		slices.SortStableFunc(aps, func(a, b ap) int { return cmp.Compare(near(a.m), near(b.m)) })
	}
	// Only points off the finders' lines, or on both edges, fix a
	// homography: three finders plus points on one edge are degenerate.
	edgeX, edgeY, inner := false, false, false
	found := 0
	for k, a := range aps {
		// A grid whose first patterns are all missing is the wrong size,
		// or no code at all: give up early.
		if k == 5 && found == 0 {
			return located{}, false
		}
		radius := 2.5
		if a.i == n && a.j == n && !(edgeX && edgeY) {
			radius = math.Max(4, d*0.1)
		}
		if predicted >= 0 && found < 3 {
			radius = 4
		}
		c := predict(a.m)
		p, ok := findAlignment(g, &h, a.m, c, radius, pol, contrast)
		if debugf != nil {
			trace("      align %v predicted %.1f,%.1f found=%v at %.1f,%.1f", a.m, c.x, c.y, ok, p.x, p.y)
		}
		if !ok {
			continue
		}
		hs, hd = append(hs, a.m), append(hd, p)
		cs, cd = append(cs, a.m), append(cd, p)
		found++
		edgeX = edgeX || a.i == 0
		edgeY = edgeY || a.j == 0
		inner = inner || (a.i != 0 && a.j != 0)
		if !(edgeX && edgeY) && !inner {
			continue
		}
		fitH()
	}
	return located{h: h, src: cs, dst: cd}, true
}

// plausible reports whether the perspective fit hp is a sane view of the
// symbol that the affine fit h outlines: its corners finite, a convex
// quadrilateral turning the same way, of comparable area (a steep tilt
// seen close up makes the far side much smaller, but not a sliver). A bad
// edge measurement must not throw the grid off.
func plausible(hp, h homography, d float64) bool {
	var q, a [4]pt
	for i, c := range []pt{{0, 0}, {d, 0}, {d, d}, {0, d}} {
		q[i] = hp.apply(c.x, c.y)
		a[i] = h.apply(c.x, c.y)
		if !q[i].finite() {
			return false
		}
	}
	area := func(p [4]pt) float64 {
		s := 0.0
		for i := range 4 {
			s += p[i].cross(p[(i+1)%4])
		}
		return s / 2
	}
	aq, aa := area(q), area(a)
	if aa == 0 || aq/aa < 0.25 || aq/aa > 4 {
		return false
	}
	for i := range 4 {
		turn := q[(i+1)%4].sub(q[i]).cross(q[(i+2)%4].sub(q[(i+1)%4]))
		if turn*aa <= 0 {
			return false
		}
	}
	return true
}

// findAlignment searches around c, the predicted plane position of module
// position m, for the 5×5 alignment pattern and returns its centre in
// plane coordinates; h gives the local module vectors.
//
// The neighbourhood is sampled once on a half-module lattice, the pattern
// matched on it at every lattice offset within radius, and the best match
// refined to an eighth of a module.
func findAlignment(g *plane, h *homography, m, c pt, radius float64, pol polarity, contrast float64) (pt, bool) {
	if !c.finite() {
		return pt{}, false
	}
	hc := h.apply(m.x, m.y)
	bx := h.apply(m.x+1, m.y).sub(hc)
	by := h.apply(m.x, m.y+1).sub(hc)
	if bx.norm() < 0.5 || by.norm() < 0.5 || !bx.finite() || !by.finite() {
		return pt{}, false
	}
	// Patch of half-module samples: index k ↔ offset (k - half)/2 modules.
	r2 := int(math.Ceil(radius * 2))
	half := r2 + 4
	n := 2*half + 1
	var buf [61 * 61]float64
	if n > 61 {
		return pt{}, false
	}
	patch := buf[:n*n]
	for j := range n {
		oy := float64(j-half) / 2
		row := c.add(by.scale(oy))
		for i := range n {
			p := row.add(bx.scale(float64(i-half) / 2))
			v := g.sample(p.x, p.y)
			if pol < 0 {
				v = 255 - v
			}
			patch[j*n+i] = v
		}
	}
	// Score of the pattern centred at lattice index (ci, cj): light ring
	// minus dark centre and outer ring.
	latticeScore := func(ci, cj int) float64 {
		var dark, light float64
		for j := -2; j <= 2; j++ {
			row := patch[(cj+2*j)*n:]
			for i := -2; i <= 2; i++ {
				v := row[ci+2*i]
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
		return light/8 - dark/20
	}
	best, bi, bj := math.Inf(-1), 0, 0
	for oj := -r2; oj <= r2; oj++ {
		for oi := -r2; oi <= r2; oi++ {
			d := math.Hypot(float64(oi), float64(oj)) / 2
			if d > radius+1e-9 {
				continue
			}
			s := latticeScore(half+oi, half+oj) - 0.03*contrast*d
			if s > best {
				best, bi, bj = s, oi, oj
			}
		}
	}
	if best < 0.3*contrast {
		return pt{}, false
	}
	// Refine off the lattice: two rounds of a 3×3 search.
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
		return float64(pol)*(light/8-dark/20) - 0.03*contrast*o.norm()
	}
	bestO := pt{float64(bi) / 2, float64(bj) / 2}
	best = score(bestO)
	for _, st := range []float64{0.25, 0.125} {
		centre := bestO
		for dy := -1.0; dy <= 1; dy++ {
			for dx := -1.0; dx <= 1; dx++ {
				if dx == 0 && dy == 0 {
					continue
				}
				o := centre.add(pt{dx * st, dy * st})
				if sc := score(o); sc > best {
					best, bestO = sc, o
				}
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
// thresholding strategies. A grid whose function patterns do not show
// where they belong (a wrong size, a misplaced alignment pattern, no code
// at all) is given up after sampling those alone.
func (r *reader) readGrid(g *plane, gr grid, pol polarity) (string, error) {
	dim := gr.dim
	sample := func(x, y int) (float64, bool) {
		p := gr.at(float64(x)+0.5, float64(y)+0.5)
		if !p.finite() {
			return 0, false
		}
		v := g.sample(p.x, p.y)
		if pol < 0 {
			v = 255 - v
		}
		return v, true
	}
	reg, ok := registration(dim, sample)
	if !ok || reg < minRegistration {
		if debugf != nil {
			trace("    readgrid skip reg=%.2f", reg)
		}
		return "", errNotRead
	}
	vals, mean, integ := r.scratch(dim)
	for y := range dim {
		for x := range dim {
			v, ok := sample(x, y)
			if !ok {
				return "", errNotRead
			}
			vals[y*dim+x] = v
		}
	}
	localMean(vals, mean, integ, dim)
	global := otsu(vals)
	for k := range 3 {
		bits := r.bits[dim]
		if bits == nil {
			bits, _ = gozxing.NewSquareBitMatrix(dim)
			r.bits[dim] = bits
		}
		bits.Clear()
		for i, v := range vals {
			var thr float64
			switch k {
			case 0: // against the local mean
				thr = mean[i]
			case 1: // one Otsu threshold for the symbol
				thr = global
			default:
				thr = sharpenedAt(vals, mean, dim, i)
			}
			if v < thr {
				bits.Set(i%dim, i/dim)
			}
		}
		res, err := r.dec.Decode(bits, nil)
		if err == nil {
			if debugf != nil {
				trace("    readgrid ok reg=%.2f", reg)
			}
			return res.GetText(), nil
		}
	}
	if debugf != nil {
		trace("    readgrid fail reg=%.2f", reg)
	}
	return "", errNotRead
}

// minRegistration is the share of function-pattern modules a sampled grid
// must read right to be worth decoding (see registration).
const minRegistration = 0.75

// registration samples the function patterns of a dim×dim grid — the
// finder patterns and both timing patterns — and returns the share of
// their modules on the right side of the midpoint between the modules
// that should be dark and those that should be light, counting the best
// two finders only (one may be washed out). A grid on the code scores
// near 1, one off it about a half.
func registration(dim int, sample func(x, y int) (float64, bool)) (float64, bool) {
	type mod struct {
		v    float64
		dark bool
		f    int // finder 0..2, or 3 for the timing patterns
	}
	var ms [3*49 + 2*(177-16)]mod
	n := 0
	var sd, sl float64
	var nd, nl int
	add := func(x, y int, dark bool, f int) bool {
		v, ok := sample(x, y)
		if !ok {
			return false
		}
		ms[n] = mod{v, dark, f}
		n++
		if dark {
			sd += v
			nd++
		} else {
			sl += v
			nl++
		}
		return true
	}
	for k, o := range [3][2]int{{0, 0}, {dim - 7, 0}, {0, dim - 7}} {
		for y := range 7 {
			for x := range 7 {
				// Dark centre 3×3 and outer ring, light ring between.
				if !add(o[0]+x, o[1]+y, max(abs(x-3), abs(y-3)) != 2, k) {
					return 0, false
				}
			}
		}
	}
	for i := 8; i < dim-8; i++ {
		if !add(i, 6, i%2 == 0, 3) || !add(6, i, i%2 == 0, 3) {
			return 0, false
		}
	}
	if nd == 0 || nl == 0 {
		return 0, false
	}
	thr := (sd/float64(nd) + sl/float64(nl)) / 2
	var right [4]int
	for _, m := range ms[:n] {
		if (m.v < thr) == m.dark {
			right[m.f]++
		}
	}
	worst := min(right[0], right[1], right[2])
	match := right[0] + right[1] + right[2] - worst + right[3]
	return float64(match) / float64(n-49), true
}

// localMean sets mean to the mean of the 9×9 modules around each module
// (fewer at the edges), using integ as scratch for the integral image.
func localMean(vals, mean, integ []float64, dim int) {
	const rad = 4
	w := dim + 1
	for x := range w {
		integ[x] = 0
	}
	for y := range dim {
		row := 0.0
		integ[(y+1)*w] = 0
		for x := range dim {
			row += vals[y*dim+x]
			integ[(y+1)*w+x+1] = integ[y*w+x+1] + row
		}
	}
	for y := range dim {
		y0, y1 := max(0, y-rad), min(dim, y+rad+1)
		for x := range dim {
			x0, x1 := max(0, x-rad), min(dim, x+rad+1)
			s := integ[y1*w+x1] - integ[y0*w+x1] - integ[y1*w+x0] + integ[y0*w+x0]
			mean[y*dim+x] = s / float64((y1-y0)*(x1-x0))
		}
	}
}

// sharpenedAt is the threshold on module i that undoes some inter-module
// blur: the module against its local mean after subtracting 0.6 of its
// excess over its four neighbours (a 3×3 unsharp mask on the module grid).
func sharpenedAt(vals, mean []float64, dim, i int) float64 {
	x, y := i%dim, i/dim
	n, c := 0.0, 0.0
	if x > 0 {
		n += vals[i-1]
		c++
	}
	if x < dim-1 {
		n += vals[i+1]
		c++
	}
	if y > 0 {
		n += vals[i-dim]
		c++
	}
	if y < dim-1 {
		n += vals[i+dim]
		c++
	}
	v := vals[i]
	// v < thr ⇔ v + 0.6(v - n/c) < mean.
	return mean[i] - 0.6*(v-n/c)
}
