package scan

import "github.com/makiuchi-d/gozxing/qrcode/decoder"

// versionFromInfo reads the version information blocks (versions 7 and
// up) beside the top-right and bottom-left finders, each in the local frame
// of its own finder, so that neither the perspective nor a bent surface
// across the symbol matters. It returns the symbol size, or 0 when neither
// block reads (a smaller symbol, or an unreadable block), and whether the
// block read with at most one bit error (sure enough to try no other
// size). est is the size
// the finder distances suggest: a block read with errors must agree with
// it (random modules are within 3 bit errors of some version one time in
// eight).
//
// A mirrored code comes here transposed (see orient), and the block beside
// each finder then reads in the same bit order, so one read covers both.
func versionFromInfo(g *plane, fits [3]finderFit, est float64, pol polarity) (int, bool) {
	for _, k := range []int{1, 2} {
		f := fits[k]
		if !f.ok {
			continue
		}
		// Local module vectors from the finder's own edges.
		ex := f.edges[0].sub(f.edges[1]).scale(1.0 / 7)
		ey := f.edges[2].sub(f.edges[3]).scale(1.0 / 7)
		dark := g.sample(f.c.x, f.c.y)
		light := 0.0
		for _, o := range []pt{ex, ex.scale(-1), ey, ey.scale(-1)} {
			p := f.c.add(o.scale(2))
			light += g.sample(p.x, p.y)
		}
		light /= 4
		if float64(pol)*(light-dark) < 10 {
			continue
		}
		thr := (light + dark) / 2
		bits := 0
		at := func(dx, dy float64) bool {
			p := f.c.add(ex.scale(dx)).add(ey.scale(dy))
			v := g.sample(p.x, p.y)
			return float64(pol)*(v-thr) < 0
		}
		// Top right (k = 1): 6 rows × 3 columns left of the finder, read
		// row 5 to 0, column dim-9 to dim-11: offsets y +2…-3, x -5…-7 from
		// the centre. Bottom left (k = 2) is the transpose: the same offsets
		// with the axes swapped.
		for j := 2; j >= -3; j-- {
			for i := -5; i >= -7; i-- {
				var b bool
				if k == 1 {
					b = at(float64(i), float64(j))
				} else {
					b = at(float64(j), float64(i))
				}
				bits <<= 1
				if b {
					bits |= 1
				}
			}
		}
		best, diff := 0, 99
		for i, code := range decoder.VERSION_DECODE_INFO {
			if d := decoder.FormatInformation_NumBitsDiffering(uint(bits), uint(code)); d < diff {
				best, diff = i+7, d
			}
		}
		dim := 17 + 4*best
		trace("    version info beside finder %d: v%d (%d bits off; estimate %.1f modules)", k, best, diff, est)
		if diff == 0 || (diff <= 3 && float64(dim) > est*0.8-4 && float64(dim) < est*1.25+4) {
			return dim, diff <= 1
		}
	}
	return 0, false
}
