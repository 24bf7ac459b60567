package scan

import (
	"cmp"
	"image"
	"slices"
)

// regionBlock is the block size of the texture map, in pixels of the
// binarized plane.
const regionBlock = 8

// codeRegions finds the areas of a binarized plane that look like a QR
// code — blocks crossed by many module edges both along rows and along
// columns, touching each other — and returns their bounding boxes (plane
// coordinates), the most textured first, at most n. It lets a code too
// small for the detection scale be looked at again at full resolution
// without processing the whole frame.
//
// The plane should be binarized without sharpening: the hybrid
// binarizer leaves flat noisy areas light, so only real edges count.
func codeRegions(b *bitmap, n int) []image.Rectangle {
	const bs = regionBlock
	bw, bh := b.w/bs, b.h/bs
	if bw < 3 || bh < 3 {
		return nil
	}
	busy := make([]bool, bw*bh)
	for by := range bh {
		for bx := range bw {
			ht, vt := 0, 0
			for y := by * bs; y < (by+1)*bs; y++ {
				// The block's row and the first pixel of the next block.
				end := min((bx+1)*bs+1, b.w)
				row := b.pix[y*b.w+bx*bs : y*b.w+end]
				for i := 1; i < len(row); i++ {
					if row[i] != row[i-1] {
						ht++
					}
				}
				if y+1 < b.h {
					next := b.pix[(y+1)*b.w+bx*bs : (y+1)*b.w+(bx+1)*bs]
					for i, v := range next {
						if v != row[i] {
							vt++
						}
					}
				}
			}
			// Modules of four pixels or less cross a block's rows about
			// every other module: 8 rows × 8/(2·4) transitions = 8.
			busy[by*bw+bx] = ht >= 6 && vt >= 6
		}
	}
	// Connected groups of busy blocks (8-neighbourhood).
	label := make([]int32, bw*bh)
	type comp struct {
		x0, y0, x1, y1, count int
	}
	var comps []comp
	stack := make([]int, 0, 64)
	for i, bz := range busy {
		if !bz || label[i] != 0 {
			continue
		}
		c := comp{x0: bw, y0: bh}
		id := int32(len(comps) + 1)
		label[i] = id
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := k%bw, k/bw
			c.x0, c.y0 = min(c.x0, x), min(c.y0, y)
			c.x1, c.y1 = max(c.x1, x+1), max(c.y1, y+1)
			c.count++
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= bw || yy >= bh {
						continue
					}
					j := yy*bw + xx
					if busy[j] && label[j] == 0 {
						label[j] = id
						stack = append(stack, j)
					}
				}
			}
		}
		comps = append(comps, c)
	}
	// A code: at least 4×4 blocks, not too elongated, mostly busy.
	var out []comp
	for _, c := range comps {
		w, h := c.x1-c.x0, c.y1-c.y0
		if w < 4 || h < 4 || w > 3*h || h > 3*w || 5*c.count < 2*w*h {
			continue
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b comp) int { return cmp.Compare(b.count, a.count) })
	var rs []image.Rectangle
	for _, c := range out[:min(n, len(out))] {
		rs = append(rs, image.Rect(c.x0*bs, c.y0*bs, c.x1*bs, c.y1*bs))
	}
	return rs
}
