package scene

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// Condition names one family of camera degradations. Every frame also gets
// the baseline of a cheap tablet camera (slight blur and noise, rotation up
// to 12°, a little tilt); the condition adds its own degradation on top.
type Condition string

// The condition families of the corpus.
const (
	Clean       Condition = "clean"       // baseline only
	Blur        Condition = "blur"        // out of focus: Gaussian σ 1.2–1.7 px at 480 lines
	Motion      Condition = "motion"      // hand shake: linear motion blur 3–6 px at 480 lines
	Noise       Condition = "noise"       // dim light, high gain: Gaussian noise σ 9–16 levels
	Rotation    Condition = "rotation"    // any in-plane angle
	Perspective Condition = "perspective" // code plane tilted 15–35° to the camera
	Glare       Condition = "glare"       // a saturated reflection spot on the code
	LowContrast Condition = "lowcontrast" // worn paper: 35–60 grey levels between ink and paper
	Uneven      Condition = "uneven"      // shadow: light falls to 25–45 % across the code
	JPEG        Condition = "jpeg"        // JPEG artefacts, quality 25–45
	Inverted    Condition = "inverted"    // dark-mode phone: light modules on black
	Moire       Condition = "moire"       // phone screen photographed: moiré and subpixel stripes
	Mixed       Condition = "mixed"       // the roadside at once: blur, noise, tilt, shadow, dull ink, JPEG
)

// Conditions lists every condition family in report order.
var Conditions = []Condition{Clean, Blur, Motion, Noise, Rotation, Perspective, Glare, LowContrast, Uneven, JPEG, Inverted, Moire, Mixed}

// Size is a frame size in pixels.
type Size struct{ W, H int }

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.W, s.H) }

// Sizes are the camera resolutions of the corpus.
var Sizes = []Size{{640, 480}, {1280, 720}, {1920, 1080}}

// Spec fully determines one frame: the same Spec renders the same pixels.
type Spec struct {
	Seed      uint64
	Condition Condition
	Size      Size
	// Text is the payload; empty means a RandomPayload drawn from Seed.
	Text string
	// Decoy, when set, is a second (non-RTC1) code placed beside the first,
	// as when a phone shows an app's own code next to the licence.
	Decoy string
}

// Name is a file-name friendly identifier of the spec.
func (s Spec) Name() string {
	return fmt.Sprintf("%s-%s-%016x", s.Condition, s.Size, s.Seed)
}

// Frame is a rendered scene.
type Frame struct {
	Spec Spec
	// Text is the payload of the main code.
	Text string
	// Image is an *image.RGBA, or the decoded *image.YCbCr for JPEG.
	Image image.Image
	// Encoded holds the JPEG bytes when the condition is JPEG, else nil.
	Encoded []byte
	// Version is the QR version of the main code.
	Version int
	// Params describes the drawn parameters, for reports.
	Params string
	// Corners are the main symbol's outer corners in image coordinates:
	// module positions (0,0), (dim,0), (dim,dim), (0,dim).
	Corners [4][2]float64
	// Dim is the main symbol's size in modules.
	Dim int
	// Mirrored reports a code seen mirrored (the glass family).
	Mirrored bool
	// Oracle is the readability proof of a hard-family frame (see Check);
	// zero for the classic families.
	Oracle Oracle
	// Redraws counts the parameter draws the oracle rejected before this
	// frame (hard families).
	Redraws int

	fwd      homography
	cam      *camera // the true geometry of a hard-family frame, else nil
	bits     *gozxing.BitMatrix
	ecc      decoder.ErrorCorrectionLevel
	inverted bool
}

// ModuleToImage maps module coordinates of the main symbol to image
// coordinates (ground truth for tests).
func (f *Frame) ModuleToImage(u, v float64) (float64, float64) {
	if f.cam != nil {
		x, y, _ := f.cam.project(u, v)
		return x, y
	}
	x, y, _ := f.fwd.apply(u, v)
	return x, y
}

// ErrBadSpec reports a Spec that cannot be rendered.
var ErrBadSpec = errors.New("scene: bad spec")

