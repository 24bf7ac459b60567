package scan

import "math"

// grid is a located symbol: the map from module coordinates to the
// sampling plane, and the symbol size. The map is a homography, plus, for
// a symbol on a curved surface or seen through a distorting lens, a smooth
// correction fitted to the control points the homography misses (warp).
type grid struct {
	h   homography
	dim int
	w   *warp // nil: the homography alone
}

// at maps module coordinates (u, v) to the plane.
func (g grid) at(u, v float64) pt {
	p := g.h.apply(u, v)
	if g.w != nil {
		p = p.add(g.w.at(u, v))
	}
	return p
}

// corners returns the four outer corners of the symbol in plane coordinates.
func (g grid) corners() [4]pt {
	d := float64(g.dim)
	return [4]pt{g.at(0, 0), g.at(d, 0), g.at(d, d), g.at(0, d)}
}

// warp is a smooth displacement field over the symbol, in pixels: a
// thin-plate spline through the residuals of the control points, tabulated
// on a lattice every few modules and interpolated bilinearly between.
type warp struct {
	n    int     // lattice points per side
	step float64 // lattice spacing, modules
	off  []pt    // n×n displacements, row-major
}

// at returns the displacement at module coordinates (u, v); outside the
// lattice the nearest edge value holds.
func (w *warp) at(u, v float64) pt {
	fu := math.Max(0, math.Min(float64(w.n-1)-1e-9, u/w.step))
	fv := math.Max(0, math.Min(float64(w.n-1)-1e-9, v/w.step))
	i, j := int(fu), int(fv)
	a, b := fu-float64(i), fv-float64(j)
	p00, p10 := w.off[j*w.n+i], w.off[j*w.n+i+1]
	p01, p11 := w.off[(j+1)*w.n+i], w.off[(j+1)*w.n+i+1]
	return pt{
		(p00.x*(1-a)+p10.x*a)*(1-b) + (p01.x*(1-a)+p11.x*a)*b,
		(p00.y*(1-a)+p10.y*a)*(1-b) + (p01.y*(1-a)+p11.y*a)*b,
	}
}

// warpSmoothing is the thin-plate spline's regularisation (in units of
// the kernel over coordinates normalised by the symbol size): it lets the
// spline pass within measurement noise of the control points rather than
// through them.
const warpSmoothing = 0.002

// spline is a thin-plate spline through the residuals of control points
// (module coordinates → plane offsets), with the coordinates normalised by
// the symbol size.
type spline struct {
	q      []pt      // normalised control points
	wx, wy []float64 // kernel weights, then the affine part (1, x, y)
	d      float64   // symbol size
}

func tpsKernel(a, b pt) float64 {
	r2 := (a.x-b.x)*(a.x-b.x) + (a.y-b.y)*(a.y-b.y)
	if r2 < 1e-12 {
		return 0
	}
	return 0.5 * r2 * math.Log(r2)
}

// newSpline fits the spline to the residuals dst[i] - h(src[i]) of a
// symbol of d modules; ok is false with fewer than three points or a
// degenerate system. scratch, when not nil, holds the buffers reused from
// one fit to the next (the spline returned uses them until the next fit).
func newSpline(h homography, src, dst []pt, d float64, scratch *splineScratch) (*spline, bool) {
	n := len(src)
	if n < 3 {
		return nil, false
	}
	if scratch == nil {
		scratch = &splineScratch{}
	}
	m := n + 3
	scratch.grow(n, m)
	sp := &scratch.sp
	*sp = spline{q: scratch.q[:n], d: d}
	for i, s := range src {
		sp.q[i] = s.scale(1 / d)
	}
	a := scratch.a[:m*m]
	bx := scratch.bx[:m]
	by := scratch.by[:m]
	clear(a)
	clear(bx)
	clear(by)
	for i := range n {
		for j := range n {
			a[i*m+j] = tpsKernel(sp.q[i], sp.q[j])
		}
		a[i*m+i] += warpSmoothing * float64(n)
		a[i*m+n], a[i*m+n+1], a[i*m+n+2] = 1, sp.q[i].x, sp.q[i].y
		a[n*m+i], a[(n+1)*m+i], a[(n+2)*m+i] = 1, sp.q[i].x, sp.q[i].y
		res := dst[i].sub(h.apply(src[i].x, src[i].y))
		bx[i], by[i] = res.x, res.y
	}
	if !solveN(a, m, bx, by) {
		return nil, false
	}
	sp.wx, sp.wy = bx, by
	return sp, true
}

