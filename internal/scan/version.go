package scan

import "github.com/makiuchi-d/gozxing/qrcode/decoder"

// versionFromInfo reads the version information blocks (versions 7 and
// up) beside the top-right and bottom-left finders, each in the local frame
// of its own finder, so that neither the perspective nor a bent surface
// across the symbol matters. It returns the symbol size of the better
// block, or 0 when neither reads (a smaller symbol, or an unreadable
// block), and whether it read with at most one bit error (sure enough to
// try no other size). est is the size the finder distances suggest: a
// block read with errors must agree with it (random modules are within 3
// bit errors of some version one time in eight).
//
// A mirrored code comes here transposed (see orient), and the block beside
// each finder then reads in the same bit order, so one read covers both.
func versionFromInfo(g *plane, fits [3]finderFit, est float64, pol polarity) (int, bool) {
	// The better of the two blocks.
	bestDim, bestDiff := 0, 99
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
		// Top right (k = 1): 6 rows × 3 columns left of the finder, read
		// row 5 to 0, column dim-9 to dim-11: offsets y +2…-3, x -5…-7 from
		// the centre. Bottom left (k = 2) is the transpose: the same offsets
		// with the axes swapped. Sampled with the grid nudged by up to a
		// fifth of a module, since the local frame is only that good.
		var vals [18]float64
		best, diff := 0, 99
		for _, jit := range [...]pt{{0, 0}, {0.2, 0}, {-0.2, 0}, {0, 0.2}, {0, -0.2}} {
			n := 0
			for j := 2; j >= -3; j-- {
				for i := -5; i >= -7; i-- {
					dx, dy := float64(i), float64(j)
					if k == 2 {
						dx, dy = dy, dx
					}
					p := f.c.add(ex.scale(dx + jit.x)).add(ey.scale(dy + jit.y))
					vals[n] = float64(pol) * g.sample(p.x, p.y)
					n++
				}
			}
			// Thresholds from midway to near the light level: the dark
			// modules of an overexposed or blurred code read light.
			for _, frac := range [...]float64{0.5, 0.7} {
				thr := float64(pol) * (dark + frac*(light-dark))
				bits := 0
				for _, v := range vals {
					bits <<= 1
					if v < thr {
						bits |= 1
					}
				}
				for i, code := range decoder.VERSION_DECODE_INFO {
					if d := decoder.FormatInformation_NumBitsDiffering(uint(bits), uint(code)); d < diff {
						best, diff = i+7, d
					}
				}
			}
			if diff == 0 {
				break
			}
		}
		dim := 17 + 4*best
		if debugf != nil {
			trace("    version info beside finder %d: v%d (%d bits off; estimate %.1f modules)", k, best, diff, est)
		}
		if diff < bestDiff && (diff == 0 || (diff <= 3 && float64(dim) > est*0.8-4 && float64(dim) < est*1.25+4)) {
			bestDim, bestDiff = dim, diff
		}
		if diff == 0 {
			break
		}
	}
	return bestDim, bestDiff <= 1
}
