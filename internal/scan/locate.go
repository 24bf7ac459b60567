package scan

import (
	"cmp"
	"math"
	"slices"
)

// finder is a candidate finder-pattern centre.
type finder struct {
	p     pt      // centre in the coordinates of the plane it was found in
	ms    float64 // estimated module size, pixels
	count int     // how many scan lines confirmed it
	// virtual: predicted from two seen finders (pairTriples), not seen.
	virtual bool
}

// findFinders scans every skip-th row of b (XOR flip) for the 1:1:3:1:1
// runs of a finder pattern, confirms each hit along its column, its row
// and a diagonal, and returns the confirmed centres, hits on the same
// finder merged (no early exit, so every code in the frame is seen). The
// confirmations tolerate foreshortening (a finder twice as tall as wide,
// or half) so that steeply tilted codes are found.
func findFinders(b *bitmap, flip byte, skip int) []finder {
	fs := finderScan{b: b, flip: flip}
	w := b.w
	for y := skip - 1; y < b.h; y += skip {
		row := b.pix[y*w : (y+1)*w]
		var st [5]int
		cur := 0
		for x, v := range row {
			if v^flip == 1 {
				if cur&1 == 1 {
					cur++
				}
				st[cur]++
				continue
			}
			if cur&1 == 1 {
				st[cur]++
				continue
			}
			if cur != 4 {
				cur++
				st[cur]++
				continue
			}
			if crossRatio(st, 2) && fs.handle(st, x, y) {
				cur = 0
				st = [5]int{}
			} else {
				st = [5]int{st[2], st[3], st[4], 1, 0}
				cur = 3
			}
		}
		if crossRatio(st, 2) {
			fs.handle(st, w, y)
		}
	}
	return fs.cands
}

// finderScan is the state of one findFinders pass.
type finderScan struct {
	b     *bitmap
	flip  byte
	cands []finder
}

// crossRatio reports whether run lengths st look like 1:1:3:1:1, each
// within ms/tol of its share (tol 2 along rows and columns, 1.333 along a
// diagonal, as zxing).
func crossRatio(st [5]int, tol float64) bool {
	total := 0
	for _, c := range st {
		if c == 0 {
			return false
		}
		total += c
	}
	if total < 7 {
		return false
	}
	ms := float64(total) / 7
	v := ms / tol
	return math.Abs(ms-float64(st[0])) < v && math.Abs(ms-float64(st[1])) < v &&
		math.Abs(3*ms-float64(st[2])) < 3*v && math.Abs(ms-float64(st[3])) < v && math.Abs(ms-float64(st[4])) < v
}

// runs measures the five runs through (x, y) along (dx, dy): dark centre,
// light ring, dark ring on either side. It returns them and the position
// of the centre run's middle along the direction (relative to x or y).
func (fs *finderScan) runs(x, y, dx, dy, maxCount int) ([5]int, float64, bool) {
	var st [5]int
	b, flip := fs.b, fs.flip
	in := func(x, y int) bool { return x >= 0 && y >= 0 && x < b.w && y < b.h }
	dark := func(x, y int) bool { return b.pix[y*b.w+x]^flip == 1 }
	i := 0
	for in(x-i*dx, y-i*dy) && dark(x-i*dx, y-i*dy) {
		st[2]++
		i++
	}
	for in(x-i*dx, y-i*dy) && !dark(x-i*dx, y-i*dy) && st[1] <= maxCount {
		st[1]++
		i++
	}
	for in(x-i*dx, y-i*dy) && dark(x-i*dx, y-i*dy) && st[0] <= maxCount {
		st[0]++
		i++
	}
	if !in(x-i*dx, y-i*dy) || st[1] > maxCount || st[0] > maxCount {
		return st, 0, false
	}
	back := st[2]
	i = 1
	for in(x+i*dx, y+i*dy) && dark(x+i*dx, y+i*dy) {
		st[2]++
		i++
	}
	fwd := st[2] - back
	for in(x+i*dx, y+i*dy) && !dark(x+i*dx, y+i*dy) && st[3] <= maxCount {
		st[3]++
		i++
	}
	for in(x+i*dx, y+i*dy) && dark(x+i*dx, y+i*dy) && st[4] <= maxCount {
		st[4]++
		i++
	}
	if !in(x+i*dx, y+i*dy) || st[3] > maxCount || st[4] > maxCount {
		return st, 0, false
	}
	// The centre run spans [-back+1, fwd] around the start; its middle:
	return st, float64(fwd-back+1) / 2, true
}