// Specs returns perCondition specs for every condition and size the
// condition fits (Condition.Fits), with seeds derived from seed, so a
// corpus is reproducible from one number.
func Specs(seed uint64, perCondition int, sizes []Size, conds []Condition) []Spec {
	var out []Spec
	for _, c := range conds {
		for _, sz := range sizes {
			if !c.Fits(sz) {
				continue
			}
			for i := range perCondition {
				h := fnv.New64a()
				fmt.Fprintf(h, "%d/%s/%s/%d", seed, c, sz, i)
				out = append(out, Spec{Seed: h.Sum64(), Condition: c, Size: sz})
			}
		}
	}
	return out
}

// params are the drawn scene parameters.
type params struct {
	frac          float64 // symbol area / frame area
	rot           float64 // in-plane rotation, radians
	tiltX, tiltY  float64 // radians
	ink, paper    float64 // reflectances 0..1
	blur          float64 // Gaussian σ in pixels
	motionLen     float64 // pixels
	motionAngle   float64
	noise         float64 // σ in 0..1 units
	glare         float64 // peak added light
	glareR        float64 // in modules
	glareU        float64 // module coords of the spot
	glareV        float64
	unevenLo      float64 // darkest light factor
	unevenAngle   float64
	jpegQ         int
	inverted      bool
	moireA        float64
	moirePeriod   float64
	moireAngle    float64
	tint          [3]float64
	bgLo, bgHi    float64
	cardMargin    float64 // extra light margin beyond the 4-module quiet zone, modules
	bezel         bool    // phone: dark bezel around the screen
	offX, offY    float64 // placement in the free space, 0..1
	vignette      float64
	resolutionFac float64
}