// splineScratch holds the buffers of spline fits.
type splineScratch struct {
	sp        spline
	q         []pt
	a, bx, by []float64
}

func (s *splineScratch) grow(n, m int) {
	if cap(s.q) < n {
		s.q = make([]pt, n, 2*n)
	}
	if cap(s.a) < m*m {
		s.a = make([]float64, m*m, 4*m*m)
		s.bx = make([]float64, m, 2*m)
		s.by = make([]float64, m, 2*m)
	}
}

// at returns the spline's offset at module coordinates m.
func (sp *spline) at(m pt) pt {
	p := m.scale(1 / sp.d)
	n := len(sp.q)
	x := sp.wx[n] + sp.wx[n+1]*p.x + sp.wx[n+2]*p.y
	y := sp.wy[n] + sp.wy[n+1]*p.x + sp.wy[n+2]*p.y
	for k, q := range sp.q {
		u := tpsKernel(p, q)
		x += sp.wx[k] * u
		y += sp.wy[k] * u
	}
	return pt{x, y}
}

// fitWarp fits a thin-plate spline to the residuals dst[i] - h(src[i]) of
// the control points (module → plane coordinates) of a dim×dim symbol and
// tabulates it. It also returns the largest residual in modules (local
// module size); ok is false when the system is degenerate.
func fitWarp(h homography, src, dst []pt, dim int) (*warp, float64, bool) {
	worst := 0.0
	for i := range src {
		q := h.apply(src[i].x, src[i].y)
		if unit := h.apply(src[i].x+1, src[i].y).dist(q); unit > 0 {
			worst = math.Max(worst, dst[i].sub(q).norm()/unit)
		}
	}
	d := float64(dim)
	sp, ok := newSpline(h, src, dst, d, nil)
	if !ok || len(src) < 4 {
		return nil, worst, false
	}
	// Tabulate every 3 modules or so.
	cells := max(2, int(math.Ceil(d/3)))
	w := &warp{n: cells + 1, step: d / float64(cells)}
	w.off = make([]pt, w.n*w.n)
	for j := range w.n {
		for i := range w.n {
			w.off[j*w.n+i] = sp.at(pt{float64(i) * w.step, float64(j) * w.step})
		}
	}
	return w, worst, true
}

// solveN solves a·x = b for two right-hand sides in place (a is m×m,
// row-major) by Gaussian elimination with partial pivoting; the solutions
// replace b1 and b2.
func solveN(a []float64, m int, b1, b2 []float64) bool {
	for col := range m {
		piv := col
		for r := col + 1; r < m; r++ {
			if math.Abs(a[r*m+col]) > math.Abs(a[piv*m+col]) {
				piv = r
			}
		}
		if math.Abs(a[piv*m+col]) < 1e-12 {
			return false
		}
		if piv != col {
			for c := range m {
				a[col*m+c], a[piv*m+c] = a[piv*m+c], a[col*m+c]
			}
			b1[col], b1[piv] = b1[piv], b1[col]
			b2[col], b2[piv] = b2[piv], b2[col]
		}
		inv := 1 / a[col*m+col]
		for r := col + 1; r < m; r++ {
			f := a[r*m+col] * inv
			if f == 0 {
				continue
			}
			for c := col; c < m; c++ {
				a[r*m+c] -= f * a[col*m+c]
			}
			b1[r] -= f * b1[col]
			b2[r] -= f * b2[col]
		}
	}
	for r := m - 1; r >= 0; r-- {
		s1, s2 := b1[r], b2[r]
		for c := r + 1; c < m; c++ {
			s1 -= a[r*m+c] * b1[c]
			s2 -= a[r*m+c] * b2[c]
		}
		b1[r], b2[r] = s1/a[r*m+r], s2/a[r*m+r]
	}
	return true
}
