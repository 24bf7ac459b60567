package scan

import (
	"math"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// finder is a candidate finder-pattern centre.
type finder struct {
	p     pt      // centre in the coordinates of the plane it was found in
	ms    float64 // estimated module size, pixels
	count int     // how many scan lines confirmed it
	// virtual: predicted from two seen finders (pairTriples), not seen.
	virtual bool
}

// findFinders scans every few rows of bm for the 1:1:3:1:1 run pattern of a
// finder and returns all confirmed candidates (no early exit, so every code
// in the frame is seen).
func findFinders(bm *gozxing.BitMatrix, skip int) []finder {
	f := detector.NewFinderPatternFinder(bm, nil)
	maxI, maxJ := bm.GetHeight(), bm.GetWidth()
	state := make([]int, 5)
	for i := skip - 1; i < maxI; i += skip {
		detector.FinderPatternFinder_doClearCounts(state)
		cur := 0
		for j := 0; j < maxJ; j++ {
			if bm.Get(j, i) {
				if cur&1 == 1 {
					cur++
				}
				state[cur]++
				continue
			}
			if cur&1 == 1 {
				state[cur]++
				continue
			}
			if cur != 4 {
				cur++
				state[cur]++
				continue
			}
			if detector.FinderPatternFinder_foundPatternCross(state) && f.HandlePossibleCenter(state, i, j) {
				cur = 0
				detector.FinderPatternFinder_doClearCounts(state)
			} else {
				detector.FinderPatternFinder_doShiftCounts2(state)
				cur = 3
			}
		}
		if detector.FinderPatternFinder_foundPatternCross(state) {
			f.HandlePossibleCenter(state, i, maxJ)
		}
	}
	var out []finder
	for _, c := range f.GetPossibleCenters() {
		out = append(out, finder{p: pt{c.GetX(), c.GetY()}, ms: c.GetEstimatedModuleSize(), count: c.GetCount()})
	}
	return out
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
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].count > cands[j].count })
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
	sort.SliceStable(out, func(i, j int) bool { return out[i].score < out[j].score })
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
	// size of the farthest.
	if hi > 2.4*lo {
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
	score := math.Abs(math.Log(ratio)) + math.Abs(cosA) + (hi-lo)/mean
	score -= 0.02 * float64(min(a.count, 10)+min(b.count, 10)+min(c.count, 10))
	return triple{tl: tl, tr: tr, bl: bl, score: score}, true
}

// scaled returns the triple with coordinates and module sizes multiplied by f.
func (t triple) scaled(f float64) triple {
	s := func(x finder) finder { return finder{p: x.p.scale(f), ms: x.ms * f, count: x.count, virtual: x.virtual} }
	return triple{tl: s(t.tl), tr: s(t.tr), bl: s(t.bl), score: t.score}
}

// shifted returns the triple moved by d.
func (t triple) shifted(d pt) triple {
	s := func(x finder) finder { return finder{p: x.p.add(d), ms: x.ms, count: x.count, virtual: x.virtual} }
	return triple{tl: s(t.tl), tr: s(t.tr), bl: s(t.bl), score: t.score}
}