func draw(r *rand.Rand, c Condition, sz Size) params {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	sign := func() float64 {
		if r.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	k := float64(sz.H) / 480
	p := params{
		frac:          u(0.15, 0.40),
		rot:           sign() * u(0, 12) * math.Pi / 180,
		tiltX:         sign() * u(0, 4) * math.Pi / 180,
		tiltY:         sign() * u(0, 4) * math.Pi / 180,
		ink:           u(0.06, 0.16),
		paper:         u(0.72, 0.90),
		blur:          u(0.6, 1.0) * k,
		noise:         u(1.5, 3.5) / 255,
		tint:          [3]float64{u(0.93, 1.05), u(0.97, 1.03), u(0.9, 1.05)},
		bgLo:          u(0.1, 0.4),
		bgHi:          u(0.4, 0.8),
		cardMargin:    u(0, 5),
		offX:          r.Float64(),
		offY:          r.Float64(),
		vignette:      u(0, 0.15),
		resolutionFac: k,
	}
	switch c {
	case Blur:
		p.blur = u(1.2, 1.7) * k
	case Motion:
		p.motionLen = u(3, 6) * k
		p.motionAngle = u(0, math.Pi)
	case Noise:
		p.noise = u(9, 16) / 255
	case Rotation:
		p.rot = u(0, 2*math.Pi)
	case Perspective:
		a := u(15, 35) * math.Pi / 180
		dir := u(0, 2*math.Pi)
		p.tiltX = a * math.Cos(dir)
		p.tiltY = a * math.Sin(dir)
	case Glare:
		p.glare = u(0.8, 1.4)
		p.glareR = u(4, 7)
		p.glareU = u(0.25, 0.75)
		p.glareV = u(0.25, 0.75)
	case LowContrast:
		mid := u(0.4, 0.6)
		d := u(35, 60) / 255
		p.ink, p.paper = mid-d/2, mid+d/2
	case Uneven:
		p.unevenLo = u(0.25, 0.45)
		p.unevenAngle = u(0, 2*math.Pi)
	case JPEG:
		p.jpegQ = 25 + r.IntN(21)
	case Inverted:
		p.inverted = true
		p.bezel = true
		p.ink, p.paper = u(0.75, 0.92), u(0.03, 0.10) // light modules on a black screen
	case Mixed:
		p.blur = u(1.0, 1.4) * k
		p.noise = u(5, 9) / 255
		p.jpegQ = 50 + r.IntN(26)
		p.ink, p.paper = u(0.15, 0.3), u(0.55, 0.75)
		a := u(8, 20) * math.Pi / 180
		dir := u(0, 2*math.Pi)
		p.tiltX, p.tiltY = a*math.Cos(dir), a*math.Sin(dir)
		p.unevenLo = u(0.5, 0.8)
		p.unevenAngle = u(0, 2*math.Pi)
	case Moire:
		p.bezel = true
		p.moireA = u(0.12, 0.25)
		p.moirePeriod = u(3, 7)
		p.moireAngle = u(0, math.Pi)
	}
	return p
}

// placement is one code in the frame.
type placement struct {
	bits    *gozxing.BitMatrix
	dim     int
	inv     homography // image → module coordinates
	quiet   float64    // light margin around the symbol, modules
	version int
}

// Render draws the frame described by spec.
func Render(spec Spec) (*Frame, error) {
	if spec.Size.W < 64 || spec.Size.H < 64 || spec.Size.W > 8192 || spec.Size.H > 8192 {
		return nil, fmt.Errorf("%w: size %s", ErrBadSpec, spec.Size)
	}
	known := false
	for _, c := range All {
		known = known || c == spec.Condition
	}
	if !known {
		return nil, fmt.Errorf("%w: unknown condition %q", ErrBadSpec, spec.Condition)
	}
	if !spec.Condition.Fits(spec.Size) {
		return nil, fmt.Errorf("%w: %s frames need 1280x720 or more, not %s", ErrBadSpec, spec.Condition, spec.Size)
	}
	r := rand.New(rand.NewPCG(spec.Seed, 0x5eed0fca3e5a11))
	if spec.Condition.IsHard() {
		if spec.Decoy != "" {
			return nil, fmt.Errorf("%w: no decoy in the %s family", ErrBadSpec, spec.Condition)
		}
		return renderHard(spec, r)
	}
	text := spec.Text
	if text == "" {
		text = RandomPayload(r)
	}
	p := draw(r, spec.Condition, spec.Size)
	W, H := spec.Size.W, spec.Size.H

	main, err := encode(text)
	if err != nil {
		return nil, err
	}
	var codes []*placement
	if spec.Decoy == "" {
		pl, err := place(main, p, W, H, 0, 0, W, H, p.frac)
		if err != nil {
			return nil, err
		}
		codes = append(codes, pl)
	} else {
		decoy, err := encode(spec.Decoy)
		if err != nil {
			return nil, err
		}
		// Two codes side by side, each in its half of the frame.
		left := r.IntN(2) == 0
		x0, x1 := 0, W/2
		if !left {
			x0, x1 = W/2, W
		}
		pl, err := place(main, p, W, H, x0, 0, x1, H, p.frac/2.2)
		if err != nil {
			return nil, err
		}
		q := p
		q.rot = -p.rot
		q.offX, q.offY = r.Float64(), r.Float64()
		dx0, dx1 := W/2, W
		if !left {
			dx0, dx1 = 0, W/2
		}
		pd, err := place(decoy, q, W, H, dx0, 0, dx1, H, p.frac/4)
		if err != nil {
			return nil, err
		}
		codes = append(codes, pl, pd)
	}

	lum := make([]float64, W*H)
	background(r, lum, W, H, p)
	for _, c := range codes {
		drawCode(lum, W, H, c, p)
	}
	light(lum, W, H, codes[0], p)
	if p.blur > 0 {
		gaussian(lum, W, H, p.blur)
	}
	if p.motionLen > 0 {
		lum = motion(lum, W, H, p.motionLen, p.motionAngle)
	}
	img := colourise(r, lum, W, H, p, codes[0])
	f := &Frame{Spec: spec, Text: text, Image: img, Version: codes[0].version, Dim: codes[0].dim,
		bits: main, ecc: decoder.ErrorCorrectionLevel_M, inverted: p.inverted}
	f.fwd, _ = codes[0].inv.inverse()
	d := float64(codes[0].dim)
	for i, c := range [4][2]float64{{0, 0}, {d, 0}, {d, d}, {0, d}} {
		f.Corners[i][0], f.Corners[i][1] = f.ModuleToImage(c[0], c[1])
	}
	f.Params = fmt.Sprintf("v%d frac=%.2f rot=%.1f° tilt=%.1f°/%.1f° ink=%.2f paper=%.2f blur=%.2f motion=%.1f noise=%.1f glare=%.2f uneven=%.2f jpeg=%d moire=%.2f/%.1f",
		codes[0].version, p.frac, p.rot*180/math.Pi, p.tiltX*180/math.Pi, p.tiltY*180/math.Pi, p.ink, p.paper, p.blur, p.motionLen, p.noise*255, p.glare, p.unevenLo, p.jpegQ, p.moireA, p.moirePeriod)
	if p.jpegQ > 0 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: p.jpegQ}); err != nil {
			return nil, fmt.Errorf("scene: jpeg: %w", err)
		}
		f.Encoded = buf.Bytes()
		dec, err := jpeg.Decode(bytes.NewReader(f.Encoded))
		if err != nil {
			return nil, fmt.Errorf("scene: jpeg: %w", err)
		}
		f.Image = dec
	}
	return f, nil
}

