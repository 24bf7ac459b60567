package scan

import (
	"cmp"
	"context"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/detector"

	"github.com/roadcheck/roadcheck/internal/clock"
)

// DefaultBudget is the per-frame time budget when Options.Budget is zero:
// what a live camera stream can afford per frame.
const DefaultBudget = 35 * time.Millisecond

// FileBudget is the budget for a still image a person chose (a file, a
// pasted or dropped picture): there is no next frame, so decoding may take
// its time, and a loaded machine must not turn a readable file into
// "no QR code found".
const FileBudget = 2 * time.Second

// DefaultPrefer is the text prefix preferred when a frame holds several codes.
const DefaultPrefer = "RTC1:"

// Options configure a Decoder. The zero value is usable.
type Options struct {
	// Budget bounds the work spent on one frame: attempts stop once it has
	// elapsed (checked between attempts and every few rows of the long
	// image operations, so a frame overruns it by a few milliseconds at
	// most). Zero means DefaultBudget; a negative value means no limit:
	// every attempt of the plan runs, which makes the outcome independent
	// of machine speed (tests use it).
	Budget time.Duration
	// Clock measures Result.Duration; nil means clock.Real.
	Clock clock.Clock
	// Prefer is the text prefix of the codes wanted when a frame holds
	// several; "" means DefaultPrefer. A code without it is returned only
	// when no preferred code turns up in the few attempts that follow.
	Prefer string
	// MaxPixels caps the decoded frame size: larger frames are downscaled
	// first. Zero means 4 Mpx.
	MaxPixels int
}

// Result is one decoded code.
type Result struct {
	// Text is the code's content.
	Text string
	// Attempt names the pipeline step that decoded it (e.g.
	// "sharp/hybrid", "inv/sharp/hybrid" for a dark-mode screen,
	// "regions/hybrid" for a small code seen again at full resolution,
	// "pairs/sharp/hybrid" for a code with a finder predicted), for tuning
	// and reports.
	Attempt string
	// Duration is the time Decode spent, measured with Options.Clock.
	Duration time.Duration
	// Corners are the symbol's outer corners in image coordinates,
	// clockwise from the top-left module.
	Corners [4]image.Point
}

// Decoder turns camera frames into QR code texts. It is safe for concurrent
// use; each Decode call works on its own state.
type Decoder struct {
	opts Options
}

// NewDecoder returns a Decoder with opts (defaults filled in).
func NewDecoder(opts Options) *Decoder {
	if opts.Budget == 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Prefer == "" {
		opts.Prefer = DefaultPrefer
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = 4 << 20
	}
	return &Decoder{opts: opts}
}

