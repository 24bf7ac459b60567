//go:build cgo && !android && !ios

package imagecodec

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/scantest"
)

var update = flag.Bool("update", false, "regenerate the files in testdata")

// seedPage is the small page of the seeds.
var seedPage = scantest.Page{W: 480, H: 480, Text: "RTC1:SEED", Module: 16, X: 0, Y: 0}

// writeTestdata regenerates the checked-in seeds: small files of every
// layout the decoders handle, and cut ones.
func writeTestdata(t *testing.T) {
	t.Helper()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	small := scantest.Page{W: 64, H: 64, Text: "RTC1:SEED", Module: 2, X: 3, Y: 3}
	jp := mustJPEG(t, seedPage)
	write("page.jpg", jp)
	write("page-cut.jpg", jp[:len(jp)/2])
	write("page-gray.png", mustPNG(t, small, scantest.PNGOptions{Color: scantest.Gray}))
	il := mustPNG(t, small, scantest.PNGOptions{Color: scantest.RGBA, Interlaced: true})
	write("page-rgba-interlaced.png", il)
	write("page-cut.png", il[:len(il)/2])
	enc := func(name string, img image.Image) {
		t.Helper()
		var b bytes.Buffer
		var err error
		if filepath.Ext(name) == ".jpg" {
			err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 75})
		} else {
			err = png.Encode(&b, img)
		}
		if err != nil {
			t.Fatal(err)
		}
		write(name, b.Bytes())
	}
	pal := image.NewPaletted(image.Rect(0, 0, 40, 30), color.Palette{color.NRGBA{}, color.NRGBA{A: 255}, color.NRGBA{R: 200, G: 100, B: 50, A: 128}})
	g16 := image.NewGray16(image.Rect(0, 0, 40, 30))
	n64 := image.NewNRGBA64(image.Rect(0, 0, 32, 32))
	gray := image.NewGray(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			pal.SetColorIndex(x, y, uint8((x/5+y/5)%3))
			g16.SetGray16(x, y, color.Gray16{Y: uint16(x * y * 50)})
			gray.SetGray(x, y, color.Gray{Y: uint8(x * 6)})
			n64.SetNRGBA64(x%32, y%32, color.NRGBA64{R: uint16(x << 11), G: uint16(y << 11), B: 0x8000, A: uint16(x * 1600)})
		}
	}
	enc("paletted-trns.png", pal)
	enc("gray16.png", g16)
	enc("nrgba64.png", n64)
	enc("gray.jpg", gray)
}

// TestTestdata checks what the seeds are (and rewrites them first with
// -update): decoded at full size and reduced to a quarter or less.
func TestTestdata(t *testing.T) {
	if *update {
		writeTestdata(t)
	}
	tests := []struct {
		file         string
		min          int
		wantW, wantH int
		wantErr      error
	}{
		{file: "page.jpg", min: 480 * 480, wantW: 480, wantH: 480},
		{file: "page.jpg", min: 100, wantW: 60, wantH: 60},
		{file: "page-cut.jpg", min: 100, wantErr: ErrTruncated},
		{file: "page-gray.png", min: 64 * 64, wantW: 64, wantH: 64},
		{file: "page-rgba-interlaced.png", min: 400, wantW: 22, wantH: 22},
		{file: "page-cut.png", min: 400, wantErr: ErrTruncated},
		{file: "paletted-trns.png", min: 300, wantW: 20, wantH: 15},
		{file: "gray16.png", min: 1200, wantW: 40, wantH: 30},
		{file: "nrgba64.png", min: 100, wantW: 11, wantH: 11},
		{file: "gray.jpg", min: 300, wantW: 20, wantH: 15},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Grey(context.Background(), b, Options{MinPixels: tt.min, MaxMemory: testMem})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (img.Rect.Dx() != tt.wantW || img.Rect.Dy() != tt.wantH) {
				t.Errorf("decoded %v, want %dx%d", img.Rect, tt.wantW, tt.wantH)
			}
		})
	}
}

// TestPaletteTransparency: a paletted PNG's transparent entry shows white,
// its opaque black black, and its half-transparent colour in between.
func TestPaletteTransparency(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "paletted-trns.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Grey(context.Background(), b, Options{MinPixels: 40 * 30, MaxMemory: testMem})
	if err != nil {
		t.Fatal(err)
	}
	// Index (x/5+y/5)%3: 0 transparent, 1 black, 2 orange at alpha 128.
	for _, c := range []struct {
		x, y int
		want uint8
	}{{0, 0, 255}, {5, 0, 0}, {10, 0, uint8((((77*200+150*100+29*50+128)>>8)*128 + 255*127) / 255)}} {
		if got := img.GrayAt(c.x, c.y).Y; got != c.want {
			t.Errorf("pixel (%d,%d) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
}

// FuzzGrey: any bytes give a grey image of the size the options promise or
// one of the documented errors, never a crash, within the memory bound.
func FuzzGrey(f *testing.F) {
	ents, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Keep each run short: big declared sizes are package scan's
		// tests' business.
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil && cfg.Width*cfg.Height > 1<<22 {
			return
		}
		img, err := Grey(context.Background(), b, Options{MinPixels: 256, MaxMemory: 16 << 20})
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if img.Rect.Dx() < 1 || img.Rect.Dy() < 1 || len(img.Pix) != img.Rect.Dx()*img.Rect.Dy() {
			t.Fatalf("image %v with %d bytes", img.Rect, len(img.Pix))
		}
	})
}