// encode renders text as a QR symbol at ECC M, one pixel per module.
func encode(text string) (*gozxing.BitMatrix, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: decoder.ErrorCorrectionLevel_M,
		gozxing.EncodeHintType_MARGIN:           0,
	}
	bm, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %v", ErrBadSpec, err)
	}
	return bm, nil
}

// place computes the homography putting the symbol into the rectangle
// [x0,x1)×[y0,y1) of a W×H frame with the given area fraction.
func place(bits *gozxing.BitMatrix, p params, W, H, x0, y0, x1, y1 int, frac float64) (*placement, error) {
	dim := bits.GetWidth()
	quiet := 4 + p.cardMargin
	side := math.Sqrt(frac * float64(W*H))
	f := float64(W) // focal length in pixels: about 53° across
	for range 60 {
		m := side / float64(dim)
		h := project(dim, m, f, p)
		// Bounding box of the card (symbol plus light margin, plus bezel).
		ext := quiet
		if p.bezel {
			ext += 3
		}
		minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, c := range [][2]float64{{-ext, -ext}, {float64(dim) + ext, -ext}, {-ext, float64(dim) + ext}, {float64(dim) + ext, float64(dim) + ext}} {
			x, y, ok := h.apply(c[0], c[1])
			if !ok {
				minX = math.Inf(-1)
				break
			}
			minX, maxX = math.Min(minX, x), math.Max(maxX, x)
			minY, maxY = math.Min(minY, y), math.Max(maxY, y)
		}
		freeX := float64(x1-x0) - 4 - (maxX - minX)
		freeY := float64(y1-y0) - 4 - (maxY - minY)
		if !math.IsInf(minX, 0) && freeX >= 0 && freeY >= 0 {
			dx := float64(x0) + 2 + p.offX*freeX - minX
			dy := float64(y0) + 2 + p.offY*freeY - minY
			h = translate(dx, dy).mul(h)
			inv, ok := h.inverse()
			if !ok {
				return nil, fmt.Errorf("%w: singular placement", ErrBadSpec)
			}
			return &placement{bits: bits, dim: dim, inv: inv, quiet: 4 + p.cardMargin, version: (dim - 17) / 4}, nil
		}
		side *= 0.95
	}
	return nil, fmt.Errorf("%w: code does not fit in %dx%d", ErrBadSpec, W, H)
}