// Decode finds and decodes a QR code in img, preferring one whose text
// starts with Options.Prefer. It runs a plan of attempts (see the package
// documentation: preprocessed detection planes, both binarizers and
// polarities, a full-resolution look at textured regions, codes with a
// finder predicted, crops around finder patterns) and stops at the first
// preferred decode, when the budget runs out, when ctx is done, or early
// when the frame shows nothing like a code (no confirmed finder, no region
// textured like a code). It returns an error wrapping ErrNoCode when
// nothing decoded (also when the budget ran out), ErrTooLarge for images
// beyond MaxSide or MaxDeclaredPixels, or ctx's error when ctx ended
// before anything decoded.
//
// WARNING: the budget is checked between attempts and inside the long
// image operations, so a frame may overrun it by a few milliseconds (more
// on a loaded machine).
func (d *Decoder) Decode(ctx context.Context, img image.Image) (Result, error) {
	start := d.opts.Clock.Now()
	if img == nil || img.Bounds().Dx() < 21 || img.Bounds().Dy() < 21 {
		return Result{}, fmt.Errorf("decode: image smaller than a QR code: %w", ErrNoCode)
	}
	if b := img.Bounds(); b.Dx() > MaxSide || b.Dy() > MaxSide || b.Dx()*b.Dy() > MaxDeclaredPixels {
		return Result{}, fmt.Errorf("decode: image of %dx%d: %w", b.Dx(), b.Dy(), ErrTooLarge)
	}
	caller := ctx
	if d.opts.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.opts.Budget)
		defer cancel()
	}
	g := greyOf(img)
	scale := 1.0
	if px := g.w * g.h; px > d.opts.MaxPixels {
		f := sqrtRatio(d.opts.MaxPixels, px)
		small := g.resized(context.Background(), f)
		g.release()
		g = small
		scale = f
	}
	s := &session{g: g, r: newReader(), prefer: d.opts.Prefer}
	defer s.release()
	res, ok := s.run(ctx)
	res.Duration = d.opts.Clock.Now().Sub(start)
	if ok {
		for i := range res.Corners {
			res.Corners[i].X = int(float64(res.Corners[i].X)/scale + 0.5)
			res.Corners[i].Y = int(float64(res.Corners[i].Y)/scale + 0.5)
		}
		return res, nil
	}
	if err := caller.Err(); err != nil {
		return res, fmt.Errorf("decode: %w", err)
	}
	b := img.Bounds()
	if ctx.Err() != nil {
		return res, fmt.Errorf("decode %dx%d: budget %v used up after %d of %d steps: %w", b.Dx(), b.Dy(), d.opts.Budget, s.steps, s.planLen, ErrNoCode)
	}
	return res, fmt.Errorf("decode %dx%d: %w", b.Dx(), b.Dy(), ErrNoCode)
}

// sqrtRatio is the linear scale factor that turns b pixels into a.
func sqrtRatio(a, b int) float64 { return math.Sqrt(float64(a) / float64(b)) }

// extraSteps is how many more plan steps run after a code without the
// preferred prefix was found (the budget still applies).
const extraSteps = 5

// debugf, when set (by tests), traces the pipeline.
var debugf func(format string, args ...any)

func trace(format string, args ...any) {
	if debugf != nil {
		debugf(format, args...)
	}
}

// session is the state of one Decode call.
type session struct {
	g      *plane
	r      *reader
	prefer string

	planes   map[planeKey]*plane
	owned    []*plane // the planes to recycle (s.g apart)
	binaries map[planeKey]*bitmap
	tried    []triedTriple
	found    []found // non-preferred codes found so far
	extra    int     // attempts left after a non-preferred find; -1 = none yet
	finders  []seenFinder
	deferred []triedTriple // triples without evidence, read last
	pairsAt  [2]int        // len(finders) at the last pairs step, per polarity
	washed   int           // overexposed frame: 0 not yet known, 1 yes, -1 no
	steps    int           // plan steps started
	planLen  int
}

// planeKey names a cached plane (binar "") or bitmap: its preprocessing,
// its scale and its binarizer.
type planeKey struct {
	name  string
	scale float64
	binar string
}

// seenFinder is a finder candidate of some step, in grey-frame
// coordinates, with the polarity it was seen in.
type seenFinder struct {
	f   finder
	pol polarity
}

type triedTriple struct {
	t   triple
	pol polarity
}

type found struct {
	res  Result
	quad [4]pt
}

// Step kinds.
const (
	kindScan     = iota // binarize a detection plane, find finders, read the triples
	kindRegions         // look again at full resolution where the frame is textured like a code
	kindCrop            // look again, upscaled, around all the finders seen
	kindDeferred        // read the triples put off for want of evidence
	kindQuiet           // end the plan when the frame shows nothing like a code
)

// step is one attempt of the plan: for a scan, a detection plane (scale
// relative to the grey frame), a binarizer and a polarity.
//
// Whatever the detection plane, modules are sampled from the grey frame at
// full resolution.
type step struct {
	name  string
	kind  int
	plane string   // preprocessing: "grey", "sharp" (unsharp mask), "local" (local contrast normalisation), "thick" (dark modules grown by a pixel)
	scale float64  // detection plane pixels per grey pixel
	binar string   // binHybrid or binGlobal
	pol   polarity // 1 dark modules, -1 light ones (dark mode), 0 both
	// washed: 1 runs the step only on an overexposed frame, -1 only on
	// another one, 0 on any.
	washed int
}

