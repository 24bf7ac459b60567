package scene

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// The hard families: physically modelled scenes of real-length RTC1 codes
// (QR versions 13–25, ECC M or Q) that defeat a single homography or a
// single global exposure. They are rendered in linear light through a
// camera model (surface → rigid motion → pinhole with radial distortion →
// optics blur → lens bloom → exposure and sensor clipping with charge
// spill → gamma → tint and noise → JPEG), and every frame passes the
// readability oracle (Oracle): it is readable in principle.
const (
	// Curved: a code on a cylinder (a bottle, a bent card) or a bent phone
	// screen, the code subtending a 60–110° arc; the middle of the code is
	// 1–3 modules off the plane through its corners.
	Curved Condition = "curved"
	// Keystone: a strong tilt (30–45°) seen close up through a short lens
	// (focal length 0.45–0.65 of the frame width) with barrel distortion.
	Keystone Condition = "keystone"
	// Washed: an overexposed phone screen: exposure 2.5–5× too long, lens
	// bloom and sensor charge spill thin the dark modules on clipped white.
	Washed Condition = "washed"
	// LampGlare: the specular reflection of a lamp washes out one finder
	// pattern (and the data around it) to clipped white.
	LampGlare Condition = "lampglare"
	// Small: a distant code in a 720p or 1080p frame: 2.2–2.3 pixels per
	// module, slight blur, JPEG quality 60.
	Small Condition = "small"
	// Glass: the code seen through glass or in a mirror: a displaced ghost
	// image, a veiling reflection of the surroundings, half of them
	// mirrored.
	Glass Condition = "glass"
	// DarkTilt: a dark-mode (inverted) phone screen, tilted 20–40° and/or
	// with a reflection on the screen.
	DarkTilt Condition = "darktilt"
)

// Hard lists the physically modelled families in report order.
var Hard = []Condition{Curved, Keystone, Washed, LampGlare, Small, Glass, DarkTilt}

// All lists every family: Conditions then Hard.
var All = append(append([]Condition(nil), Conditions...), Hard...)

// IsHard reports whether c is one of the physically modelled families.
func (c Condition) IsHard() bool {
	for _, h := range Hard {
		if c == h {
			return true
		}
	}
	return false
}

// Fits reports whether the family is rendered at frame size sz: small
// codes are a matter of large frames only (720p and up).
func (c Condition) Fits(sz Size) bool {
	if c == Small {
		return sz.W >= 1280 && sz.H >= 720
	}
	return true
}

// maxRedraws bounds the rejection sampling of a hard frame: parameters are
// drawn again until the oracle finds the frame readable in principle.
const maxRedraws = 40

// phys are the drawn parameters of a physically modelled frame.
type phys struct {
	ecc      decoder.ErrorCorrectionLevel
	version  int
	frac     float64 // apparent symbol area / frame area (when modulePx is 0)
	modulePx float64 // apparent module size at the symbol centre, pixels
	rot      float64
	tiltX    float64
	tiltY    float64
	focal    float64 // focal length, multiples of the frame width
	k1       float64 // radial distortion (negative: barrel)
	bendDev  float64 // bend: the symbol's largest departure from flat, modules
	bendArc  float64 // arc subtended across the bend axis, radians; 0 = flat
	bendAxis float64 // in-plane angle of the cylinder axis
	bendSign float64 // +1 bulging towards the camera, -1 away
	mirrored bool
	screen   bool // emissive phone screen with a bezel; else a paper card
	inverted bool // light modules on a dark screen
	ink      float64
	paper    float64 // linear reflectance or emission
	light    [3]float64
	ambient  float64 // share of diffuse light on a curved card
	gain     float64 // exposure
	bloom    float64 // share of light spread by the lens' wide halo
	bloomSig float64 // its σ, pixels
	spill    float64 // share of the clipped excess charge spilt to neighbours
	blur     float64 // optics σ, pixels
	glare    float64 // lamp reflection peak, multiples of paper white
	glareR   float64 // its σ, modules
	glareU   float64 // its centre, module coordinates
	glareV   float64
	glareOn  int     // finder under the lamp (0 TL, 1 TR, 2 BL); -1 none
	veil     float64 // glass: reflected surroundings, linear
	ghost    float64 // glass: second image strength
	ghostDX  float64 // its displacement, pixels
	ghostDY  float64
	noise    float64
	jpegQ    int
	base     params // background, tint, placement, vignette (classic draw)
}

