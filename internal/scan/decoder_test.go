package scan

import (
	"context"
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

func TestDecodeSampleExact(t *testing.T) {
	f := render(t, scene.Spec{Seed: 1, Condition: scene.Clean, Size: scene.Size{W: 640, H: 480}, Text: scene.Sample})
	res, err := decodeAll(t, f.Image)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != scene.Sample {
		t.Errorf("text = %q, want the worked example", res.Text)
	}
	if res.Attempt == "" {
		t.Error("Attempt is empty")
	}
	// The corners enclose the code: all inside the frame, a convex quad of
	// plausible size.
	area := 0.0
	for i, c := range res.Corners {
		if !c.In(f.Image.Bounds()) {
			t.Errorf("corner %d = %v outside the frame", i, c)
		}
		n := res.Corners[(i+1)%4]
		area += float64(c.X*n.Y - n.X*c.Y)
	}
	if frac := area / 2 / (640 * 480); frac < 0.1 || frac > 0.5 {
		t.Errorf("corners enclose %.2f of the frame, want 0.15–0.40", frac)
	}
}

// TestDecodePrefersRTC1: with an app's own code next to the licence, the
// RTC1 code wins whichever side it is on.
func TestDecodePrefersRTC1(t *testing.T) {
	decoy := "HTTPS://PAY.EXAMPLE.COM/T/8F3K2"
	for _, seed := range []uint64{11, 12, 13, 14} {
		f := render(t, scene.Spec{Seed: seed, Condition: scene.Clean, Size: scene.Size{W: 1280, H: 720}, Decoy: decoy})
		res, err := decodeAll(t, f.Image)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Text != f.Text {
			t.Errorf("seed %d: decoded %.30q…, want the RTC1 code", seed, res.Text)
		}
		// The preference decides: asked for the other prefix, the other
		// code comes back.
		other, err := NewDecoder(Options{Budget: -1, Prefer: "HTTPS:"}).Decode(context.Background(), f.Image)
		if err != nil || other.Text != decoy {
			t.Errorf("seed %d: with Prefer HTTPS: decoded %.30q…, %v; want the decoy", seed, other.Text, err)
		}
	}
}

func TestDecodeFallsBackToOtherCode(t *testing.T) {
	text := "HTTPS://EXAMPLE.COM/NOT/A/LICENCE"
	f := render(t, scene.Spec{Seed: 5, Condition: scene.Clean, Size: scene.Size{W: 640, H: 480}, Text: text})
	res, err := decodeAll(t, f.Image)
	if err != nil || res.Text != text {
		t.Errorf("Decode = %q, %v; want the only code %q", res.Text, err, text)
	}
}

func TestDecodeErrors(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 320, 240))
	for i := range blank.Pix {
		blank.Pix[i] = uint8(i * 7)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	sample := render(t, scene.Spec{Seed: 1, Condition: scene.Clean, Size: scene.Size{W: 640, H: 480}, Text: scene.Sample})
	tests := []struct {
		name    string
		ctx     context.Context
		img     image.Image
		budget  time.Duration
		wantErr error
	}{
		{name: "nil image", img: nil, wantErr: ErrNoCode},
		{name: "tiny image", img: image.NewGray(image.Rect(0, 0, 10, 10)), wantErr: ErrNoCode},
		{name: "empty rectangle", img: image.NewRGBA(image.Rectangle{}), wantErr: ErrNoCode},
		{name: "noise", img: blank, budget: -1, wantErr: ErrNoCode},
		{name: "unbounded", img: image.NewUniform(color.White), wantErr: ErrTooLarge},
		{name: "cancelled", ctx: cancelled, img: sample.Image, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, err := NewDecoder(Options{Budget: tt.budget}).Decode(ctx, tt.img)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Decode error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "decode") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

// TestDecodeImageTypes: the grey conversion fast paths and the generic one
// agree.
func TestDecodeImageTypes(t *testing.T) {
	f := render(t, scene.Spec{Seed: 2, Condition: scene.Clean, Size: scene.Size{W: 640, H: 480}, Text: scene.Sample})
	rgba := f.Image.(*image.RGBA)
	b := rgba.Bounds()
	nrgba := image.NewNRGBA(b)
	gray := image.NewGray(b)
	gray16 := image.NewGray16(b)
	ycc := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := rgba.RGBAAt(x, y)
			nrgba.Set(x, y, c)
			gray.Set(x, y, c)
			gray16.Set(x, y, c)
			yy, _, _ := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)] = yy
			ycc.Cb[ycc.COffset(x, y)] = 128
			ycc.Cr[ycc.COffset(x, y)] = 128
		}
	}
	sub := rgba.SubImage(image.Rect(0, 0, 640, 480)) // same pixels, via SubImage
	tests := []struct {
		name string
		img  image.Image
	}{
		{name: "RGBA", img: rgba},
		{name: "NRGBA", img: nrgba},
		{name: "Gray", img: gray},
		{name: "Gray16 (generic path)", img: gray16},
		{name: "YCbCr", img: ycc},
		{name: "SubImage", img: sub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := decodeAll(t, tt.img)
			if err != nil || res.Text != scene.Sample {
				t.Errorf("Decode = %.20q…, %v", res.Text, err)
			}
		})
	}
}