// plan returns the attempt order for a frame of the given size: the
// cheapest and most often successful attempts first.
func plan(w, h int) []step {
	// Find finders on a copy of at most about 1000 pixels across, halved
	// (cheap, and it averages noise away); sampling always uses the full
	// frame.
	base := 1.0
	for long := max(w, h); long > 1000; long /= 2 {
		base /= 2
	}
	b := base
	var st []step
	scan := func(name, pl string, scale float64, binar string, pol polarity) {
		st = append(st, step{name: name, kind: kindScan, plane: pl, scale: scale, binar: binar, pol: pol})
	}
	other := func(name string, kind int, pol polarity) {
		st = append(st, step{name: name, kind: kind, scale: b, pol: pol})
	}
	// An overexposed frame starts with its dark modules thickened: bloom
	// has thinned them until the finders' runs fail on the plain plane.
	st = append(st, step{name: "thick/hybrid", kind: kindScan, plane: "thick", scale: b, binar: binHybrid, pol: 1, washed: 1})
	// pol 0: both polarities on the same bitmap, the likelier triples first.
	scan("sharp/hybrid", "sharp", b, binHybrid, 0)
	other("quiet", kindQuiet, 0)
	// Small, distant or steeply tilted codes need every pixel, or more:
	// the parts of the frame textured like a code, looked at again.
	other("regions", kindRegions, 0)
	st = append(st, step{name: "thick/hybrid", kind: kindScan, plane: "thick", scale: b, binar: binHybrid, pol: 1, washed: -1})
	scan("norm/hybrid", "local", b, binHybrid, 0)
	scan("hybrid", "grey", b, binHybrid, 0)
	scan("global", "grey", b, binGlobal, 0)
	if b == 1 {
		scan("up2/sharp/hybrid", "sharp", 2, binHybrid, 0)
	}
	scan("norm/global", "local", b, binGlobal, 0)
	other("deferred", kindDeferred, 0)
	scan("up2/hybrid", "grey", 2*b, binHybrid, 0)
	if b < 1 {
		scan("full/norm/hybrid", "local", 1, binHybrid, 0)
	}
	scan("down2/hybrid", "grey", b/2, binHybrid, 0)
	other("crop", kindCrop, 1)
	other("inv/crop", kindCrop, -1)
	return st
}

// plane returns (and caches) the named preprocessing of the grey frame at
// the given scale, or nil when ctx ends first.
func (s *session) plane(ctx context.Context, name string, scale float64) *plane {
	key := planeKey{name, scale, ""}
	if p, ok := s.planes[key]; ok {
		return p
	}
	if s.planes == nil {
		s.planes = map[planeKey]*plane{}
	}
	var p *plane
	switch {
	case name == "grey" && scale == 1:
		p = s.g
	case name == "grey":
		p = s.g.resized(ctx, scale)
	default:
		// Preprocess at the detection scale: cheaper, and radii relative
		// to that plane.
		g := s.plane(ctx, "grey", scale)
		if g == nil {
			return nil
		}
		switch name {
		case "local":
			p = g.localNormalised(ctx, max(8, min(g.w, g.h)/24))
		case "sharp":
			p = g.unsharp(ctx, 3, 2)
		case "thick":
			p = g.eroded(ctx)
		default:
			p = g
		}
	}
	if p == nil {
		return nil
	}
	s.planes[key] = p
	if p != s.g {
		s.owned = append(s.owned, p)
	}
	return p
}

// release recycles the session's planes and bitmaps.
func (s *session) release() {
	for _, p := range s.owned {
		p.release()
	}
	for _, b := range s.binaries {
		b.release()
	}
	s.g.release()
	s.owned, s.planes, s.binaries = nil, nil, nil
}

