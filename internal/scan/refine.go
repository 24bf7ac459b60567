package scan

import "math"

// crossings returns the distances from c along the unit vector d to the
// first three crossings of the threshold thr, looking no further than
// maxDist; values are polarity-corrected (dark is low).
func crossings(g *plane, c, d pt, thr, maxDist float64, pol polarity) ([3]float64, bool) {
	const step = 0.25
	var out [3]float64
	val := func(t float64) float64 {
		v := g.sample(c.x+d.x*t, c.y+d.y*t)
		if pol < 0 {
			v = 255 - v
		}
		return v
	}
	prev := val(0)
	prevDark := prev < thr
	n := 0
	for t := step; t <= maxDist; t += step {
		v := val(t)
		if dark := v < thr; dark != prevDark {
			out[n] = t - step + step*(thr-prev)/(v-prev)
			n++
			if n == 3 {
				return out, true
			}
			prevDark = dark
		}
		prev = v
	}
	return out, false
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

// refineFinder measures a finder along its own axes ex and ey (unit
// vectors, pointing along the code's x and y): its width is 7 modules
// between the outer edges of the dark ring. The centre moves to the middle
// of those edges; the edges are where the rays cross them, so a finder
// foreshortened by a steep tilt keeps its shape.
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
	for _, d := range []pt{{0.5, 0}, {-0.5, 0}, {0, 0.5}, {0, -0.5}} {
		dark = math.Min(dark, v(f.p.add(d.scale(f.ms))))
	}
	// ray measures the distance from c along d to the finder's outer edge,
	// with a threshold midway between the centre and the brightest point of
	// the light ring on that ray. The three crossings on the way lie at
	// 1.5, 2.5 and 3.5 modules, the dark runs thinned (overexposure) or
	// thickened (blur) by the same δ at each: c1 + 2·c2 + c3 is 10 modules
	// whatever δ, and the edge 3.5 modules out.
	ray := func(c, d pt) (float64, bool) {
		light := 0.0
		for t := 0.8 * f.ms; t <= 3.2*f.ms; t += 0.5 {
			light = math.Max(light, v(c.add(d.scale(t))))
		}
		if light-dark < 6 {
			return 0, false
		}
		cs, ok := crossings(g, c, d, (light+dark)/2, 6*f.ms, pol)
		if !ok {
			return 0, false
		}
		return 0.35 * (cs[0] + 2*cs[1] + cs[2]), true
	}
	c := f.p
	var ms [2]float64
	var edges [4]pt
	for i, ax := range []pt{ex, ey} {
		a, ok1 := ray(c, ax)
		b, ok2 := ray(c, ax.scale(-1))
		if !ok1 || !ok2 {
			return fail
		}
		ms[i] = (a + b) / 7
		edges[2*i] = c.add(ax.scale(a))
		edges[2*i+1] = c.sub(ax.scale(b))
		c = c.add(ax.scale((a - b) / 2))
	}
	if ms[0] < 0.35*f.ms || ms[0] > 1.8*f.ms || ms[1] < 0.35*f.ms || ms[1] > 1.8*f.ms || ms[0] > 2.5*ms[1] || ms[1] > 2.5*ms[0] {
		return fail
	}
	// The x edges were measured before the centre moved along y.
	dy := c.sub(f.p).dot(ey)
	edges[0] = edges[0].add(ey.scale(dy))
	edges[1] = edges[1].add(ey.scale(dy))
	return finderFit{c: c, msx: ms[0], msy: ms[1], ok: true, edges: edges}
}

// refineTriple re-measures the three finders along their own axes (see
// finderAxes; the code's axes when a finder's edges are unclear), which
// corrects the module size of rotated and foreshortened finders and
// centres them to sub-pixel precision.
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
		fx, fy := ex, ey
		if a1, a2, ok := finderAxes(g, *f); ok {
			fx, fy = axisToward(a1, a2, ex), axisToward(a1, a2, ey)
			if math.Abs(fx.dot(fy)) > 0.7 || fx.dot(ex) < 0.7 || fy.dot(ey) < 0.7 {
				fx, fy = ex, ey
			}
		}
		fits[i] = refineFinder(g, *f, fx, fy, pol)
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
	var buf [2048]float64
	vals := buf[:0]
	if n+1 <= len(buf) {
		vals = buf[:n+1]
	} else {
		vals = make([]float64, n+1)
	}
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

// finderAxes measures the directions of a finder pattern's sides from the
// gradients of its edges (a histogram of gradient directions over the
// pattern, modulo 180°, whose two peaks are the sides' normals): two unit
// vectors along the sides, the code's module axes there up to sign, each
// to a degree or so, whatever the perspective (under a steep tilt the
// sides are not perpendicular, and a side's direction is not the other
// side's normal). ok is false when the pattern shows no two clear edge
// directions.
func finderAxes(g *plane, f finder) (pt, pt, bool) {
	const bins = 180
	var hist [bins]float64
	r := 4.5 * f.ms
	step := max(1.0, f.ms/3)
	for y := f.p.y - r; y <= f.p.y+r; y += step {
		for x := f.p.x - r; x <= f.p.x+r; x += step {
			gx := g.sample(x+1, y) - g.sample(x-1, y)
			gy := g.sample(x, y+1) - g.sample(x, y-1)
			m := math.Hypot(gx, gy)
			if m < 8 {
				continue
			}
			a := math.Atan2(gy, gx)
			if a < 0 {
				a += math.Pi
			}
			b := int(a/math.Pi*bins) % bins
			hist[b] += m
		}
	}
	// Smooth over ±3° (circularly).
	var sm [bins]float64
	for i := range bins {
		for k := -3; k <= 3; k++ {
			sm[i] += hist[(i+k+bins)%bins] * (4 - math.Abs(float64(k)))
		}
	}
	peak := func(skip int) (float64, float64) {
		best, bi := -1.0, -1
		for i := range bins {
			if skip >= 0 {
				d := abs(i - skip)
				if min(d, bins-d) < 35 {
					continue
				}
			}
			if sm[i] > best {
				best, bi = sm[i], i
			}
		}
		// Parabolic interpolation around the peak bin.
		l, c, rr := sm[(bi+bins-1)%bins], sm[bi], sm[(bi+1)%bins]
		off := 0.0
		if den := l - 2*c + rr; den < 0 {
			off = 0.5 * (l - rr) / den
		}
		return (float64(bi) + 0.5 + off) * math.Pi / bins, best
	}
	a1, w1 := peak(-1)
	a2, w2 := peak(int(a1 / math.Pi * bins))
	if w1 <= 0 || w2 < 0.3*w1 {
		return pt{}, pt{}, false
	}
	// Along the sides: the normals turned by 90°.
	return pt{-math.Sin(a1), math.Cos(a1)}, pt{-math.Sin(a2), math.Cos(a2)}, true
}

// axisToward returns whichever of ±a1, ±a2 points most nearly along d.
func axisToward(a1, a2, d pt) pt {
	best, bd := a1, -2.0
	for _, a := range []pt{a1, a1.scale(-1), a2, a2.scale(-1)} {
		if c := a.dot(d) / d.norm(); c > bd {
			best, bd = a, c
		}
	}
	return best
}

// intersect returns the intersection of the lines p + s·u and q + t·v; ok
// is false when they are nearly parallel.
func intersect(p, u, q, v pt) (pt, bool) {
	den := u.cross(v)
	if math.Abs(den) < 0.3*u.norm()*v.norm() {
		return pt{}, false
	}
	s := q.sub(p).cross(v) / den
	return p.add(u.scale(s)), true
}