func TestDecodeDurationUsesClock(t *testing.T) {
	f := render(t, scene.Spec{Seed: 2, Condition: scene.Clean, Size: scene.Size{W: 640, H: 480}})
	res, err := NewDecoder(Options{Budget: -1, Clock: clock.NewFake(pinned)}).Decode(context.Background(), f.Image)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duration != 0 {
		t.Errorf("Duration = %v with a stopped fake clock, want 0", res.Duration)
	}
}

// TestDecodeMaxPixels: a frame above MaxPixels is downscaled first and the
// corners still come back in the frame's own coordinates.
func TestDecodeMaxPixels(t *testing.T) {
	f := render(t, scene.Spec{Seed: 4, Condition: scene.Clean, Size: scene.Size{W: 1280, H: 720}, Text: scene.Sample})
	full, err := decodeAll(t, f.Image)
	if err != nil {
		t.Fatal(err)
	}
	small, err := NewDecoder(Options{Budget: -1, MaxPixels: 640 * 360}).Decode(context.Background(), f.Image)
	if err != nil {
		t.Fatal(err)
	}
	if small.Text != full.Text {
		t.Errorf("text differs after downscaling")
	}
	for i := range full.Corners {
		d := full.Corners[i].Sub(small.Corners[i])
		if d.X*d.X+d.Y*d.Y > 16*16 {
			t.Errorf("corner %d = %v downscaled, %v full size", i, small.Corners[i], full.Corners[i])
		}
	}
}

// TestNaiveBaselineIsWorse documents why the pipeline exists: on inverted
// and perspective frames plain gozxing reads nothing the pipeline misses,
// and misses codes the pipeline reads.
func TestNaiveBaselineIsWorse(t *testing.T) {
	specs := scene.Specs(corpusSeed, 3, []scene.Size{{W: 640, H: 480}}, []scene.Condition{scene.Inverted, scene.Perspective, scene.Noise})
	naive, ours := 0, 0
	for _, sp := range specs {
		f := render(t, sp)
		bm := binarize(context.Background(), greyOf(f.Image), binHybrid).bitMatrix(0)
		if text, err := zxingRead(bm); err == nil && text == f.Text {
			naive++
		}
		if res, err := decodeAll(t, f.Image); err == nil && res.Text == f.Text {
			ours++
		}
	}
	t.Logf("naive gozxing %d/%d, pipeline %d/%d", naive, len(specs), ours, len(specs))
	if ours <= naive {
		t.Errorf("pipeline %d ≤ naive %d", ours, naive)
	}
}

// TestDecodeMirrored: a code seen in a mirror (the frame flipped left to
// right) reads, and so does one upside down and mirrored.
func TestDecodeMirrored(t *testing.T) {
	f := render(t, scene.Spec{Seed: 3, Condition: scene.Clean, Size: scene.Size{W: 640, H: 480}, Text: scene.Sample})
	src := f.Image.(*image.RGBA)
	b := src.Bounds()
	for _, tt := range []struct {
		name string
		at   func(x, y int) (int, int)
	}{
		{"left-right", func(x, y int) (int, int) { return b.Max.X - 1 - x, y }},
		{"top-bottom", func(x, y int) (int, int) { return x, b.Max.Y - 1 - y }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := image.NewRGBA(b)
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					sx, sy := tt.at(x, y)
					m.SetRGBA(x, y, src.RGBAAt(sx, sy))
				}
			}
			res, err := decodeAll(t, m)
			if err != nil || res.Text != scene.Sample {
				t.Errorf("mirrored code: %.20q…, %v", res.Text, err)
			}
		})
	}
}

// TestDecodeQuietFrame: a frame without anything like a code ends after
// the first step with ErrNoCode, also without a budget.
func TestDecodeQuietFrame(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			v := uint8(60 + x/8 + y/16)
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	var quiet bool
	debugf = func(format string, args ...any) {
		quiet = quiet || strings.HasPrefix(format, "quiet frame")
	}
	defer func() { debugf = nil }()
	_, err := decodeAll(t, img)
	if !errors.Is(err, ErrNoCode) {
		t.Errorf("Decode = %v, want ErrNoCode", err)
	}
	if !quiet {
		t.Error("the plan ran on: the frame was not seen as quiet")
	}
}