// binary returns (and caches) the binarized plane: the inverted steps
// reuse the bitmap of their upright twin. It returns nil when ctx ends
// first.
func (s *session) binary(ctx context.Context, name string, scale float64, kind string) *bitmap {
	key := planeKey{name, scale, kind}
	if bm, ok := s.binaries[key]; ok {
		return bm
	}
	p := s.plane(ctx, name, scale)
	if p == nil {
		return nil
	}
	bm := binarize(ctx, p, kind)
	if bm == nil {
		return nil
	}
	if s.binaries == nil {
		s.binaries = map[planeKey]*bitmap{}
	}
	s.binaries[key] = bm
	return bm
}

// run executes the plan until a preferred code decodes or ctx ends.
func (s *session) run(ctx context.Context) (Result, bool) {
	s.extra = -1
	steps := plan(s.g.w, s.g.h)
	s.planLen = len(steps)
	for _, st := range steps {
		if ctx.Err() != nil {
			break
		}
		if st.washed != 0 && (st.washed > 0) != s.overexposed(ctx, st.scale) {
			continue
		}
		s.steps++
		if debugf != nil {
			trace("STEP %s (kind %d, scale %.2f)", st.name, st.kind, st.scale)
		}
		if s.extra == 0 {
			break
		}
		if s.extra > 0 {
			s.extra--
		}
		var res Result
		var ok bool
		switch st.kind {
		case kindScan:
			res, ok = s.scanStep(ctx, st)
		case kindRegions:
			res, ok = s.regionsStep(ctx, st)
		case kindCrop:
			res, ok = s.cropStep(ctx, st)
		case kindDeferred:
			res, ok = s.deferredStep(ctx, st)
		case kindQuiet:
			if s.quiet(ctx, st) {
				trace("quiet frame: no finder, no textured region")
				return Result{}, false
			}
		}
		if ok {
			return res, true
		}
	}
	if len(s.found) > 0 {
		return s.found[0].res, true
	}
	return Result{}, false
}

// scanStep runs one binarize → find finders → read attempt.
func (s *session) scanStep(ctx context.Context, st step) (Result, bool) {
	bm := s.binary(ctx, st.plane, st.scale, st.binar)
	if bm == nil || ctx.Err() != nil {
		return Result{}, false
	}
	return s.readBitmap(ctx, bm, st.name, polarities(st.pol), 1/st.scale, pt{})
}

// readBitmap finds the finders of the polarities pols in bm, whose
// coordinates map to the grey frame by ·f + off, and reads the codes they
// outline: per polarity in turn, the triples most plausible first, then
// those predicted from pairs of finders when two or more were seen (one
// finder of the code may be washed out).
func (s *session) readBitmap(ctx context.Context, bm *bitmap, name string, pols []polarity, f float64, off pt) (Result, bool) {
	for _, pol := range pols {
		cands := findFinders(bm, flipOf(pol), 2)
		n := name
		if pol < 0 {
			n = "inv/" + n
		}
		if res, ok := s.readTriples(ctx, n, s.noteCandidates(n, cands, f, off, pol), pol); ok {
			return res, true
		}
		if len(cands) >= 2 {
			if res, ok := s.pairs(ctx, "pairs/"+n, pol); ok {
				return res, true
			}
		}
	}
	return Result{}, false
}

// polarities lists the polarities a step with pol covers: pol 0 means
// both, dark modules first.
func polarities(pol polarity) []polarity {
	switch {
	case pol > 0:
		return []polarity{1}
	case pol < 0:
		return []polarity{-1}
	}
	return []polarity{1, -1}
}