// handle confirms the row hit st ending at x (exclusive) on row y and
// records it.
func (fs *finderScan) handle(st [5]int, x, y int) bool {
	total := st[0] + st[1] + st[2] + st[3] + st[4]
	cx := float64(x-st[4]-st[3]) - float64(st[2])/2
	limit := 2*st[2] + 2
	vs, dy, ok := fs.runs(int(cx), y, 0, 1, limit)
	tv := vs[0] + vs[1] + vs[2] + vs[3] + vs[4]
	if !ok || !crossRatio(vs, 2) || 20*tv < 7*total || 5*tv > 14*total {
		return false
	}
	cy := float64(y) + dy + 0.5
	hs, dx, ok := fs.runs(int(cx), int(cy), 1, 0, limit)
	th := hs[0] + hs[1] + hs[2] + hs[3] + hs[4]
	if !ok || !crossRatio(hs, 2) || 5*abs(th-total) > 2*total {
		return false
	}
	cx = float64(int(cx)) + dx + 0.5
	ds, _, ok1 := fs.runs(int(cx), int(cy), 1, 1, limit*2)
	if !ok1 || !crossRatio(ds, 1.333) {
		ds, _, ok1 = fs.runs(int(cx), int(cy), 1, -1, limit*2)
		if !ok1 || !crossRatio(ds, 1.333) {
			return false
		}
	}
	ms := math.Sqrt(float64(th)*float64(tv)) / 7
	for i := range fs.cands {
		c := &fs.cands[i]
		if math.Abs(c.p.x-cx) <= 1.5*c.ms && math.Abs(c.p.y-cy) <= 1.5*c.ms && ms < 1.6*c.ms && c.ms < 1.6*ms {
			n := float64(c.count)
			c.p = pt{(c.p.x*n + cx) / (n + 1), (c.p.y*n + cy) / (n + 1)}
			c.ms = (c.ms*n + ms) / (n + 1)
			c.count++
			return true
		}
	}
	fs.cands = append(fs.cands, finder{p: pt{cx, cy}, ms: ms, count: 1})
	return true
}

// triple is three finders in code orientation.
type triple struct {
	tl, tr, bl finder
	score      float64 // lower is more plausible
}

func (t triple) ms() float64 { return (t.tl.ms + t.tr.ms + t.bl.ms) / 3 }

