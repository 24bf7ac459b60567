package scan

import (
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"math"
)

// plane is an 8-bit luminance image, row-major, no padding.
type plane struct {
	w, h int
	pix  []byte
}

// newPlane returns a w×h plane from the buffer pool, its contents
// unspecified: the caller writes every pixel.
func newPlane(w, h int) *plane { return &plane{w: w, h: h, pix: getBytes(w * h)} }

// greyOf converts any image to luminance (BT.601 weights), with fast paths
// for the types that decoders and cameras produce.
func greyOf(img image.Image) *plane {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	p := newPlane(w, h)
	switch m := img.(type) {
	case *image.YCbCr:
		for y := range h {
			copy(p.pix[y*w:(y+1)*w], m.Y[m.YOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.Gray:
		for y := range h {
			copy(p.pix[y*w:(y+1)*w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.RGBA:
		for y := range h {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[off : off+4*w : off+4*w]
			out := p.pix[y*w : (y+1)*w]
			for x := range out {
				v := binary.LittleEndian.Uint32(row[4*x:])
				out[x] = uint8((77*(v&0xff) + 150*(v>>8&0xff) + 29*(v>>16&0xff) + 128) >> 8)
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := p.pix[y*w : (y+1)*w]
			for x := range out {
				r, g, bl, a := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2]), uint32(row[4*x+3])
				l := (77*r + 150*g + 29*bl + 128) >> 8
				// Transparent pixels show as white, as on a white page.
				out[x] = uint8((l*a + 255*(255-a)) / 255)
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray)
				_, _, _, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				l := uint32(c.Y)
				a >>= 8
				p.pix[y*w+x] = uint8((l*a + 255*(255-a)) / 255)
			}
		}
	}
	return p
}

// sample returns the bilinear interpolation at (x, y) in pixel coordinates
// where pixel centres are at integer+0.5.
func (p *plane) sample(x, y float64) float64 {
	x -= 0.5
	y -= 0.5
	if x < 0 {
		x = 0
	}
	if y < 0 {
		y = 0
	}
	maxX, maxY := float64(p.w-1), float64(p.h-1)
	if x > maxX {
		x = maxX
	}
	if y > maxY {
		y = maxY
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	r0 := p.pix[y0*p.w:]
	r1 := p.pix[y1*p.w:]
	a := float64(r0[x0])*(1-fx) + float64(r0[x1])*fx
	b := float64(r1[x0])*(1-fx) + float64(r1[x1])*fx
	return a*(1-fy) + b*fy
}

// lerp is one axis of a bilinear sample: the two source indices and their
// weights.
type lerp struct {
	i0, i1 int
	w0, w1 float64
}

// lerpAt is the axis part of p.sample at coordinate c on an axis of n
// pixels: the same clamping and weights.
func lerpAt(c float64, n int) lerp {
	c -= 0.5
	if c < 0 {
		c = 0
	}
	if m := float64(n - 1); c > m {
		c = m
	}
	i0 := int(c)
	fc := c - float64(i0)
	return lerp{i0: i0, i1: min(i0+1, n-1), w0: 1 - fc, w1: fc}
}

// resized returns p scaled by f with area averaging when shrinking and
// bilinear interpolation when enlarging, or nil when ctx ends first.
func (p *plane) resized(ctx context.Context, f float64) *plane {
	w := max(1, int(math.Round(float64(p.w)*f)))
	h := max(1, int(math.Round(float64(p.h)*f)))
	if f == 0.5 {
		w, h = max(1, p.w/2), max(1, p.h/2)
	}
	q := newPlane(w, h)
	if f >= 1 {
		// Bilinear, as p.sample at each output pixel centre (the same
		// arithmetic, so the same values), with the source columns and
		// weights worked out once per column and row.
		inv := 1 / f
		xs := make([]lerp, w)
		for x := range xs {
			xs[x] = lerpAt((float64(x)+0.5)*inv, p.w)
		}
		for y := range h {
			if stopped(ctx, y) {
				q.release()
				return nil
			}
			ly := lerpAt((float64(y)+0.5)*inv, p.h)
			r0 := p.pix[ly.i0*p.w : (ly.i0+1)*p.w]
			r1 := p.pix[ly.i1*p.w : (ly.i1+1)*p.w]
			out := q.pix[y*w : (y+1)*w]
			for x, lx := range xs {
				a := float64(r0[lx.i0])*lx.w0 + float64(r0[lx.i1])*lx.w1
				b := float64(r1[lx.i0])*lx.w0 + float64(r1[lx.i1])*lx.w1
				out[x] = uint8(a*ly.w0 + b*ly.w1 + 0.5)
			}
		}
		return q
	}
	if w == p.w/2 && h == p.h/2 {
		// Exact halving: 2×2 box average.
		for y := range h {
			if stopped(ctx, y) {
				q.release()
				return nil
			}
			r0 := p.pix[2*y*p.w : 2*y*p.w+2*w]
			r1 := p.pix[(2*y+1)*p.w : (2*y+1)*p.w+2*w]
			out := q.pix[y*w : (y+1)*w]
			for x := range out {
				out[x] = uint8((uint32(r0[2*x]) + uint32(r0[2*x+1]) + uint32(r1[2*x]) + uint32(r1[2*x+1]) + 2) >> 2)
			}
		}
		return q
	}
	// Area average: each output pixel is the mean of the source box it covers.
	k := 1 / f
	for y := range h {
		if stopped(ctx, y) {
			q.release()
			return nil
		}
		y0 := int(float64(y) * k)
		y1 := max(y0+1, min(p.h, int(float64(y+1)*k)))
		for x := range w {
			x0 := int(float64(x) * k)
			x1 := max(x0+1, min(p.w, int(float64(x+1)*k)))
			sum, n := 0, 0
			for yy := y0; yy < y1; yy++ {
				row := p.pix[yy*p.w:]
				for xx := x0; xx < x1; xx++ {
					sum += int(row[xx])
				}
				n += x1 - x0
			}
			q.pix[y*w+x] = uint8((sum + n/2) / n)
		}
	}
	return q
}

// boxBlur returns the mean over a (2r+1)² window, the plane's edge pixels
// repeated outwards, with two running-sum passes, or nil when ctx ends
// first.
func (p *plane) boxBlur(ctx context.Context, r int) *plane {
	w, h := p.w, p.h
	r = max(0, min(r, 127))
	n := 2*r + 1
	// Horizontal sums, as uint16 (255·255 fits).
	hs := getUint16s(w * h)
	defer putUint16s(hs)
	for y := range h {
		if stopped(ctx, y) {
			return nil
		}
		row := p.pix[y*w : (y+1)*w]
		out := hs[y*w : (y+1)*w]
		sum := uint32(row[0]) * uint32(r+1)
		for k := 1; k <= r; k++ {
			sum += uint32(row[min(k, w-1)])
		}
		x := 0
		// Left border, interior without clamping, right border.
		for ; x < w && x < r; x++ {
			out[x] = uint16(sum)
			sum += uint32(row[min(x+r+1, w-1)]) - uint32(row[0])
		}
		if end := w - r - 1; x < end {
			add := row[x+r+1 : end+r+1]
			sub := row[x-r : end-r]
			o := out[x:end]
			for i := range o {
				o[i] = uint16(sum)
				sum += uint32(add[i]) - uint32(sub[i])
			}
			x = end
		}
		for ; x < w; x++ {
			out[x] = uint16(sum)
			sum += uint32(row[min(x+r+1, w-1)]) - uint32(row[max(x-r, 0)])
		}
	}
	// Vertical running sums over the horizontal ones; divide by n² with a
	// fixed-point reciprocal.
	q := newPlane(w, h)
	col := make([]uint32, w) // small, zeroed: the running sums start at 0
	rowAt := func(y int) []uint16 {
		y = min(max(y, 0), h-1)
		return hs[y*w : (y+1)*w]
	}
	for y := -r; y <= r; y++ {
		for x, v := range rowAt(y) {
			col[x] += uint32(v)
		}
	}
	inv := uint64(1<<32)/uint64(n*n) + 1
	for y := range h {
		if stopped(ctx, y) {
			q.release()
			return nil
		}
		out := q.pix[y*w : (y+1)*w]
		out = out[:len(col)]
		for x, c := range col {
			out[x] = uint8((uint64(c)*inv + (1 << 31)) >> 32)
		}
		add, sub := rowAt(y+r+1), rowAt(y-r)
		add, sub = add[:len(col)], sub[:len(col)]
		for x := range col {
			col[x] += uint32(add[x]) - uint32(sub[x])
		}
	}
	return q
}

// localNormalised divides out slowly varying light: each pixel is mapped
// relative to the local mean over a (2r+1)² window, which flattens shadows,
// glare halos and vignetting (local contrast normalisation).
func (p *plane) localNormalised(ctx context.Context, r int) *plane {
	mean := p.boxBlur(ctx, r)
	if mean == nil {
		return nil
	}
	q := newPlane(p.w, p.h)
	// Local deviation from the mean of |v - mean|, smoothed the same way.
	dev := newPlane(p.w, p.h)
	for i, v := range p.pix {
		d := int(v) - int(mean.pix[i])
		if d < 0 {
			d = -d
		}
		dev.pix[i] = byte(min(d*2, 255))
	}
	devB := dev.boxBlur(ctx, r)
	dev.release()
	if devB == nil {
		mean.release()
		q.release()
		return nil
	}
	for i, v := range p.pix {
		s := max(int(devB.pix[i]), 6)
		o := 128 + (int(v)-int(mean.pix[i]))*64/s
		q.pix[i] = byte(min(max(o, 0), 255))
	}
	devB.release()
	mean.release()
	return q
}

// stopped reports, every 64 rows, whether ctx has ended: the plane
// operations give up half way rather than overrun the frame's budget.
func stopped(ctx context.Context, row int) bool {
	return row&63 == 0 && ctx.Err() != nil
}

// eroded returns the minimum over a 3×3 window: dark modules grow by a
// pixel on every side. An overexposed screen's bloom thins the dark
// modules on clipped white until the finders' 1:1:3:1:1 runs fail; this
// gives them back their width. It returns nil when ctx ends first.
func (p *plane) eroded(ctx context.Context) *plane {
	w, h := p.w, p.h
	tmp := newPlane(w, h)
	for y := range h {
		if stopped(ctx, y) {
			tmp.release()
			return nil
		}
		row := p.pix[y*w : (y+1)*w]
		out := tmp.pix[y*w : (y+1)*w]
		if w < 2 {
			copy(out, row)
			continue
		}
		out[0] = min(row[0], row[1])
		l, c, r, o := row[:w-2], row[1:w-1], row[2:w], out[1:w-1]
		c, r, o = c[:len(l)], r[:len(l)], o[:len(l)]
		for x, v := range l {
			o[x] = min3(v, c[x], r[x])
		}
		out[w-1] = min(row[w-2], row[w-1])
	}
	q := newPlane(w, h)
	defer tmp.release()
	for y := range h {
		a := tmp.pix[max(y-1, 0)*w : max(y-1, 0)*w+w]
		b := tmp.pix[y*w : y*w+w]
		c := tmp.pix[min(y+1, h-1)*w : min(y+1, h-1)*w+w]
		out := q.pix[y*w : y*w+w]
		b, c = b[:len(a)], c[:len(a)]
		out = out[:len(a)]
		for x, v := range a {
			out[x] = min3(v, b[x], c[x])
		}
	}
	return q
}

// min3 is the least of three bytes, without branches (image data makes
// them unpredictable).
func min3(a, b, c byte) byte {
	d := int32(a) - int32(b)
	m := int32(b) + d&(d>>31)
	d = m - int32(c)
	return byte(int32(c) + d&(d>>31))
}

// unsharp returns p + amount·(p - blur(p)), the unsharp mask, with a box blur
// of radius r standing in for the Gaussian, or nil when ctx ends first.
func (p *plane) unsharp(ctx context.Context, r int, amount float64) *plane {
	q := p.boxBlur(ctx, r)
	if q == nil {
		return nil
	}
	a := int32(amount * 256)
	for i, v := range p.pix {
		o := int32(v) + ((int32(v)-int32(q.pix[i]))*a)>>8
		q.pix[i] = byte(min(max(o, 0), 255))
	}
	return q
}

// crop returns the sub-plane [x0,x1)×[y0,y1), clamped to p.
func (p *plane) crop(x0, y0, x1, y1 int) *plane {
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, p.w), min(y1, p.h)
	if x1 <= x0 || y1 <= y0 {
		q := newPlane(1, 1)
		q.pix[0] = 0
		return q
	}
	q := newPlane(x1-x0, y1-y0)
	for y := y0; y < y1; y++ {
		copy(q.pix[(y-y0)*q.w:(y-y0+1)*q.w], p.pix[y*p.w+x0:y*p.w+x1])
	}
	return q
}

// otsu returns the threshold maximising between-class variance of vals.
func otsu(vals []float64) float64 {
	if len(vals) == 0 {
		return 128
	}
	var hist [256]int
	for _, v := range vals {
		hist[min(max(int(v), 0), 255)]++
	}
	total := len(vals)
	sum := 0.0
	for i, c := range hist {
		sum += float64(i * c)
	}
	sumB, wB := 0.0, 0
	best, bestT := -1.0, 128.0
	for t := range 256 {
		wB += hist[t]
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(t * hist[t])
		mB := sumB / float64(wB)
		mF := (sum - sumB) / float64(wF)
		between := float64(wB) * float64(wF) * (mB - mF) * (mB - mF)
		if between > best {
			best, bestT = between, float64(t)+0.5
		}
	}
	return bestT
}