// noteCandidates remembers the candidates cands, whose coordinates map to
// the grey frame by ·f + off, for the pairs and crop steps, and returns the
// triples formed from them in grey-frame coordinates, the most plausible
// first.
func (s *session) noteCandidates(name string, cands []finder, f float64, off pt, pol polarity) []triple {
	if debugf != nil {
		trace("step %s: %d finder candidates", name, len(cands))
		for _, c := range cands {
			trace("  candidate %.1f,%.1f ms=%.2f count=%d", c.p.x*f+off.x, c.p.y*f+off.y, c.ms*f, c.count)
		}
	}
	for _, c := range cands {
		s.finders = append(s.finders, seenFinder{finder{p: c.p.scale(f).add(off), ms: c.ms * f, count: c.count}, pol})
	}
	ts := triples(cands, 6)
	for i := range ts {
		ts[i] = ts[i].scaled(f).shifted(off)
	}
	return ts
}

// readTriples reads the triples (grey-frame coordinates) not read before.
func (s *session) readTriples(ctx context.Context, name string, ts []triple, pol polarity) (Result, bool) {
	g := s.g
	for _, t := range ts {
		if ctx.Err() != nil {
			return Result{}, false
		}
		if s.seen(t, pol) || s.inFound(t) {
			continue
		}
		s.tried = append(s.tried, triedTriple{t, pol})
		text, gr, err := s.r.readTriple(ctx, g, t, pol, false)
		if debugf != nil {
			trace("  triple tl=%.1f,%.1f tr=%.1f,%.1f bl=%.1f,%.1f ms=%.2f score=%.2f: err=%v", t.tl.p.x, t.tl.p.y, t.tr.p.x, t.tr.p.y, t.bl.p.x, t.bl.p.y, t.ms(), t.score, err)
		}
		if err == errNoEvidence {
			s.deferred = append(s.deferred, triedTriple{t, pol})
		}
		res, ok := s.result(name, text, gr, err)
		if ok {
			return res, true
		}
	}
	return Result{}, false
}

// deferredStep reads the triples put off for want of evidence, the best
// first.
func (s *session) deferredStep(ctx context.Context, st step) (Result, bool) {
	ds := s.deferred
	s.deferred = nil
	slices.SortStableFunc(ds, func(a, b triedTriple) int { return cmp.Compare(a.t.score, b.t.score) })
	for _, d := range ds {
		if ctx.Err() != nil {
			return Result{}, false
		}
		if s.inFound(d.t) {
			continue
		}
		text, gr, err := s.r.readTriple(ctx, s.g, d.t, d.pol, true)
		if res, ok := s.result(st.name, text, gr, err); ok {
			return res, true
		}
	}
	return Result{}, false
}

// result records a read: it returns the result when it is a preferred
// code; another code is kept for the end of the plan.
func (s *session) result(name, text string, gr grid, err error) (Result, bool) {
	if err != nil {
		return Result{}, false
	}
	res := Result{Text: text, Attempt: name}
	c := gr.corners()
	for i := range c {
		res.Corners[i] = image.Point{X: int(c[i].x + 0.5), Y: int(c[i].y + 0.5)}
	}
	if strings.HasPrefix(text, s.prefer) {
		return res, true
	}
	s.found = append(s.found, found{res: res, quad: c})
	if s.extra < 0 {
		s.extra = extraSteps
	}
	return Result{}, false
}

// pairs reads the triples predicted from pairs of the finders of
// polarity pol seen so far, unless none was seen since the last time.
func (s *session) pairs(ctx context.Context, name string, pol polarity) (Result, bool) {
	k := 0
	if pol < 0 {
		k = 1
	}
	if s.pairsAt[k] == len(s.finders) {
		return Result{}, false // no new candidates since the last time
	}
	s.pairsAt[k] = len(s.finders)
	var cands []finder
	for _, sf := range s.finders {
		if sf.pol != pol {
			continue
		}
		merged := false
		for i := range cands {
			c := &cands[i]
			if c.p.dist(sf.f.p) < 1.5*c.ms && sf.f.ms < 1.6*c.ms && c.ms < 1.6*sf.f.ms {
				c.count += sf.f.count
				merged = true
				break
			}
		}
		if !merged {
			cands = append(cands, sf.f)
		}
	}
	if len(cands) < 2 {
		return Result{}, false
	}
	ts := pairTriples(s.g, cands, pol, 6)
	if debugf != nil {
		trace("step %s: %d candidates, %d predicted triples", name, len(cands), len(ts))
	}
	return s.readTriples(ctx, name, ts, pol)
}

