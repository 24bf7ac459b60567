package scan

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

var update = flag.Bool("update", false, "regenerate the files in testdata")

// Recorded camera frames: a short RTC1 code seen by a 160×120 camera.
const (
	frameW, frameH = 160, 120
	frameText      = "RTC1:TESTFRAME"
	seedText       = "RTC1:SEED"
)

// frameSpec is the scene of the recorded frames.
var frameSpec = scene.Spec{Seed: 42, Condition: scene.Clean, Size: scene.Size{W: frameW, H: frameH}, Text: frameText}

// rgbaToYUYV encodes img as a camera would: BT.601 limited range, chroma
// averaged over each pixel pair.
func rgbaToYUYV(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*2)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			var ys [2]int32
			var us, vs int32
			for k := range 2 {
				r, g, bl, _ := img.At(x+k, y).RGBA()
				R, G, B := int32(r>>8), int32(g>>8), int32(bl>>8)
				ys[k] = 16 + ((66*R + 129*G + 25*B + 128) >> 8)
				us += 128 + ((-38*R - 74*G + 112*B + 128) >> 8)
				vs += 128 + ((112*R - 94*G - 18*B + 128) >> 8)
			}
			out = append(out, byte(ys[0]), byte(us/2), byte(ys[1]), byte(vs/2))
		}
	}
	return out
}

// stripDHT removes the Huffman table segments from a JPEG, as many UVC
// cameras send MJPEG frames.
func stripDHT(b []byte) []byte {
	out := append([]byte(nil), b[:2]...)
	i := 2
	for i+4 <= len(b) && b[i] == 0xff && b[i+1] != 0xda {
		n := int(b[i+2])<<8 | int(b[i+3])
		if b[i+1] != 0xc4 {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
	return append(out, b[i:]...)
}

// writeTestdata regenerates the checked-in files.
func writeTestdata(t *testing.T) {
	t.Helper()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := render(t, frameSpec)
	var pngBuf, jpgBuf bytes.Buffer
	if err := png.Encode(&pngBuf, f.Image); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpgBuf, f.Image, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	write("frame-160x120.png", pngBuf.Bytes())
	write("frame-160x120.yuyv", rgbaToYUYV(f.Image))
	write("frame-160x120.mjpeg", stripDHT(jpgBuf.Bytes()))

	s := render(t, scene.Spec{Seed: 7, Condition: scene.Clean, Size: scene.Size{W: 96, H: 72}, Text: seedText})
	var sp, sj bytes.Buffer
	if err := png.Encode(&sp, s.Image); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&sj, s.Image, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	write("seed.png", sp.Bytes())
	write("seed.jpg", sj.Bytes())
	write("truncated.png", sp.Bytes()[:sp.Len()/2])
	write("truncated.jpg", sj.Bytes()[:sj.Len()/2])
	write("not-an-image.txt", []byte("RTC1:this is text, not a picture\n"))
	// A PNG header declaring 100000×100000 pixels and nothing else.
	var huge bytes.Buffer
	if err := png.Encode(&huge, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	write("huge-header.png", declareSize(huge.Bytes(), 100000, 100000))
	// A PNG declaring 8192×8192 16-bit RGBA (512 MiB decoded), its pixel
	// data cut after two rows: the decoded-bytes limit's seed.
	write("bomb-16bit-rgba.png", pngBomb(t, 8192, 8192, 16, 6, 2))
}

// TestTestdata checks what the checked-in files are (and rewrites them
// first with -update).
func TestTestdata(t *testing.T) {
	// The truncated bomb is refused from its header (see TestImageBomb).
	bombErr := ErrTooLarge
	if *update {
		writeTestdata(t)
	}
	ctx := context.Background()
	tests := []struct {
		name    string
		file    string
		want    string
		wantErr error
	}{
		{name: "seed png decodes", file: "seed.png", want: seedText},
		{name: "seed jpeg decodes", file: "seed.jpg", want: seedText},
		{name: "camera frame png decodes", file: "frame-160x120.png", want: frameText},
		{name: "truncated png", file: "truncated.png", wantErr: ErrTruncated},
		{name: "truncated jpeg", file: "truncated.jpg", wantErr: ErrTruncated},
		{name: "text file", file: "not-an-image.txt", wantErr: ErrNotImage},
		{name: "absurd declared size", file: "huge-header.png", wantErr: ErrTooLarge},
		{name: "16-bit RGBA bomb (cut after two rows)", file: "bomb-16bit-rgba.png", wantErr: bombErr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFile(ctx, filepath.Join("testdata", tt.file))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeFile(%s) error = %v, want %v", tt.file, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("DecodeFile(%s) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}