// project returns the homography from module coordinates to image
// coordinates for a code of dim modules of m pixels, tilted and rotated per
// p, seen by a pinhole camera of focal length f centred on the frame origin.
func project(dim int, m, f float64, p params) homography {
	c := float64(dim) / 2
	rot := mat3{{math.Cos(p.rot), -math.Sin(p.rot), 0}, {math.Sin(p.rot), math.Cos(p.rot), 0}, {0, 0, 1}}
	rx := mat3{{1, 0, 0}, {0, math.Cos(p.tiltX), -math.Sin(p.tiltX)}, {0, math.Sin(p.tiltX), math.Cos(p.tiltX)}}
	ry := mat3{{math.Cos(p.tiltY), 0, math.Sin(p.tiltY)}, {0, 1, 0}, {-math.Sin(p.tiltY), 0, math.Cos(p.tiltY)}}
	R := rot.mul(rx).mul(ry)
	// Columns: r1*m, r2*m, t - m*c*(r1+r2), t = (0,0,f).
	var h homography
	for i := range 3 {
		h[i][0] = R[i][0] * m
		h[i][1] = R[i][1] * m
		h[i][2] = -m * c * (R[i][0] + R[i][1])
	}
	h[2][2] += f
	k := mat3{{f, 0, 0}, {0, f, 0}, {0, 0, 1}}
	return homography(k.mul(mat3(h)))
}

func background(r *rand.Rand, lum []float64, W, H int, p params) {
	ang := r.Float64() * 2 * math.Pi
	ca, sa := math.Cos(ang), math.Sin(ang)
	diag := math.Hypot(float64(W), float64(H))
	for y := range H {
		for x := range W {
			t := (float64(x)*ca+float64(y)*sa)/diag*0.5 + 0.5
			lum[y*W+x] = p.bgLo + (p.bgHi-p.bgLo)*t
		}
	}
	// Clutter: rectangles and discs of random grey (dashboard, clothes, hands).
	n := 4 + r.IntN(8)
	for range n {
		v := r.Float64() * 0.9
		cx, cy := r.Float64()*float64(W), r.Float64()*float64(H)
		rw, rh := (0.03+r.Float64()*0.2)*float64(W), (0.03+r.Float64()*0.2)*float64(H)
		disc := r.IntN(2) == 0
		for y := max(0, int(cy-rh)); y < min(H, int(cy+rh)); y++ {
			for x := max(0, int(cx-rw)); x < min(W, int(cx+rw)); x++ {
				if disc {
					dx, dy := (float64(x)-cx)/rw, (float64(y)-cy)/rh
					if dx*dx+dy*dy > 1 {
						continue
					}
				}
				lum[y*W+x] = v
			}
		}
	}
}

// drawCode paints the card and the symbol with 3×3 supersampling.
func drawCode(lum []float64, W, H int, c *placement, p params) {
	dim := float64(c.dim)
	card := c.quiet
	bezel := card + 3
	paper, ink := p.paper, p.ink
	bezelLum := 0.04
	// Only visit the bounding box of the card.
	fwd, _ := c.inv.inverse()
	minX, minY, maxX, maxY := W, H, 0, 0
	for _, q := range [][2]float64{{-bezel, -bezel}, {dim + bezel, -bezel}, {-bezel, dim + bezel}, {dim + bezel, dim + bezel}} {
		x, y, _ := fwd.apply(q[0], q[1])
		minX, maxX = min(minX, int(x)-1), max(maxX, int(x)+2)
		minY, maxY = min(minY, int(y)-1), max(maxY, int(y)+2)
	}
	minX, minY = max(minX, 0), max(minY, 0)
	maxX, maxY = min(maxX, W), min(maxY, H)
	const ss = 3
	inv := c.inv
	idim := c.dim
	mods := make([]float64, idim*idim)
	for y := range idim {
		for x := range idim {
			mods[y*idim+x] = paper
			if c.bits.Get(x, y) {
				mods[y*idim+x] = ink
			}
		}
	}
	// Incremental evaluation of the homography along each sub-sample row:
	// numerators and denominator are linear in x.
	dx := 1.0 / ss
	n := max(0, maxX-minX)
	sum := make([]float64, n)
	hits := make([]int, n)
	for y := minY; y < maxY; y++ {
		clear(sum)
		clear(hits)
		for sy := range ss {
			fy := float64(y) + (float64(sy)+0.5)/ss
			fx := float64(minX) + 0.5/ss
			nu := inv[0][0]*fx + inv[0][1]*fy + inv[0][2]
			nv := inv[1][0]*fx + inv[1][1]*fy + inv[1][2]
			w := inv[2][0]*fx + inv[2][1]*fy + inv[2][2]
			du, dv, dw := inv[0][0]*dx, inv[1][0]*dx, inv[2][0]*dx
			for i := 0; i < n*ss; i++ {
				if w > 1e-12 {
					r := 1 / w
					u, v := nu*r, nv*r
					val, ok := 0.0, true
					switch {
					case u >= 0 && v >= 0 && u < dim && v < dim:
						val = mods[int(v)*idim+int(u)]
					case u >= -card && v >= -card && u < dim+card && v < dim+card:
						val = paper
					case p.bezel && u >= -bezel && v >= -bezel && u < dim+bezel && v < dim+bezel:
						val = bezelLum
					default:
						ok = false
					}
					if ok {
						sum[i/ss] += val
						hits[i/ss]++
					}
				}
				nu += du
				nv += dv
				w += dw
			}
		}
		for i := range n {
			if hits[i] > 0 {
				k := y*W + minX + i
				lum[k] = (sum[i] + lum[k]*float64(ss*ss-hits[i])) / (ss * ss)
			}
		}
	}
}