// overexposedShare is the share of clipped-white pixels that marks a frame
// as overexposed: a phone screen at full brightness in a dark cab, whose
// bloom thins the dark modules.
const overexposedShare = 0.05

// overexposed reports (and caches) whether the grey frame at the given
// scale is overexposed.
func (s *session) overexposed(ctx context.Context, scale float64) bool {
	if s.washed == 0 {
		s.washed = -1
		if p := s.plane(ctx, "grey", scale); p != nil {
			n := 0
			for _, v := range p.pix {
				if v >= 250 {
					n++
				}
			}
			if float64(n) > overexposedShare*float64(len(p.pix)) {
				s.washed = 1
			}
		}
	}
	return s.washed > 0
}

// quiet reports whether the frame shows nothing like a code: no finder
// candidate confirmed on two scan lines in the first step, and no region
// textured like a code. A live stream spends most frames on such views
// (the officer has not pointed the camera at the code yet); they end here
// instead of using the whole budget.
func (s *session) quiet(ctx context.Context, st step) bool {
	for _, f := range s.finders {
		if f.f.count >= 2 {
			return false
		}
	}
	bm := s.binary(ctx, "grey", st.scale, binHybrid)
	if bm == nil {
		return false
	}
	return len(codeRegions(bm, 1)) == 0
}

// regionsStep looks again, at full resolution (upscaled when the texture
// is fine), at the parts of the frame textured like a code: small or
// distant codes whose modules are too small at the detection scale.
func (s *session) regionsStep(ctx context.Context, st step) (Result, bool) {
	bm := s.binary(ctx, "grey", st.scale, binHybrid)
	if bm == nil || ctx.Err() != nil {
		return Result{}, false
	}
	for _, r := range codeRegions(bm, 2) {
		// To grey coordinates, with a margin for the quiet zone and the
		// finders' outer edges.
		x0, y0 := float64(r.Min.X)/st.scale, float64(r.Min.Y)/st.scale
		x1, y1 := float64(r.Max.X)/st.scale, float64(r.Max.Y)/st.scale
		pad := 0.1*max(x1-x0, y1-y0) + 8
		f := 1.0
		if max(x1-x0, y1-y0) < 400 {
			f = 2
		}
		res, ok := s.lookAgain(ctx, st.name, int(x0-pad), int(y0-pad), int(x1+pad), int(y1+pad), f, 1, -1)
		if ok || ctx.Err() != nil {
			return res, ok
		}
	}
	return Result{}, false
}

