package scene

import (
	"fmt"
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// MaxLoad is the highest error-correction load (see Oracle.Load) of a
// frame that counts as readable in principle.
const MaxLoad = 0.8

// finderLegible is the most module errors (of 49) a finder pattern may
// show and still count as visible.
const finderLegible = 5

// Oracle proves a frame readable in principle, or not: the symbol is
// sampled at its true module centres (the renderer's own geometry, curved
// surface and lens included), each module thresholded midway between the
// dark and the light modules within three modules of it, and the result
// compared with the symbol that was drawn.
type Oracle struct {
	// Load is the error-correction load of the worst Reed–Solomon block:
	// its codeword errors over the errors it can correct (0 clean, 1 at the
	// limit, above 1 unreadable).
	Load float64
	// FinderErrors counts the module errors in each finder pattern (top
	// left, top right, bottom left), of 49.
	FinderErrors [3]int
	// InFrame reports whether the three finder patterns lie inside the
	// frame.
	InFrame bool
	// FormatOK reports whether the format information (and, from version
	// 7, the version information) reads back as drawn.
	FormatOK bool
	// MinFinders is how many finder patterns must be legible: 3, or 2 for
	// the lamp-glare family whose point is a washed-out finder.
	MinFinders int
}

// Legible counts the finder patterns with at most a few module errors.
func (o Oracle) Legible() int {
	n := 0
	for _, e := range o.FinderErrors {
		if e <= finderLegible {
			n++
		}
	}
	return n
}

// Readable reports whether the frame is readable in principle: finders in
// the frame and legible, format information intact, and an
// error-correction load of at most MaxLoad.
func (o Oracle) Readable() bool {
	return o.InFrame && o.FormatOK && o.Load <= MaxLoad && o.Legible() >= o.MinFinders
}

func (o Oracle) String() string {
	return fmt.Sprintf("load=%.2f finders=%v inframe=%v format=%v", o.Load, o.FinderErrors, o.InFrame, o.FormatOK)
}

// Check runs the oracle on a rendered frame.
func Check(f *Frame) Oracle {
	o := Oracle{MinFinders: 3, Load: math.Inf(1)}
	if f.Spec.Condition == LampGlare {
		o.MinFinders = 2
	}
	if f.bits == nil {
		return o
	}
	dim := f.Dim
	img := f.Image
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	in := func(u, v float64) bool {
		x, y := f.ModuleToImage(u, v)
		return x >= 0 && y >= 0 && x < float64(W) && y < float64(H)
	}
	d := float64(dim)
	o.InFrame = true
	for _, c := range [3][2]float64{{0, 0}, {d - 7, 0}, {0, d - 7}} {
		for _, k := range [4][2]float64{{-1, -1}, {8, -1}, {-1, 8}, {8, 8}} {
			o.InFrame = o.InFrame && in(c[0]+k[0], c[1]+k[1])
		}
	}
	// Sample every module centre (bilinear, pixel centres at +0.5).
	vals := make([]float64, dim*dim)
	sample := func(x, y float64) float64 {
		x -= 0.5
		y -= 0.5
		x = clampF(x, 0, float64(W-1))
		y = clampF(y, 0, float64(H-1))
		x0, y0 := int(x), int(y)
		x1, y1 := min(x0+1, W-1), min(y0+1, H-1)
		fx, fy := x-float64(x0), y-float64(y0)
		at := func(x, y int) float64 { return luma(img, b.Min.X+x, b.Min.Y+y) }
		return (at(x0, y0)*(1-fx)+at(x1, y0)*fx)*(1-fy) + (at(x0, y1)*(1-fx)+at(x1, y1)*fx)*fy
	}
	for v := range dim {
		for u := range dim {
			x, y := f.ModuleToImage(float64(u)+0.5, float64(v)+0.5)
			vals[v*dim+u] = sample(x, y)
		}
	}
	// Dark modules are drawn dark whatever the screen shows: for an
	// inverted code the "dark" (set) modules are the light ones.
	sign := 1.0
	if f.inverted {
		sign = -1
	}
	sampled, _ := gozxing.NewSquareBitMatrix(dim)
	const rad = 3
	for v := range dim {
		for u := range dim {
			var sd, sl float64
			var nd, nl int
			for y := max(0, v-rad); y <= min(dim-1, v+rad); y++ {
				for x := max(0, u-rad); x <= min(dim-1, u+rad); x++ {
					if f.bits.Get(x, y) {
						sd += sign * vals[y*dim+x]
						nd++
					} else {
						sl += sign * vals[y*dim+x]
						nl++
					}
				}
			}
			truth := f.bits.Get(u, v)
			bit := !truth // no contrast: an error
			if nd > 0 && nl > 0 {
				md, ml := sd/float64(nd), sl/float64(nl)
				if ml-md >= 3 {
					bit = sign*vals[v*dim+u] < (md+ml)/2
				}
			}
			if bit {
				sampled.Set(u, v)
			}
		}
	}
	for i, c := range [3][2]int{{0, 0}, {dim - 7, 0}, {0, dim - 7}} {
		for y := c[1]; y < c[1]+7; y++ {
			for x := c[0]; x < c[0]+7; x++ {
				if sampled.Get(x, y) != f.bits.Get(x, y) {
					o.FinderErrors[i]++
				}
			}
		}
	}
	// Format and version information as sampled.
	want, err := decoder.NewBitMatrixParser(cloneMatrix(f.bits))
	if err != nil {
		return o
	}
	wantFmt, err1 := want.ReadFormatInformation()
	wantVer, err2 := want.ReadVersion()
	got, _ := decoder.NewBitMatrixParser(cloneMatrix(sampled))
	gotFmt, err3 := got.ReadFormatInformation()
	gotVer, err4 := got.ReadVersion()
	o.FormatOK = err1 == nil && err2 == nil && err3 == nil && err4 == nil &&
		gotFmt.GetErrorCorrectionLevel() == wantFmt.GetErrorCorrectionLevel() &&
		gotFmt.GetDataMask() == wantFmt.GetDataMask() &&
		gotVer.GetVersionNumber() == wantVer.GetVersionNumber()
	if err1 != nil || err2 != nil {
		return o
	}
	// Codewords: the sampled data modules with the drawn format areas, so
	// that both read with the same mask.
	hybrid := cloneMatrix(sampled)
	for y := range dim {
		for x := range dim {
			if formatArea(x, y, dim) && hybrid.Get(x, y) != f.bits.Get(x, y) {
				hybrid.Flip(x, y)
			}
		}
	}
	hp, _ := decoder.NewBitMatrixParser(hybrid)
	gotCW, err := hp.ReadCodewords()
	if err != nil {
		return o
	}
	wantCW, err := want.ReadCodewords()
	if err != nil {
		return o
	}
	ecl := wantFmt.GetErrorCorrectionLevel()
	gb, err := decoder.DataBlock_GetDataBlocks(gotCW, wantVer, ecl)
	if err != nil {
		return o
	}
	wb, err := decoder.DataBlock_GetDataBlocks(wantCW, wantVer, ecl)
	if err != nil || len(gb) != len(wb) {
		return o
	}
	o.Load = 0
	for i := range wb {
		w, g := wb[i].GetCodewords(), gb[i].GetCodewords()
		errs := 0
		for j := range w {
			if w[j] != g[j] {
				errs++
			}
		}
		capacity := (len(w) - wb[i].GetNumDataCodewords()) / 2
		o.Load = math.Max(o.Load, float64(errs)/float64(capacity))
	}
	return o
}

// formatArea reports whether module (x, y) carries format or version
// information.
func formatArea(x, y, dim int) bool {
	switch {
	case y == 8 && (x <= 8 || x >= dim-8), x == 8 && (y <= 8 || y >= dim-8):
		return true
	case dim >= 45 && y <= 5 && x >= dim-11 && x <= dim-9, dim >= 45 && x <= 5 && y >= dim-11 && y <= dim-9:
		return true
	}
	return false
}

func cloneMatrix(m *gozxing.BitMatrix) *gozxing.BitMatrix {
	c, _ := gozxing.NewBitMatrix(m.GetWidth(), m.GetHeight())
	for y := range m.GetHeight() {
		for x := range m.GetWidth() {
			if m.Get(x, y) {
				c.Set(x, y)
			}
		}
	}
	return c
}
