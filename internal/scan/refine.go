package scan

import "math"

// edgeDistance walks from c along the unit vector d and returns the
// distance to the n-th crossing of the threshold thr (dark→light or
// light→dark, counted together), looking no further than maxDist. Values
// are polarity-corrected: dark is low.
func edgeDistance(g *plane, c, d pt, thr float64, n int, maxDist float64, pol polarity) (float64, bool) {
	const step = 0.25
	val := func(t float64) float64 {
		v := g.sample(c.x+d.x*t, c.y+d.y*t)
		if pol < 0 {
			v = 255 - v
		}
		return v
	}
	prev := val(0)
	prevDark := prev < thr
	count := 0
	for t := step; t <= maxDist; t += step {
		v := val(t)
		dark := v < thr
		if dark != prevDark {
			count++
			if count == n {
				// Linear interpolation of the crossing.
				f := (thr - prev) / (v - prev)
				return t - step + step*f, true
			}
			prevDark = dark
		}
		prev = v
	}
	return 0, false
}

// finderFit is a re-measured finder: its centre, the module sizes along
// the code axes, and the midpoints of its four outer edges (at ±3.5
// modules along +x, -x, +y, -y), which carry the local perspective.
type finderFit struct {
	c     pt
	msx   float64
	msy   float64
	edges [4]pt
	ok    bool
	// virtual: the finder was predicted from the other two, not seen.
	virtual bool
}

// refineFinder measures a finder along the code axes ex and ey (unit
// vectors): its width is 7 modules between the outer edges of the dark
// ring. The centre moves to the middle of those edges.
func refineFinder(g *plane, f finder, ex, ey pt, pol polarity) finderFit {
	fail := finderFit{c: f.p, msx: f.ms, msy: f.ms}
	v := func(p pt) float64 {
		x := g.sample(p.x, p.y)
		if pol < 0 {
			x = 255 - x
		}
		return x
	}
	dark := v(f.p)
	light := 0.0
	for _, d := range []pt{ex, ex.scale(-1), ey, ey.scale(-1)} {
		light += v(f.p.add(d.scale(2 * f.ms)))
	}
	light /= 4
	if light-dark < 6 {
		return fail
	}
	thr := (light + dark) / 2
	c := f.p
	var ms [2]float64
	var dist [2][2]float64
	for i, ax := range []pt{ex, ey} {
		a, ok1 := edgeDistance(g, c, ax, thr, 3, 5.5*f.ms, pol)
		b, ok2 := edgeDistance(g, c, ax.scale(-1), thr, 3, 5.5*f.ms, pol)
		if !ok1 || !ok2 {
			return fail
		}
		ms[i] = (a + b) / 7
		dist[i] = [2]float64{a, b}
		c = c.add(ax.scale((a - b) / 2))
	}
	if ms[0] < 0.5*f.ms || ms[0] > 1.5*f.ms || ms[1] < 0.5*f.ms || ms[1] > 1.5*f.ms {
		return fail
	}
	// Edge midpoints measured from the original centre, corrected for the
	// centre's move along the other axis.
	mid := (dist[0][0] + dist[0][1]) / 2
	midY := (dist[1][0] + dist[1][1]) / 2
	return finderFit{
		c: c, msx: ms[0], msy: ms[1], ok: true,
		edges: [4]pt{c.add(ex.scale(mid)), c.sub(ex.scale(mid)), c.add(ey.scale(midY)), c.sub(ey.scale(midY))},
	}
}

// refineTriple re-measures the three finders along the code's own axes,
// which corrects zxing's module size for rotated codes (it measures along
// scan lines) and centres the finders to sub-pixel precision.
func refineTriple(g *plane, t triple, pol polarity) (triple, [3]finderFit) {
	ex := t.tr.p.sub(t.tl.p)
	ey := t.bl.p.sub(t.tl.p)
	ex = ex.scale(1 / ex.norm())
	ey = ey.scale(1 / ey.norm())
	out := t
	var fits [3]finderFit
	for i, f := range []*finder{&out.tl, &out.tr, &out.bl} {
		if f.virtual {
			fits[i] = finderFit{c: f.p, msx: f.ms, msy: f.ms, virtual: true}
			continue
		}
		fits[i] = refineFinder(g, *f, ex, ey, pol)
		if fits[i].ok {
			f.p = fits[i].c
			f.ms = (fits[i].msx + fits[i].msy) / 2
		}
	}
	return out, fits
}

// timingDim counts the alternating modules of the timing pattern between
// finders a and b (row or column 6) and returns the symbol size it implies,
// or 0. off is the unit vector from the finder centres' line towards the
// timing line; msA and msB the module sizes at either end.
func timingDim(g *plane, a, b, off pt, msA, msB float64, pol polarity) int {
	// Row 6 is three modules from the centres' row 3 (centres at 3.5, the
	// timing modules' centres at 6.5).
	p0 := a.add(off.scale(3 * msA))
	p1 := b.add(off.scale(3 * msB))
	length := p1.sub(p0).norm()
	if length < 10 {
		return 0
	}
	d := p1.sub(p0).scale(1 / length)
	n := int(length / 0.5)
	vals := make([]float64, n+1)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range vals {
		t := float64(i) * length / float64(n)
		v := g.sample(p0.x+d.x*t, p0.y+d.y*t)
		if pol < 0 {
			v = 255 - v
		}
		vals[i] = v
	}
	// Ignore the finders' own dark run at either end: start after 3.5
	// modules from each centre.
	i0 := int(3.0 * msA / (length / float64(n)))
	i1 := n - int(3.0*msB/(length/float64(n)))
	if i1-i0 < 8 {
		return 0
	}
	for _, v := range vals[i0:i1] {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi-lo < 10 {
		return 0
	}
	// Count light runs with a local threshold (moving mean over about two
	// modules) so that uneven light does not merge runs.
	win := max(2, int(2*(msA+msB)/2/(length/float64(n))))
	lightRuns := 0
	inLight := false
	for i := i0; i < i1; i++ {
		s, c := 0.0, 0
		for j := max(i0, i-win); j <= min(i1-1, i+win); j++ {
			s += vals[j]
			c++
		}
		thr := s / float64(c)
		isLight := vals[i] > thr+2
		if isLight && !inLight {
			lightRuns++
		}
		if vals[i] < thr-2 {
			inLight = false
		} else if isLight {
			inLight = true
		}
	}
	// Columns 6..dim-7 alternate, dark at both ends, and the window spans
	// columns 6.5..dim-6.5: lightRuns = (dim-13)/2.
	dim := 2*lightRuns + 13
	if dim < 21 || dim > 177 || (dim-17)%4 != 0 {
		return 0
	}
	return dim
}