// triples forms plausible (top-left, top-right, bottom-left) triples from
// the candidates, most plausible first, at most limit of them.
func triples(cands []finder, limit int) []triple {
	// Keep the best-confirmed candidates only, to bound the combinations.
	slices.SortStableFunc(cands, func(a, b finder) int { return cmp.Compare(b.count, a.count) })
	if len(cands) > 12 {
		cands = cands[:12]
	}
	var out []triple
	n := len(cands)
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			for c := b + 1; c < n; c++ {
				if t, ok := orient(cands[a], cands[b], cands[c]); ok {
					out = append(out, t)
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b triple) int { return cmp.Compare(a.score, b.score) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// orient orders three finders as a code would have them and scores the
// shape: equal module sizes, equal legs, a right angle at top-left.
func orient(a, b, c finder) (triple, bool) {
	ms := []float64{a.ms, b.ms, c.ms}
	lo, hi := math.Min(ms[0], math.Min(ms[1], ms[2])), math.Max(ms[0], math.Max(ms[1], ms[2]))
	// Steep tilt close up (keystone) makes the nearest finder twice the
	// size of the farthest, or three times.
	if hi > 3.2*lo {
		return triple{}, false
	}
	// The top-left is opposite the longest side.
	dab, dac, dbc := a.p.dist(b.p), a.p.dist(c.p), b.p.dist(c.p)
	var tl, p, q finder
	switch {
	case dbc >= dab && dbc >= dac:
		tl, p, q = a, b, c
	case dac >= dab && dac >= dbc:
		tl, p, q = b, a, c
	default:
		tl, p, q = c, a, b
	}
	// As zxing's ResultPoint_OrderBestPatterns: with y pointing down,
	// cross(tr - tl, bl - tl) ≥ 0 for an unmirrored code.
	bl, tr := p, q
	if tr.p.sub(tl.p).cross(bl.p.sub(tl.p)) < 0 {
		bl, tr = tr, bl
	}
	l1, l2 := tl.p.dist(tr.p), tl.p.dist(bl.p)
	if l1 < 1 || l2 < 1 {
		return triple{}, false
	}
	mean := (a.ms + b.ms + c.ms) / 3
	// At least a version-1 code (14 modules between centres) and at most 177.
	if l1 < 10*mean || l2 < 10*mean || l1 > 190*mean || l2 > 190*mean {
		return triple{}, false
	}
	ratio := l1 / l2
	if ratio < 1/2.2 || ratio > 2.2 {
		return triple{}, false
	}
	cosA := tr.p.sub(tl.p).dot(bl.p.sub(tl.p)) / (l1 * l2)
	if math.Abs(cosA) > 0.75 {
		return triple{}, false
	}
	// Both legs span the same number of modules: equal legs, or, under a
	// steep tilt where the far finders and the legs towards them shrink
	// together, equal legs each measured in the module sizes of its own
	// two finders (whichever fits better: finder sizes measured on a
	// blurred frame are rough). Unequal finder sizes still cost a little,
	// as a code seen square on has none.
	mods := (l1 / (tl.ms + tr.ms)) / (l2 / (tl.ms + bl.ms))
	legs := min(math.Abs(math.Log(ratio)), math.Abs(math.Log(mods)))
	score := legs + math.Abs(cosA) + 0.5*math.Log(hi/lo)
	score -= 0.02 * float64(min(a.count, 10)+min(b.count, 10)+min(c.count, 10))
	return triple{tl: tl, tr: tr, bl: bl, score: score}, true
}

// scaled returns the triple with coordinates and module sizes multiplied by f.
func (t triple) scaled(f float64) triple {
	s := func(x finder) finder {
		return finder{p: x.p.scale(f), ms: x.ms * f, count: x.count, virtual: x.virtual}
	}
	return triple{tl: s(t.tl), tr: s(t.tr), bl: s(t.bl), score: t.score}
}

// shifted returns the triple moved by d.
func (t triple) shifted(d pt) triple {
	s := func(x finder) finder { return finder{p: x.p.add(d), ms: x.ms, count: x.count, virtual: x.virtual} }
	return triple{tl: s(t.tl), tr: s(t.tr), bl: s(t.bl), score: t.score}
}

// pairTriples covers a code with one finder pattern not seen (washed out
// by a lamp's reflection, covered by a thumb): for two finders of equal
// size it predicts where the third lies and returns the triples so formed,
// the predicted finder marked virtual, most plausible first, at most limit.
//
// Two finders on one side of the code (top-left and top-right, or
// top-left and bottom-left) have the timing pattern between them on the
// code's side, which tells the side; the third finder then lies one side's
// length away along the seen finder's own axis, beyond one or the other.
// Two finders on the diagonal (top right and bottom left) put the third at
// the right angle, where the code's edges through them meet: each seen
// finder's sides give the direction of its edge (finderAxes), which holds
// under perspective.
func pairTriples(g *plane, cands []finder, pol polarity, limit int) []triple {
	cs := append([]finder(nil), cands...)
	slices.SortStableFunc(cs, func(a, b finder) int { return cmp.Compare(b.count, a.count) })
	if len(cs) > 8 {
		cs = cs[:8]
	}
	type axes struct {
		a1, a2 pt
		ok     bool
	}
	ax := make([]axes, len(cs))
	for i, c := range cs {
		ax[i].a1, ax[i].a2, ax[i].ok = finderAxes(g, c)
	}
	type hyp struct {
		t     triple
		score float64
	}
	var hs []hyp
	add := func(a, b finder, c pt, score float64) {
		if !c.within(g.w, g.h) {
			return
		}
		v := finder{p: c, ms: (a.ms + b.ms) / 2, virtual: true}
		t, ok := orient(a, b, v)
		if !ok {
			return
		}
		score -= 0.03 * float64(min(a.count, 10)+min(b.count, 10))
		hs = append(hs, hyp{t, score + t.score})
	}
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			a, b := cs[i], cs[j]
			lo, hi := math.Min(a.ms, b.ms), math.Max(a.ms, b.ms)
			if hi > 1.6*lo || !ax[i].ok || !ax[j].ok {
				continue
			}
			ms := (a.ms + b.ms) / 2
			ab := b.p.sub(a.p)
			l := ab.norm()
			if l < 12*ms || l > 190*ms {
				continue
			}
			n := pt{-ab.y / l, ab.x / l}
			side := false
			for _, s := range []float64{1, -1} {
				ns := n.scale(s)
				dim := timingDim(g, a.p, b.p, ns, a.ms, b.ms, pol)
				// The timing pattern must count about the modules the
				// distance implies.
				if est := l/ms + 7; dim == 0 || math.Abs(float64(dim)-est) > math.Max(6, 0.2*est) {
					continue
				}
				side = true
				ua := axisToward(ax[i].a1, ax[i].a2, ns)
				ub := axisToward(ax[j].a1, ax[j].a2, ns)
				add(a, b, a.p.add(ua.scale(l)), 0)
				add(a, b, b.p.add(ub.scale(l)), 0)
			}
			if side {
				continue
			}
			mid := a.p.add(b.p).scale(0.5)
			for _, s := range []float64{1, -1} {
				guess := mid.add(n.scale(s * l / 2))
				ua := axisToward(ax[i].a1, ax[i].a2, guess.sub(a.p))
				ub := axisToward(ax[j].a1, ax[j].a2, guess.sub(b.p))
				c, ok := intersect(a.p, ua, b.p, ub)
				if !ok || c.dist(guess) > 0.3*l {
					continue
				}
				add(a, b, c, 0.5)
			}
		}
	}
	slices.SortStableFunc(hs, func(a, b hyp) int { return cmp.Compare(a.score, b.score) })
	var out []triple
	for _, h := range hs {
		if len(out) == limit {
			break
		}
		out = append(out, h.t)
	}
	return out
}
