package scan

import (
	"context"

	"github.com/makiuchi-d/gozxing"
)

// bitmap is a binarized plane: one byte per pixel, 1 where dark.
type bitmap struct {
	w, h int
	pix  []byte
}

// at reports pixel (x, y) XOR flip (flip 1 reads an inverted image).
func (b *bitmap) at(x, y int, flip byte) byte { return b.pix[y*b.w+x] ^ flip }

// Binarizer kinds.
const (
	binHybrid = "hybrid" // local thresholds over 8×8 blocks, as zxing's HybridBinarizer
	binGlobal = "global" // one Otsu threshold for the frame
)

// binarizeBlock is the block size of the hybrid binarizer, and
// minDynamicRange the block contrast below which a block counts as flat.
const (
	binarizeBlock   = 8
	minDynamicRange = 24
)

// binarize thresholds p with the given kind. It checks ctx every few
// block rows and returns nil when ctx ends first.
func binarize(ctx context.Context, p *plane, kind string) *bitmap {
	b := &bitmap{w: p.w, h: p.h, pix: getBytes(p.w * p.h)}
	if kind == binGlobal || p.w < 5*binarizeBlock || p.h < 5*binarizeBlock {
		hist := [256]int{}
		for _, v := range p.pix {
			hist[v]++
		}
		t := int32(otsuHist(&hist, len(p.pix)))
		dst := b.pix[:len(p.pix)]
		for i, v := range p.pix {
			dst[i] = byte(uint32(int32(v)-t-1) >> 31)
		}
		return b
	}
	// Black point of each block (zxing's HybridBinarizer).
	const bs = binarizeBlock
	subW, subH := (p.w+bs-1)/bs, (p.h+bs-1)/bs
	bp := make([]int, subW*subH)
	for by := range subH {
		if by%16 == 0 && ctx.Err() != nil {
			b.release()
			return nil
		}
		y0 := min(by*bs, p.h-bs)
		for bx := range subW {
			x0 := min(bx*bs, p.w-bs)
			sum, lo, hi := 0, 255, 0
			for y := y0; y < y0+bs; y++ {
				row := p.pix[y*p.w+x0 : y*p.w+x0+bs]
				for _, v := range row {
					iv := int(v)
					sum += iv
					lo = min(lo, iv)
					hi = max(hi, iv)
				}
			}
			avg := sum / (bs * bs)
			if hi-lo <= minDynamicRange {
				// A flat block: assume it is light, unless its neighbours
				// say it lies in a dark area.
				avg = lo / 2
				if by > 0 && bx > 0 {
					nb := (bp[(by-1)*subW+bx] + 2*bp[by*subW+bx-1] + bp[(by-1)*subW+bx-1]) / 4
					if lo < nb {
						avg = nb
					}
				}
			}
			bp[by*subW+bx] = avg
		}
	}
	// Threshold each block at the mean black point of the 5×5 blocks
	// around it.
	for by := range subH {
		if by%16 == 0 && ctx.Err() != nil {
			b.release()
			return nil
		}
		y0 := min(by*bs, p.h-bs)
		top := min(max(by, 2), subH-3)
		for bx := range subW {
			x0 := min(bx*bs, p.w-bs)
			left := min(max(bx, 2), subW-3)
			sum := 0
			for yy := top - 2; yy <= top+2; yy++ {
				row := bp[yy*subW+left-2 : yy*subW+left+3]
				sum += row[0] + row[1] + row[2] + row[3] + row[4]
			}
			t := int32(sum / 25)
			for y := y0; y < y0+bs; y++ {
				src := p.pix[y*p.w+x0 : y*p.w+x0+bs]
				dst := b.pix[y*p.w+x0 : y*p.w+x0+bs]
				dst = dst[:len(src)]
				for i, v := range src {
					// 1 when v ≤ t, without a branch.
					dst[i] = byte(uint32(int32(v)-t-1) >> 31)
				}
			}
		}
	}
	return b
}

// otsuHist returns the threshold maximising the between-class variance of
// a histogram of n values: values ≤ it are the dark class.
func otsuHist(hist *[256]int, n int) int {
	sum := 0.0
	for i, c := range hist {
		sum += float64(i * c)
	}
	sumB, wB := 0.0, 0
	best, bestT := -1.0, 127
	for t := range 256 {
		wB += hist[t]
		if wB == 0 {
			continue
		}
		wF := n - wB
		if wF == 0 {
			break
		}
		sumB += float64(t * hist[t])
		mB := sumB / float64(wB)
		mF := (sum - sumB) / float64(wF)
		between := float64(wB) * float64(wF) * (mB - mF) * (mB - mF)
		if between > best {
			best, bestT = between, t
		}
	}
	return bestT
}

// bitMatrix converts b (XOR flip) to a gozxing bit matrix (tests compare
// with gozxing's own detector).
func (b *bitmap) bitMatrix(flip byte) *gozxing.BitMatrix {
	m, _ := gozxing.NewBitMatrix(b.w, b.h)
	for y := range b.h {
		for x := range b.w {
			if b.at(x, y, flip) == 1 {
				m.Set(x, y)
			}
		}
	}
	return m
}