// light applies vignetting, uneven light, glare and moiré.
func light(lum []float64, W, H int, c *placement, p params) {
	fwd, _ := c.inv.inverse()
	dim := float64(c.dim)
	ccx, ccy, _ := fwd.apply(dim/2, dim/2)
	ex, _, _ := fwd.apply(dim, dim/2)
	codeR := math.Hypot(ex-ccx, 0) + 1
	gx, gy, _ := fwd.apply(p.glareU*dim, p.glareV*dim)
	gx2, _, _ := fwd.apply(p.glareU*dim+p.glareR, p.glareV*dim)
	gR := math.Abs(gx2-gx) + 1
	ua, va := math.Cos(p.unevenAngle), math.Sin(p.unevenAngle)
	ma, mb := math.Cos(p.moireAngle), math.Sin(p.moireAngle)
	diag := math.Hypot(float64(W), float64(H)) / 2
	for y := range H {
		for x := range W {
			i := y*W + x
			v := lum[i]
			dx, dy := float64(x)-float64(W)/2, float64(y)-float64(H)/2
			v *= 1 - p.vignette*(dx*dx+dy*dy)/(diag*diag)
			if p.unevenLo > 0 {
				t := ((float64(x)-ccx)*ua+(float64(y)-ccy)*va)/(1.5*codeR) + 0.5
				t = clampF(t, 0, 1)
				v *= p.unevenLo + (1-p.unevenLo)*t
			}
			if p.moireA > 0 && onScreen(c, x, y) {
				s := (float64(x)*ma + float64(y)*mb) / p.moirePeriod
				s2 := (float64(x)*mb - float64(y)*ma) / (p.moirePeriod * 1.7)
				v *= 1 - p.moireA*(0.5+0.25*math.Sin(2*math.Pi*s)+0.25*math.Sin(2*math.Pi*s2))
			}
			if p.glare > 0 {
				gdx, gdy := float64(x)-gx, float64(y)-gy
				v += p.glare * math.Exp(-(gdx*gdx+gdy*gdy)/(2*gR*gR))
			}
			lum[i] = v
		}
	}
}

