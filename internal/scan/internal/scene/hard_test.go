package scene

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// hardSize is the smallest frame size a hard family renders at.
func hardSize(c Condition) Size {
	if c == Small {
		return Size{W: 1280, H: 720}
	}
	return Size{W: 640, H: 480}
}

// TestRenderHard renders one real-length frame of every hard family: the
// frame passes its own oracle and holds a version 13–25 code; a curved
// frame comes out the same twice.
func TestRenderHard(t *testing.T) {
	for _, c := range Hard {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			spec := Specs(3, 1, []Size{hardSize(c)}, []Condition{c})[0]
			f, err := Render(spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Image.Bounds().Size(); got != image.Pt(spec.Size.W, spec.Size.H) {
				t.Errorf("size %v", got)
			}
			if f.Version < 13 || f.Version > 25 {
				t.Errorf("version %d, want 13–25", f.Version)
			}
			if !f.Oracle.Readable() || f.Oracle.Load > MaxLoad {
				t.Errorf("oracle %s: not readable", f.Oracle)
			}
			if (c == Small) != (f.Encoded != nil) {
				t.Errorf("Encoded set = %v for %s", f.Encoded != nil, c)
			}
			if c == LampGlare && f.Oracle.Legible() == 3 {
				t.Logf("glare left all finders legible: %s", f.Params)
			}
			if c != Curved {
				return
			}
			g, err := Render(spec)
			if err != nil {
				t.Fatal(err)
			}
			if g.Text != f.Text || g.Params != f.Params || !bytes.Equal(g.Image.(*image.RGBA).Pix, f.Image.(*image.RGBA).Pix) {
				t.Error("the same spec rendered a different frame")
			}
		})
	}
}

// TestOracleCountsDamage: the oracle of an intact frame shows no load;
// painting over part of the symbol raises it, and painting over most of it
// makes the frame unreadable.
func TestOracleCountsDamage(t *testing.T) {
	f, err := Render(Spec{Seed: 7, Condition: Curved, Size: Size{W: 640, H: 480}, Text: "RTC1:ORACLE"})
	if err != nil {
		t.Fatal(err)
	}
	if o := Check(f); o.Load != 0 || !o.Readable() || o.Legible() != 3 {
		t.Fatalf("intact frame: %s", o)
	}
	paint := func(u0, v0, u1, v1 float64) *Frame {
		img := image.NewRGBA(f.Image.Bounds())
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				img.Set(x, y, f.Image.At(x, y))
			}
		}
		x0, y0 := f.ModuleToImage(u0, v0)
		x1, y1 := f.ModuleToImage(u1, v1)
		for y := int(min(y0, y1)); y <= int(max(y0, y1)); y++ {
			for x := int(min(x0, x1)); x <= int(max(x0, x1)); x++ {
				img.Set(x, y, color.White)
			}
		}
		g := *f
		g.Image = img
		return &g
	}
	d := float64(f.Dim)
	some := Check(paint(d/2-3, d/2-3, d/2+3, d/2+3))
	if some.Load <= 0 {
		t.Errorf("a white patch over the middle: load %.2f, want > 0", some.Load)
	}
	most := Check(paint(2, 2, d-2, d-2))
	if most.Readable() {
		t.Errorf("the symbol painted over: %s, want unreadable", most)
	}
}

// TestHardPayload: the texts drawn for a version need exactly that version.
func TestHardPayload(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	for _, ecc := range []decoder.ErrorCorrectionLevel{decoder.ErrorCorrectionLevel_M, decoder.ErrorCorrectionLevel_Q} {
		for v := 13; v <= 25; v++ {
			text := hardPayload(r, v, ecc)
			bm, err := encodeAt(text, ecc)
			if err != nil {
				t.Fatal(err)
			}
			if got := (bm.GetWidth() - 17) / 4; got != v {
				t.Errorf("%s v%d: %d chars encode as v%d", ecc, v, len(text), got)
			}
		}
	}
}

// TestCameraCurvedSurface: a bent code leaves the plane through its
// corners by about the drawn amount; a flat one does not.
func TestCameraCurvedSurface(t *testing.T) {
	p := phys{frac: 0.25, focal: 0.95}
	p.base.offX, p.base.offY = 0.5, 0.5
	flat, err := newCamera(p, 77, 640, 480, 5)
	if err != nil {
		t.Fatal(err)
	}
	if dev := offFlat(flat); dev > 0.01 {
		t.Errorf("flat code off flat by %.3f modules", dev)
	}
	p.bendArc, p.bendSign = 0.8, 1
	bent, err := newCamera(p, 77, 640, 480, 5)
	if err != nil {
		t.Fatal(err)
	}
	if dev := offFlat(bent); dev < 1 || dev > 6 {
		t.Errorf("bent code off flat by %.2f modules, want 1–6", dev)
	}
}

// TestGhostAndMirror: the glass family's frames differ from a plain render
// of the same spec only by what the glass adds, and mirrored frames map
// module (0,0) to where the unmirrored code has (dim,0).
func TestMirroredGeometry(t *testing.T) {
	for seed := uint64(1); seed < 40; seed++ {
		f, err := Render(Spec{Seed: seed, Condition: Glass, Size: Size{W: 640, H: 480}, Text: "RTC1:MIRROR"})
		if err != nil {
			t.Fatal(err)
		}
		if !f.Mirrored {
			continue
		}
		// The corners still go round the symbol, but the other way.
		c := f.Corners
		cross := (c[1][0]-c[0][0])*(c[3][1]-c[0][1]) - (c[1][1]-c[0][1])*(c[3][0]-c[0][0])
		if cross >= 0 {
			t.Errorf("seed %d: mirrored corners turn clockwise", seed)
		}
		return
	}
	t.Fatal("no mirrored frame in 40 seeds")
}