func drawPhys(r *rand.Rand, c Condition, sz Size) phys {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	sign := func() float64 {
		if r.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	k := float64(sz.H) / 480
	p := phys{
		ecc:      decoder.ErrorCorrectionLevel_M,
		version:  13 + r.IntN(13),
		frac:     u(0.15, 0.35),
		rot:      sign() * u(0, 12) * math.Pi / 180,
		tiltX:    sign() * u(0, 6) * math.Pi / 180,
		tiltY:    sign() * u(0, 6) * math.Pi / 180,
		focal:    u(0.8, 1.1),
		ink:      u(0.03, 0.08),
		paper:    u(0.65, 0.85),
		ambient:  u(0.3, 0.5),
		gain:     u(0.9, 1.1),
		bloom:    u(0.01, 0.03),
		bloomSig: u(3, 6) * k,
		spill:    0.3,
		blur:     u(0.6, 0.9) * k,
		glareOn:  -1,
		noise:    u(1.5, 3.5) / 255,
		base:     draw(r, Clean, sz),
	}
	if r.IntN(10) < 3 {
		p.ecc = decoder.ErrorCorrectionLevel_Q
	}
	l := [3]float64{u(-0.6, 0.6), u(-0.6, 0.6), -1}
	n := math.Sqrt(l[0]*l[0] + l[1]*l[1] + 1)
	p.light = [3]float64{l[0] / n, l[1] / n, l[2] / n}
	tilt := func(lo, hi float64) {
		a := u(lo, hi) * math.Pi / 180
		dir := u(0, 2*math.Pi)
		p.tiltX, p.tiltY = a*math.Cos(dir), a*math.Sin(dir)
	}
	phone := func() {
		p.screen = true
		p.ink, p.paper = u(0.005, 0.02), u(0.75, 0.95)
	}
	switch c {
	case Curved:
		// Sized by how far the bend takes the symbol from the homography
		// through its corners (the arc follows from the version at render).
		p.bendDev = u(1, 3.5)
		p.bendAxis = u(0, math.Pi)
		p.bendSign = sign()
		tilt(0, 15)
		if r.IntN(2) == 0 {
			phone()
		}
	case Keystone:
		tilt(30, 45)
		p.focal = u(0.45, 0.65)
		p.k1 = -u(0.01, 0.05)
		p.frac = u(0.12, 0.3)
		p.blur = u(0.5, 0.8) * k
	case Washed:
		phone()
		p.frac = u(0.22, 0.38) // a phone held out to the camera
		p.gain = u(2, 3.6)
		p.bloom = u(0.04, 0.1)
		p.bloomSig = u(3, 8) * k
		p.spill = u(0.5, 0.9)
		p.blur = u(0.7, 1.1) * k
		tilt(0, 15)
	case LampGlare:
		if r.IntN(3) == 0 {
			phone()
		}
		p.glareOn = r.IntN(3)
		p.glare = u(2, 6)
		p.glareR = u(2.5, 4.5)
		tilt(0, 20)
	case Small:
		p.modulePx = u(2.2, 2.3)
		p.blur = u(0.5, 0.75)
		p.jpegQ = 60
		p.noise = u(2, 4) / 255
		tilt(0, 12)
		if r.IntN(3) == 0 {
			phone()
		}
	case Glass:
		p.mirrored = r.IntN(2) == 0
		p.ghost = u(0.15, 0.35)
		a := u(0, 2*math.Pi)
		d := u(0.8, 2.5) // modules; turned into pixels at render
		p.ghostDX, p.ghostDY = d*math.Cos(a), d*math.Sin(a)
		p.veil = u(0.05, 0.25)
		tilt(0, 20)
		if r.IntN(2) == 0 {
			phone()
		}
	case DarkTilt:
		phone()
		p.inverted = true
		p.ink, p.paper = u(0.7, 0.95), u(0.003, 0.02) // light modules on black
		switch r.IntN(3) {
		case 0:
			tilt(20, 40)
		case 1:
			tilt(0, 12)
			p.glareOn = 3 // anywhere on the screen
			p.glare = u(0.6, 2)
			p.glareR = u(4, 8)
		default:
			tilt(20, 35)
			p.glareOn = 3
			p.glare = u(0.5, 1.5)
			p.glareR = u(4, 8)
		}
	}
	if p.glareOn >= 0 {
		// Over a finder centre (3.5, 3.5 modules from its corner), give or
		// take a module and a half; placed at render once the size is known.
		p.glareU, p.glareV = u(-1.5, 1.5), u(-1.5, 1.5)
		if p.glareOn == 3 {
			p.glareU, p.glareV = u(0.2, 0.8), u(0.2, 0.8) // relative to the symbol
		}
	}
	return p
}

// alnumCapacity is the number of alphanumeric characters a QR symbol of
// version v at level ecc holds.
func alnumCapacity(v int, ecc decoder.ErrorCorrectionLevel) int {
	ver, err := decoder.Version_GetVersionForNumber(v)
	if err != nil {
		return 0
	}
	data := ver.GetTotalCodewords() - ver.GetECBlocksForLevel(ecc).GetTotalECCodewords()
	countBits := 9
	switch {
	case v >= 27:
		countBits = 13
	case v >= 10:
		countBits = 11
	}
	bits := 8*data - 4 - countBits
	n := bits / 11 * 2
	if bits%11 >= 6 {
		n++
	}
	return n
}

// hardPayload returns an RTC1 text that needs exactly QR version v at ecc.
func hardPayload(r *rand.Rand, v int, ecc decoder.ErrorCorrectionLevel) string {
	lo, hi := alnumCapacity(v-1, ecc)+1, alnumCapacity(v, ecc)
	return Payload(r, lo+r.IntN(hi-lo+1))
}

// camera is the geometry of a physically modelled frame: module
// coordinates (u, v) of the symbol to image coordinates.
type camera struct {
	dim        float64
	mirrored   bool
	bendR      float64 // modules; 0 = flat
	ax, ay     float64 // unit vector of the cylinder axis in the code plane
	bendSign   float64
	rot        mat3
	z          float64 // distance, modules
	f          float64 // focal length, pixels
	sx, sy     float64 // image shift of the undistorted projection
	cx, cy     float64 // principal point: the frame centre
	k1         float64
	normR2     float64 // squared normalising radius of the distortion
	undistorts bool
}

// surface returns the 3-D point (code frame, modules) of module
// coordinates (u, v) and the surface normal there.
func (c *camera) surface(u, v float64) (p, n [3]float64) {
	if c.mirrored {
		u = c.dim - u
	}
	h := c.dim / 2
	px, py := u-h, v-h
	if c.bendR == 0 {
		return [3]float64{px, py, 0}, [3]float64{0, 0, -1}
	}
	s := px*c.ax + py*c.ay  // along the axis
	t := -px*c.ay + py*c.ax // across it
	th := t / c.bendR
	t2 := c.bendR * math.Sin(th)
	z := c.bendSign * c.bendR * (1 - math.Cos(th))
	// The normal turns with the arc: towards the camera is -z.
	nt := c.bendSign * math.Sin(th)
	nz := -math.Cos(th)
	return [3]float64{s*c.ax - t2*c.ay, s*c.ay + t2*c.ax, z},
		[3]float64{-nt * c.ay, nt * c.ax, nz}
}

func (c *camera) rotate(p [3]float64) [3]float64 {
	var q [3]float64
	for i := range 3 {
		q[i] = c.rot[i][0]*p[0] + c.rot[i][1]*p[1] + c.rot[i][2]*p[2]
	}
	return q
}

// undistorted projects module coordinates without lens distortion,
// relative to the principal point.
func (c *camera) undistorted(u, v float64) (float64, float64, bool) {
	p, _ := c.surface(u, v)
	q := c.rotate(p)
	zz := q[2] + c.z
	if zz < 1e-6 {
		return 0, 0, false
	}
	return c.f*q[0]/zz + c.sx, c.f*q[1]/zz + c.sy, true
}

// project maps module coordinates to image coordinates.
func (c *camera) project(u, v float64) (float64, float64, bool) {
	x, y, ok := c.undistorted(u, v)
	if !ok {
		return 0, 0, false
	}
	k := 1 + c.k1*(x*x+y*y)/c.normR2
	return c.cx + x*k, c.cy + y*k, true
}

// normal returns the surface normal at (u, v) in camera coordinates.
func (c *camera) normal(u, v float64) [3]float64 {
	_, n := c.surface(u, v)
	return c.rotate(n)
}

// newCamera places the symbol of dim modules in a W×H frame per p: at the
// distance that gives the drawn apparent size, shifted to the drawn spot
// with the card (quiet zone, margin and bezel of ext modules) inside.
func newCamera(p phys, dim, W, H int, ext float64) (*camera, error) {
	d := float64(dim)
	c := &camera{
		dim: d, mirrored: p.mirrored, bendSign: p.bendSign,
		f: p.focal * float64(W), cx: float64(W) / 2, cy: float64(H) / 2, k1: p.k1,
	}
	c.normR2 = c.cx*c.cx + c.cy*c.cy
	if p.bendArc > 0 {
		c.bendR = d / p.bendArc
		c.ax, c.ay = math.Cos(p.bendAxis), math.Sin(p.bendAxis)
	}
	rot := mat3{{math.Cos(p.rot), -math.Sin(p.rot), 0}, {math.Sin(p.rot), math.Cos(p.rot), 0}, {0, 0, 1}}
	rx := mat3{{1, 0, 0}, {0, math.Cos(p.tiltX), -math.Sin(p.tiltX)}, {0, math.Sin(p.tiltX), math.Cos(p.tiltX)}}
	ry := mat3{{math.Cos(p.tiltY), 0, math.Sin(p.tiltY)}, {0, 1, 0}, {-math.Sin(p.tiltY), 0, math.Cos(p.tiltY)}}
	c.rot = rot.mul(rx).mul(ry)
	if p.modulePx > 0 {
		c.z = c.f / p.modulePx
	} else {
		side := math.Sqrt(p.frac * float64(W*H))
		c.z = c.f * d / side
	}
	for range 80 {
		c.sx, c.sy = 0, 0
		minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		ok := true
		const n = 24
		for i := 0; i <= n && ok; i++ {
			t := -ext + (d+2*ext)*float64(i)/n
			for _, q := range [4][2]float64{{t, -ext}, {t, d + ext}, {-ext, t}, {d + ext, t}} {
				x, y, good := c.undistorted(q[0], q[1])
				if !good {
					ok = false
					break
				}
				minX, maxX = math.Min(minX, x), math.Max(maxX, x)
				minY, maxY = math.Min(minY, y), math.Max(maxY, y)
			}
		}
		freeX := float64(W) - 6 - (maxX - minX)
		freeY := float64(H) - 6 - (maxY - minY)
		if ok && freeX >= 0 && freeY >= 0 {
			// The undistorted box inside the frame: barrel distortion only
			// pulls points towards the centre, so the card stays in.
			c.sx = -c.cx + 3 + p.base.offX*freeX - minX
			c.sy = -c.cy + 3 + p.base.offY*freeY - minY
			return c, nil
		}
		if p.modulePx > 0 {
			break // the size is the point: no shrinking
		}
		c.z *= 1.05
	}
	return nil, fmt.Errorf("%w: code does not fit in %dx%d", ErrBadSpec, W, H)
}

// renderHard draws a physically modelled frame, redrawing the parameters
// until the oracle finds it readable.
func renderHard(spec Spec, r *rand.Rand) (*Frame, error) {
	var last Oracle
	for attempt := range maxRedraws {
		p := drawPhys(r, spec.Condition, spec.Size)
		text := spec.Text
		if text == "" {
			text = hardPayload(r, p.version, p.ecc)
		}
		f, err := renderPhys(spec, r, p, text)
		if err != nil {
			return nil, err
		}
		f.Oracle = Check(f)
		f.Redraws = attempt
		if f.Oracle.Readable() {
			return f, nil
		}
		last = f.Oracle
	}
	return nil, fmt.Errorf("%w: no readable %s frame in %d draws (last: %s)", ErrBadSpec, spec.Condition, maxRedraws, last)
}

func renderPhys(spec Spec, r *rand.Rand, p phys, text string) (*Frame, error) {
	W, H := spec.Size.W, spec.Size.H
	bits, err := encodeAt(text, p.ecc)
	if err != nil {
		return nil, err
	}
	dim := bits.GetWidth()
	quiet := 4 + p.base.cardMargin
	ext := quiet
	if p.screen {
		ext += 3
	}
	if p.bendDev > 0 {
		// About 0.036·dim modules of departure per radian of arc; then
		// corrected for the perspective of the bent surface.
		p.bendArc = p.bendDev / (0.036 * float64(dim))
		for range 4 {
			cam, err := newCamera(p, dim, W, H, ext)
			if err != nil {
				return nil, err
			}
			p.bendArc = math.Min(p.bendArc*p.bendDev/offFlat(cam), 100*math.Pi/180)
		}
	}
	cam, err := newCamera(p, dim, W, H, ext)
	if err != nil {
		return nil, err
	}
	// Module size at the centre, for the effects sized in modules.
	x0, y0, _ := cam.project(float64(dim)/2, float64(dim)/2)
	x1, y1, _ := cam.project(float64(dim)/2+1, float64(dim)/2)
	mpx := math.Hypot(x1-x0, y1-y0)

	// Background in linear light.
	lum := make([]float64, W*H)
	background(r, lum, W, H, p.base)
	toLinear := newCurve(2.2)
	for i, v := range lum {
		lum[i] = toLinear.at(v) * 0.8
	}
	rasterise(lum, W, H, cam, bits, p, quiet, ext)

	// Light: vignetting, the lamp's reflection, the glass' veil and ghost.
	diag2 := (float64(W)*float64(W) + float64(H)*float64(H)) / 4
	var gx, gy, gs float64
	if p.glareOn >= 0 {
		u, v := p.glareU, p.glareV
		switch p.glareOn {
		case 0:
			u, v = 3.5+u, 3.5+v
		case 1:
			u, v = float64(dim)-3.5+u, 3.5+v
		case 2:
			u, v = 3.5+u, float64(dim)-3.5+v
		default:
			u, v = u*float64(dim), v*float64(dim)
		}
		gx, gy, _ = cam.project(u, v)
		gs = p.glareR * mpx
	}
	var veil []float64
	if p.veil > 0 {
		veil = veilField(r, W, H)
	}
	for y := range H {
		for x := range W {
			i := y*W + x
			dx, dy := float64(x)-float64(W)/2, float64(y)-float64(H)/2
			v := lum[i] * (1 - p.base.vignette*(dx*dx+dy*dy)/diag2)
			if p.glareOn >= 0 {
				ddx, ddy := float64(x)+0.5-gx, float64(y)+0.5-gy
				// A lamp's reflection: a bright core with a soft halo
				// (nothing left of it beyond 12σ).
				if d2 := (ddx*ddx + ddy*ddy) / (gs * gs); d2 < 144 {
					v += p.glare * p.paper * (0.75*math.Exp(-d2/2) + 0.25*math.Exp(-d2/8))
				}
			}
			if veil != nil {
				v = v*0.9 + p.veil*veil[i]
			}
			lum[i] = v
		}
	}
	if p.ghost > 0 {
		lum = ghosted(lum, W, H, p.ghost, p.ghostDX*mpx, p.ghostDY*mpx)
	}
	// Optics: blur and the lens' wide halo.
	if p.blur > 0 {
		gaussian(lum, W, H, p.blur)
	}
	if p.bloom > 0 {
		halo := append([]float64(nil), lum...)
		boxGauss(halo, W, H, p.bloomSig)
		for i := range lum {
			lum[i] = (1-p.bloom)*lum[i] + p.bloom*halo[i]
		}
	}
	// Sensor: exposure, clipping, the excess charge spilt to neighbours.
	excess := make([]float64, W*H)
	spilt := false
	for i, v := range lum {
		v *= p.gain
		if v > 1 {
			excess[i] = v - 1
			v = 1
			spilt = true
		}
		lum[i] = v
	}
	if spilt && p.spill > 0 {
		gaussian(excess, W, H, 1.2*float64(H)/480)
		for i := range lum {
			lum[i] = clampF(lum[i]+p.spill*excess[i], 0, 1)
		}
	}
	// Display encoding.
	toDisplay := newCurve(1 / 2.2)
	for i, v := range lum {
		lum[i] = toDisplay.at(v)
	}
	img := sensorOut(r, lum, W, H, p.base.tint, p.noise)

	f := &Frame{Spec: spec, Text: text, Image: img, Version: (dim - 17) / 4, Dim: dim, bits: bits, ecc: p.ecc, cam: cam, Mirrored: p.mirrored, inverted: p.inverted}
	d := float64(dim)
	for i, c := range [4][2]float64{{0, 0}, {d, 0}, {d, d}, {0, d}} {
		f.Corners[i][0], f.Corners[i][1] = f.ModuleToImage(c[0], c[1])
	}
	f.Params = fmt.Sprintf("v%d %s px/mod=%.2f rot=%.1f° tilt=%.1f°/%.1f° focal=%.2fW k1=%.3f bend=%.0f° dev=%.1f mirrored=%v screen=%v inverted=%v gain=%.2f bloom=%.2f blur=%.2f glare=%.1f@%d ghost=%.2f veil=%.2f jpeg=%d",
		(dim-17)/4, p.ecc, mpx, p.rot*180/math.Pi, p.tiltX*180/math.Pi, p.tiltY*180/math.Pi, p.focal, p.k1, p.bendArc*180/math.Pi, offFlat(cam),
		p.mirrored, p.screen, p.inverted, p.gain, p.bloom, p.blur, p.glare, p.glareOn, p.ghost, p.veil, p.jpegQ)
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

// rasterise draws the card (paper or screen), its symbol and, on a phone,
// the bezel into lum through the camera, with 3×3 supersampling. The
// surface is tessellated in half-module cells, each split into two
// triangles inside which the image → module map is affine.
func rasterise(lum []float64, W, H int, cam *camera, bits *gozxing.BitMatrix, p phys, quiet, ext float64) {
	dim := cam.dim
	bg := append([]float64(nil), lum...)
	lo, hi := -ext-1.5, dim+ext+1.5
	// Paper is lit: ambient plus a directional light on the curved
	// surface. A screen emits.
	shade := func(u, v float64) float64 {
		if p.screen {
			return 1
		}
		nn := cam.normal(u, v)
		lambert := nn[0]*p.light[0] + nn[1]*p.light[1] + nn[2]*p.light[2]
		return p.ambient + (1-p.ambient)*math.Max(0, lambert)
	}
	const step = 1.0
	n := int(math.Ceil((hi - lo) / step))
	type vert struct {
		x, y, u, v, sh float64
		ok             bool
	}
	verts := make([]vert, (n+1)*(n+1))
	for j := 0; j <= n; j++ {
		for i := 0; i <= n; i++ {
			u, v := lo+float64(i)*step, lo+float64(j)*step
			x, y, ok := cam.project(u, v)
			verts[j*(n+1)+i] = vert{x, y, u, v, shade(u, v), ok}
		}
	}
	ink, paper := p.ink, p.paper
	bezel := 0.004
	idim := int(dim)
	mods := make([]float64, idim*idim)
	for y := range idim {
		for x := range idim {
			mods[y*idim+x] = paper
			if bits.Get(x, y) {
				mods[y*idim+x] = ink
			}
		}
	}
	tri := func(a, b, c vert) {
		if !a.ok || !b.ok || !c.ok {
			return
		}
		// Affine map image → module over the triangle, from barycentric
		// coordinates l1 (towards b) and l2 (towards c).
		det := (b.x-a.x)*(c.y-a.y) - (c.x-a.x)*(b.y-a.y)
		if math.Abs(det) < 1e-9 {
			return
		}
		l1x, l1y := (c.y-a.y)/det, -(c.x-a.x)/det
		l2x, l2y := -(b.y-a.y)/det, (b.x-a.x)/det
		dux := l1x*(b.u-a.u) + l2x*(c.u-a.u)
		duy := l1y*(b.u-a.u) + l2y*(c.u-a.u)
		dvx := l1x*(b.v-a.v) + l2x*(c.v-a.v)
		dvy := l1y*(b.v-a.v) + l2y*(c.v-a.v)
		var offU, offV [9]float64
		for k, o := range subsamples {
			offU[k], offV[k] = dux*o[0]+duy*o[1], dvx*o[0]+dvy*o[1]
		}
		minX := int(math.Floor(math.Min(a.x, math.Min(b.x, c.x))))
		maxX := int(math.Ceil(math.Max(a.x, math.Max(b.x, c.x))))
		minY := int(math.Floor(math.Min(a.y, math.Min(b.y, c.y))))
		maxY := int(math.Ceil(math.Max(a.y, math.Max(b.y, c.y))))
		minX, minY = max(minX, 0), max(minY, 0)
		maxX, maxY = min(maxX, W-1), min(maxY, H-1)
		for py := minY; py <= maxY; py++ {
			cy := float64(py) + 0.5 - a.y
			for px := minX; px <= maxX; px++ {
				cx := float64(px) + 0.5 - a.x
				l1 := l1x*cx + l1y*cy
				l2 := l2x*cx + l2y*cy
				if l1 < -1e-9 || l2 < -1e-9 || l1+l2 > 1+1e-9 {
					continue
				}
				k := py*W + px
				cu := a.u + dux*cx + duy*cy
				cv := a.v + dvx*cx + dvy*cy
				sh := a.sh + l1*(b.sh-a.sh) + l2*(c.sh-a.sh)
				sum := 0.0
				for s := range 9 {
					u, v := cu+offU[s], cv+offV[s]
					switch {
					case u >= 0 && v >= 0 && u < dim && v < dim:
						sum += mods[int(v)*idim+int(u)] * sh
					case u >= -quiet && v >= -quiet && u < dim+quiet && v < dim+quiet:
						sum += paper * sh
					case p.screen && u >= -ext && v >= -ext && u < dim+ext && v < dim+ext:
						sum += bezel * sh
					default:
						sum += bg[k]
					}
				}
				lum[k] = sum / 9
			}
		}
	}
	for j := range n {
		for i := range n {
			a := verts[j*(n+1)+i]
			b := verts[j*(n+1)+i+1]
			c := verts[(j+1)*(n+1)+i]
			d := verts[(j+1)*(n+1)+i+1]
			tri(a, b, c)
			tri(b, d, c)
		}
	}
}

// sensorOut turns display luminance into an RGB image with a colour tint
// and sensor noise of σ noise (0..1 units), drawn from a table of normal
// deviates for speed.
func sensorOut(r *rand.Rand, lum []float64, W, H int, tint [3]float64, noise float64) *image.RGBA {
	var normals [4096]float64
	for i := range normals {
		normals[i] = r.NormFloat64() * noise * 255
	}
	var t [3]float64
	for ch := range 3 {
		t[ch] = tint[ch] * 255
	}
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	var bits uint64
	for i, v := range lum {
		if i%5 == 0 {
			bits = r.Uint64()
		}
		n := normals[bits&4095]
		bits >>= 12
		px := img.Pix[4*i : 4*i+4 : 4*i+4]
		for ch := range 3 {
			px[ch] = clamp255(v*t[ch] + n + 0.5)
		}
		px[3] = 255
	}
	return img
}

// subsamples are the 3×3 sample offsets within a pixel, from its centre.
var subsamples = [9][2]float64{
	{-1.0 / 3, -1.0 / 3}, {0, -1.0 / 3}, {1.0 / 3, -1.0 / 3},
	{-1.0 / 3, 0}, {0, 0}, {1.0 / 3, 0},
	{-1.0 / 3, 1.0 / 3}, {0, 1.0 / 3}, {1.0 / 3, 1.0 / 3},
}

// veilField is the reflection of the surroundings on glass: a few large
// soft bright shapes, 0..1.
func veilField(r *rand.Rand, W, H int) []float64 {
	out := make([]float64, W*H)
	type blob struct{ x, y, s, a float64 }
	var bs []blob
	for range 2 + r.IntN(3) {
		bs = append(bs, blob{r.Float64() * float64(W), r.Float64() * float64(H), (0.15 + 0.3*r.Float64()) * float64(W), 0.4 + 0.6*r.Float64()})
	}
	ang := r.Float64() * math.Pi
	ca, sa := math.Cos(ang), math.Sin(ang)
	at := func(x, y float64) float64 {
		v := 0.3 + 0.2*(x*ca+y*sa)/float64(W)
		for _, b := range bs {
			dx, dy := x-b.x, y-b.y
			v += b.a * math.Exp(-(dx*dx+dy*dy)/(2*b.s*b.s))
		}
		return math.Min(v, 1.5)
	}
	// The shapes are large and soft: evaluate every 8 pixels and
	// interpolate.
	const step = 8
	gw, gh := W/step+2, H/step+2
	grid := make([]float64, gw*gh)
	for j := range gh {
		for i := range gw {
			grid[j*gw+i] = at(float64(i*step), float64(j*step))
		}
	}
	for y := range H {
		j, fy := y/step, float64(y%step)/step
		for x := range W {
			i, fx := x/step, float64(x%step)/step
			a := grid[j*gw+i]*(1-fx) + grid[j*gw+i+1]*fx
			b := grid[(j+1)*gw+i]*(1-fx) + grid[(j+1)*gw+i+1]*fx
			out[y*W+x] = a*(1-fy) + b*fy
		}
	}
	return out
}

// curve is v ↦ v^γ on [0, 1] (values outside clamped), tabulated.
type curve struct{ t [4097]float64 }

func newCurve(gamma float64) *curve {
	c := &curve{}
	for i := range c.t {
		c.t[i] = math.Pow(float64(i)/4096, gamma)
	}
	return c
}

func (c *curve) at(v float64) float64 {
	if v <= 0 {
		return 0
	}
	if v >= 1 {
		return 1
	}
	f := v * 4096
	i := int(f)
	return c.t[i] + (c.t[min(i+1, 4096)]-c.t[i])*(f-float64(i))
}

// ghosted adds the second image of a glass pane: lum plus a·lum displaced
// by (dx, dy) pixels, the total energy kept.
func ghosted(lum []float64, W, H int, a, dx, dy float64) []float64 {
	out := make([]float64, W*H)
	for y := range H {
		for x := range W {
			g := bilinear(lum, W, H, float64(x)-dx, float64(y)-dy)
			out[y*W+x] = (lum[y*W+x] + a*g) / (1 + a*0.5)
		}
	}
	return out
}

// boxGauss approximates a Gaussian of σ s with three box blurs (for the
// wide bloom halo).
func boxGauss(lum []float64, W, H int, s float64) {
	r := max(1, int(math.Round(math.Sqrt(4*s*s+1)/2)))
	tmp := make([]float64, W*H)
	for range 3 {
		boxPass(lum, tmp, W, H, r, true)
		boxPass(tmp, lum, W, H, r, false)
	}
}

func boxPass(src, dst []float64, W, H, r int, horizontal bool) {
	n := float64(2*r + 1)
	if horizontal {
		for y := range H {
			row := src[y*W : (y+1)*W]
			at := func(x int) float64 { return row[min(max(x, 0), W-1)] }
			s := 0.0
			for x := -r; x <= r; x++ {
				s += at(x)
			}
			for x := range W {
				dst[y*W+x] = s / n
				s += at(x+r+1) - at(x-r)
			}
		}
		return
	}
	for x := range W {
		at := func(y int) float64 { return src[min(max(y, 0), H-1)*W+x] }
		s := 0.0
		for y := -r; y <= r; y++ {
			s += at(y)
		}
		for y := range H {
			dst[y*W+x] = s / n
			s += at(y+r+1) - at(y-r)
		}
	}
}

// encodeAt renders text as a QR symbol at level ecc, one pixel per module.
func encodeAt(text string, ecc decoder.ErrorCorrectionLevel) (*gozxing.BitMatrix, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: ecc,
		gozxing.EncodeHintType_MARGIN:           0,
	}
	bm, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %v", ErrBadSpec, err)
	}
	return bm, nil
}

