package scan

import "math"

// pt is a point in pixel or module coordinates.
type pt struct{ x, y float64 }

func (a pt) sub(b pt) pt        { return pt{a.x - b.x, a.y - b.y} }
func (a pt) add(b pt) pt        { return pt{a.x + b.x, a.y + b.y} }
func (a pt) scale(f float64) pt { return pt{a.x * f, a.y * f} }
func (a pt) dist(b pt) float64  { return math.Hypot(a.x-b.x, a.y-b.y) }
func (a pt) cross(b pt) float64 { return a.x*b.y - a.y*b.x }
func (a pt) norm() float64      { return math.Hypot(a.x, a.y) }
func (a pt) dot(b pt) float64   { return a.x*b.x + a.y*b.y }
func (a pt) finite() bool       { return !math.IsNaN(a.x+a.y) && !math.IsInf(a.x+a.y, 0) }
func (a pt) within(w, h int) bool {
	return a.x >= 0 && a.y >= 0 && a.x < float64(w) && a.y < float64(h)
}

// homography maps module coordinates (u, v) to image coordinates.
type homography [9]float64

// apply maps p; the result is not finite for points on the horizon.
func (h *homography) apply(u, v float64) pt {
	w := h[6]*u + h[7]*v + h[8]
	return pt{(h[0]*u + h[1]*v + h[2]) / w, (h[3]*u + h[4]*v + h[5]) / w}
}

// fitHomography returns the least-squares homography mapping src[i] to
// dst[i] (at least 4 pairs; exact for 4), with h[8] fixed to 1. ok is false
// for degenerate input.
func fitHomography(src, dst []pt) (homography, bool) {
	n := len(src)
	if n < 4 || len(dst) != n {
		return homography{}, false
	}
	// Normalise both point sets for conditioning.
	ts := normaliser(src)
	td := normaliser(dst)
	ns := func(p pt) pt { return pt{ts[0]*p.x + ts[1], ts[0]*p.y + ts[2]} }
	nd := func(p pt) pt { return pt{td[0]*p.x + td[1], td[0]*p.y + td[2]} }
	var ata [8][8]float64
	var atb [8]float64
	add := func(row [8]float64, b float64) {
		for i := range 8 {
			if row[i] == 0 {
				continue
			}
			for j := range 8 {
				ata[i][j] += row[i] * row[j]
			}
			atb[i] += row[i] * b
		}
	}
	for i := range n {
		s := ns(src[i])
		d := nd(dst[i])
		add([8]float64{s.x, s.y, 1, 0, 0, 0, -s.x * d.x, -s.y * d.x}, d.x)
		add([8]float64{0, 0, 0, s.x, s.y, 1, -s.x * d.y, -s.y * d.y}, d.y)
	}
	x, ok := solve8(ata, atb)
	if !ok {
		return homography{}, false
	}
	hn := [9]float64{x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], 1}
	// h = Td^-1 · hn · Ts
	tdInv := [9]float64{1 / td[0], 0, -td[1] / td[0], 0, 1 / td[0], -td[2] / td[0], 0, 0, 1}
	tsM := [9]float64{ts[0], 0, ts[1], 0, ts[0], ts[2], 0, 0, 1}
	h := mul3(tdInv, mul3(hn, tsM))
	if h[8] == 0 || math.IsNaN(h[8]) {
		return homography{}, false
	}
	for i := range h {
		h[i] /= h[8]
	}
	return homography(h), true
}

// normaliser returns the parameters (scale, tx, ty) of the map p' = s·p + t
// centring pts and scaling their mean distance to √2.
func normaliser(pts []pt) [3]float64 {
	var c pt
	for _, p := range pts {
		c = c.add(p)
	}
	c = c.scale(1 / float64(len(pts)))
	d := 0.0
	for _, p := range pts {
		d += p.dist(c)
	}
	d /= float64(len(pts))
	s := 1.0
	if d > 0 {
		s = math.Sqrt2 / d
	}
	return [3]float64{s, -s * c.x, -s * c.y}
}

func mul3(a, b [9]float64) [9]float64 {
	var c [9]float64
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				c[3*i+j] += a[3*i+k] * b[3*k+j]
			}
		}
	}
	return c
}

// solve8 solves a·x = b by Gaussian elimination with partial pivoting.
func solve8(a [8][8]float64, b [8]float64) ([8]float64, bool) {
	const n = 8
	for col := range n {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-12 {
			return [8]float64{}, false
		}
		a[col], a[piv] = a[piv], a[col]
		b[col], b[piv] = b[piv], b[col]
		for r := col + 1; r < n; r++ {
			f := a[r][col] / a[col][col]
			if f == 0 {
				continue
			}
			for c := col; c < n; c++ {
				a[r][c] -= f * a[col][c]
			}
			b[r] -= f * b[col]
		}
	}
	var x [8]float64
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < n; c++ {
			s -= a[r][c] * x[c]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}