// lookAgain crops the grey frame to [x0,x1)×[y0,y1), scales it by f,
// sharpens it and reads the codes of the given polarities found there.
func (s *session) lookAgain(ctx context.Context, name string, x0, y0, x1, y1 int, f float64, pols ...polarity) (Result, bool) {
	if w, h := min(x1, s.g.w)-max(x0, 0), min(y1, s.g.h)-max(y0, 0); float64(w*h)*f*f > 3<<20 {
		return Result{}, false
	}
	c := s.g.crop(x0, y0, x1, y1)
	x0, y0 = max(x0, 0), max(y0, 0)
	up := c
	if f != 1 {
		up = c.resized(ctx, f)
		c.release()
		if up == nil {
			return Result{}, false
		}
	}
	defer up.release()
	var sharp *plane // made when first needed
	defer func() {
		if sharp != nil {
			sharp.release()
		}
	}()
	// Sharpened with both binarizers, then (dark modules only) thickened
	// for an overexposed screen.
	type variant struct{ prep, binar string }
	variants := []variant{{"sharp", binHybrid}, {"sharp", binGlobal}, {"thick", binHybrid}}
	if s.washed > 0 {
		variants = []variant{{"thick", binHybrid}, {"sharp", binHybrid}, {"sharp", binGlobal}}
	}
	for _, v := range variants {
		if v.prep == "sharp" && sharp == nil {
			if sharp = up.unsharp(ctx, 2, 1); sharp == nil {
				return Result{}, false
			}
		}
		p := sharp
		ps := pols
		if v.prep == "thick" {
			if !slices.Contains(pols, 1) {
				continue
			}
			p = up.eroded(ctx)
			if p == nil {
				return Result{}, false
			}
			defer p.release()
			ps = []polarity{1}
		}
		bm := binarize(ctx, p, v.binar)
		if bm == nil {
			return Result{}, false
		}
		defer bm.release()
		if ctx.Err() != nil {
			return Result{}, false
		}
		n := name + "/" + v.binar
		if v.prep == "thick" {
			n = name + "/thick"
		}
		if res, ok := s.readBitmap(ctx, bm, n, ps, 1/f, pt{float64(x0), float64(y0)}); ok {
			return res, true
		}
	}
	return Result{}, false
}

// seen reports whether an equivalent triple was already read.
func (s *session) seen(t triple, pol polarity) bool {
	tol := 0.25 * t.ms()
	for _, o := range s.tried {
		if o.pol == pol && o.t.tl.p.dist(t.tl.p) < tol && o.t.tr.p.dist(t.tr.p) < tol && o.t.bl.p.dist(t.bl.p) < tol {
			return true
		}
	}
	return false
}

// inFound reports whether t lies inside a code already decoded.
func (s *session) inFound(t triple) bool {
	for _, f := range s.found {
		if insideQuad(f.quad, t.tl.p) || insideQuad(f.quad, t.tr.p) || insideQuad(f.quad, t.bl.p) {
			return true
		}
	}
	return false
}

func insideQuad(q [4]pt, p pt) bool {
	sign := 0.0
	for i := range 4 {
		a, b := q[i], q[(i+1)%4]
		c := b.sub(a).cross(p.sub(a))
		if c == 0 {
			continue
		}
		if sign == 0 {
			sign = c
		} else if (c > 0) != (sign > 0) {
			return false
		}
	}
	return true
}

// cropStep upscales the region around the finder candidates seen so far
// (in the step's polarity) and reads it again: small or blurred codes get
// more pixels per module.
func (s *session) cropStep(ctx context.Context, st step) (Result, bool) {
	// Bounding box of the candidates, padded by 10 of their modules.
	minX, minY, maxX, maxY := float64(s.g.w), float64(s.g.h), 0.0, 0.0
	ms, n := 0.0, 0
	for _, sf := range s.finders {
		if sf.pol != st.pol {
			continue
		}
		f := sf.f
		minX, maxX = min(minX, f.p.x), max(maxX, f.p.x)
		minY, maxY = min(minY, f.p.y), max(maxY, f.p.y)
		ms += f.ms
		n++
	}
	if n == 0 {
		return Result{}, false
	}
	ms /= float64(n)
	pad := 10 * ms
	f := 2.0
	if ms > 5 {
		f = 1
	}
	return s.lookAgain(ctx, st.name, int(minX-pad), int(minY-pad), int(maxX+pad), int(maxY+pad), f, st.pol)
}

// flipOf is the bitmap XOR that makes modules of polarity pol read dark.
func flipOf(pol polarity) byte {
	if pol < 0 {
		return 1
	}
	return 0
}

// zxingRead is the plain gozxing detector on a binary matrix, used by tests
// as the baseline the pipeline must beat.
func zxingRead(bm *gozxing.BitMatrix) (string, error) {
	det, err := detector.NewDetector(bm).Detect(nil)
	if err != nil {
		return "", err
	}
	res, err := newReader().dec.Decode(det.GetBits(), nil)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}