// luma is the BT.601 luminance the scan package computes, at (x, y).
func luma(img image.Image, x, y int) float64 {
	switch m := img.(type) {
	case *image.RGBA:
		o := m.PixOffset(x, y)
		return float64((77*uint32(m.Pix[o]) + 150*uint32(m.Pix[o+1]) + 29*uint32(m.Pix[o+2]) + 128) >> 8)
	case *image.YCbCr:
		return float64(m.Y[m.YOffset(x, y)])
	case *image.Gray:
		return float64(m.Pix[m.PixOffset(x, y)])
	}
	r, g, b, _ := img.At(x, y).RGBA()
	return float64((77*(r>>8) + 150*(g>>8) + 29*(b>>8) + 128) >> 8)
}

// offFlat is the largest distance, in local modules, between a module
// corner and where the homography through the symbol's four corners puts
// it: how far the surface and the lens take the symbol from flat.
func offFlat(c *camera) float64 {
	d := c.dim
	var src, dst [4][2]float64
	for i, s := range [4][2]float64{{0, 0}, {d, 0}, {d, d}, {0, d}} {
		x, y, _ := c.project(s[0], s[1])
		src[i], dst[i] = s, [2]float64{x, y}
	}
	h, ok := homographyFrom4(src, dst)
	if !ok {
		return math.Inf(1)
	}
	worst := 0.0
	for v := 0.0; v <= d; v += 2 {
		for u := 0.0; u <= d; u += 2 {
			tx, ty, _ := c.project(u, v)
			hx, hy, _ := h.apply(u, v)
			ux, uy, _ := c.project(u+1, v)
			worst = math.Max(worst, math.Hypot(hx-tx, hy-ty)/math.Hypot(ux-tx, uy-ty))
		}
	}
	return worst
}

// homographyFrom4 solves the homography mapping src[i] to dst[i].
func homographyFrom4(src, dst [4][2]float64) (homography, bool) {
	var a [8][9]float64
	for i, s := range src {
		x, y := dst[i][0], dst[i][1]
		a[2*i] = [9]float64{s[0], s[1], 1, 0, 0, 0, -s[0] * x, -s[1] * x, x}
		a[2*i+1] = [9]float64{0, 0, 0, s[0], s[1], 1, -s[0] * y, -s[1] * y, y}
	}
	for c := range 8 {
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return homography{}, false
		}
		a[c], a[p] = a[p], a[c]
		for r := range 8 {
			if r != c {
				f := a[r][c] / a[c][c]
				for k := c; k < 9; k++ {
					a[r][k] -= f * a[c][k]
				}
			}
		}
	}
	var x [8]float64
	for i := range 8 {
		x[i] = a[i][8] / a[i][i]
	}
	return homography{{x[0], x[1], x[2]}, {x[3], x[4], x[5]}, {x[6], x[7], 1}}, true
}