// gaussian blurs lum in place with a separable kernel.
func gaussian(lum []float64, W, H int, sigma float64) {
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	s := 0.0
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		s += k[i]
	}
	for i := range k {
		k[i] /= s
	}
	tmp := make([]float64, W*H)
	for y := range H {
		row := lum[y*W : (y+1)*W]
		out := tmp[y*W : (y+1)*W]
		for x := range W {
			acc := 0.0
			if x >= rad && x+rad < W {
				// Interior: no clamping (the same sum, term by term).
				win := row[x-rad : x+rad+1]
				for j, kv := range k {
					acc += kv * win[j]
				}
			} else {
				for j, kv := range k {
					xx := min(max(x+j-rad, 0), W-1)
					acc += kv * row[xx]
				}
			}
			out[x] = acc
		}
	}
	// Vertical pass row by row: each output row accumulates the weighted
	// input rows in the same order as a per-pixel sum would.
	for y := range H {
		out := lum[y*W : (y+1)*W]
		for x := range out {
			out[x] = 0
		}
		for j, kv := range k {
			yy := min(max(y+j-rad, 0), H-1)
			src := tmp[yy*W : (yy+1)*W]
			for x, v := range src {
				out[x] += kv * v
			}
		}
	}
}

// motion averages lum along a line of length l at angle a.
func motion(lum []float64, W, H int, l, a float64) []float64 {
	n := int(math.Ceil(l*2)) + 1
	dx, dy := math.Cos(a), math.Sin(a)
	out := make([]float64, W*H)
	for y := range H {
		for x := range W {
			acc := 0.0
			for i := range n {
				t := (float64(i)/float64(n-1) - 0.5) * l
				acc += bilinear(lum, W, H, float64(x)+t*dx, float64(y)+t*dy)
			}
			out[y*W+x] = acc / float64(n)
		}
	}
	return out
}

func bilinear(lum []float64, W, H int, x, y float64) float64 {
	x = clampF(x, 0, float64(W-1))
	y = clampF(y, 0, float64(H-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, W-1), min(y0+1, H-1)
	fx, fy := x-float64(x0), y-float64(y0)
	a := lum[y0*W+x0]*(1-fx) + lum[y0*W+x1]*fx
	b := lum[y1*W+x0]*(1-fx) + lum[y1*W+x1]*fx
	return a*(1-fy) + b*fy
}

// colourise turns luminance into an RGB image with a colour tint, sensor
// (luma) noise and, for moiré, subpixel stripes.
func colourise(r *rand.Rand, lum []float64, W, H int, p params, screen *placement) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	// Normal deviates from a table, indexed by 12 random bits each: a
	// million NormFloat64 calls per frame would dominate the rendering.
	var normals [4096]float64
	for i := range normals {
		normals[i] = r.NormFloat64() * p.noise * 255
	}
	var bits uint64
	k := 0
	for y := range H {
		for x := range W {
			v := lum[y*W+x]
			o := img.PixOffset(x, y)
			screenPx := p.moireA > 0 && onScreen(screen, x, y)
			if k%5 == 0 {
				bits = r.Uint64()
			}
			k++
			noise := normals[bits&4095]
			bits >>= 12
			for ch := range 3 {
				c := v * p.tint[ch]
				if screenPx {
					c *= 1 - 0.5*p.moireA*(0.5+0.5*math.Sin(2*math.Pi*(float64(x)/p.moirePeriod+float64(ch)/3)))
				}
				img.Pix[o+ch] = clamp255(c*255 + noise + 0.5)
			}
			img.Pix[o+3] = 255
		}
	}
	return img
}

// Describe lists the condition families, for usage texts.
func Describe() string {
	var b strings.Builder
	for _, c := range All {
		fmt.Fprintf(&b, "%s ", c)
	}
	return strings.TrimSpace(b.String())
}

// onScreen tells whether pixel (x, y) shows the phone screen (card or bezel)
// of placement c.
func onScreen(c *placement, x, y int) bool {
	u, v, ok := c.inv.apply(float64(x)+0.5, float64(y)+0.5)
	e := c.quiet + 3
	d := float64(c.dim)
	return ok && u >= -e && v >= -e && u < d+e && v < d+e
}

// clamp255 converts c to a byte, clamped to 0..255 (plain comparisons:
// math.Min and math.Max are slow for this).
func clamp255(c float64) uint8 {
	if c <= 0 {
		return 0
	}
	if c >= 255 {
		return 255
	}
	return uint8(c)
}

// clampF clamps v to [lo, hi] with plain comparisons.
func clampF(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
