package scan

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"testing"
)

func TestYUYVToRGBA(t *testing.T) {
	tests := []struct {
		name      string
		y, u, v   byte
		wantR     byte
		wantG     byte
		wantB     byte
		tolerance int
	}{
		{name: "black", y: 16, u: 128, v: 128, wantR: 0, wantG: 0, wantB: 0},
		{name: "white", y: 235, u: 128, v: 128, wantR: 255, wantG: 255, wantB: 255},
		{name: "mid grey", y: 126, u: 128, v: 128, wantR: 128, wantG: 128, wantB: 128, tolerance: 1},
		{name: "red", y: 81, u: 90, v: 240, wantR: 255, wantG: 0, wantB: 0, tolerance: 2},
		{name: "green", y: 145, u: 54, v: 34, wantR: 0, wantG: 255, wantB: 0, tolerance: 2},
		{name: "blue", y: 41, u: 240, v: 110, wantR: 0, wantG: 0, wantB: 255, tolerance: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := YUYVToRGBA([]byte{tt.y, tt.u, tt.y, tt.v}, 2, 1)
			if err != nil {
				t.Fatal(err)
			}
			for x := range 2 {
				o := img.PixOffset(x, 0)
				got := img.Pix[o : o+4]
				want := []byte{tt.wantR, tt.wantG, tt.wantB, 255}
				for i := range want {
					if d := int(got[i]) - int(want[i]); d > tt.tolerance || d < -tt.tolerance {
						t.Errorf("pixel %d = %v, want %v ±%d", x, got, want, tt.tolerance)
						break
					}
				}
			}
		})
	}
}

func TestYUYVErrors(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		w, h    int
		wantErr error
	}{
		{name: "ok", b: make([]byte, 8), w: 2, h: 2},
		{name: "short buffer", b: make([]byte, 7), w: 2, h: 2, wantErr: ErrFormat},
		{name: "odd width", b: make([]byte, 12), w: 3, h: 2, wantErr: ErrFormat},
		{name: "zero size", b: nil, w: 0, h: 0, wantErr: ErrFormat},
		{name: "negative", b: nil, w: -2, h: 2, wantErr: ErrFormat},
		{name: "absurd", b: nil, w: 1 << 20, h: 1 << 20, wantErr: ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := YUYVToGray(tt.b, tt.w, tt.h)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("YUYVToGray error = %v, want %v", err, tt.wantErr)
			}
			_, err = YUYVToRGBA(tt.b, tt.w, tt.h)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("YUYVToRGBA error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestRecordedFrames decodes the frames recorded in testdata the way the
// camera delivers them.
func TestRecordedFrames(t *testing.T) {
	ctx := context.Background()
	yuyv := readTestdata(t, "frame-160x120.yuyv")
	mjpeg := readTestdata(t, "frame-160x120.mjpeg")
	if _, err := jpeg.Decode(bytes.NewReader(mjpeg)); err == nil {
		t.Fatal("the recorded MJPEG frame decodes without help: it should lack Huffman tables")
	}
	ref, err := LoadImage(ctx, bytes.NewReader(readTestdata(t, "frame-160x120.png")))
	if err != nil {
		t.Fatal(err)
	}
	refGrey := greyOf(ref)
	tests := []struct {
		name    string
		convert func() (image.Image, error)
		maxDiff int // largest luma difference from the reference PNG
	}{
		{name: "yuyv grey", convert: func() (image.Image, error) { return YUYVToGray(yuyv, frameW, frameH) }, maxDiff: 40},
		{name: "yuyv rgba", convert: func() (image.Image, error) { return YUYVToRGBA(yuyv, frameW, frameH) }, maxDiff: 4},
		{name: "mjpeg", convert: func() (image.Image, error) { return DecodeMJPEG(mjpeg) }, maxDiff: 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := tt.convert()
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != frameW || b.Dy() != frameH {
				t.Fatalf("size %v, want %dx%d", b, frameW, frameH)
			}
			g := greyOf(img)
			worst := 0
			for i := range g.pix {
				d := int(g.pix[i]) - int(refGrey.pix[i])
				worst = max(worst, d, -d)
			}
			if worst > tt.maxDiff {
				t.Errorf("max luma difference %d, want ≤ %d", worst, tt.maxDiff)
			}
			res, err := decodeAll(t, img)
			if err != nil || res.Text != frameText {
				t.Errorf("decode = %q, %v; want %q", res.Text, err, frameText)
			}
		})
	}
}

func TestDecodeMJPEGErrors(t *testing.T) {
	mjpeg := readTestdata(t, "frame-160x120.mjpeg")
	tests := []struct {
		name    string
		b       []byte
		wantErr error
	}{
		{name: "empty", b: nil, wantErr: ErrNotImage},
		{name: "png bytes", b: readTestdata(t, "seed.png"), wantErr: ErrNotImage},
		{name: "truncated", b: mjpeg[:len(mjpeg)/2], wantErr: ErrTruncated},
		{name: "headers only", b: mjpeg[:200], wantErr: ErrTruncated},
		{name: "SOI and EOI", b: []byte{0xff, 0xd8, 0xff, 0xd9}, wantErr: ErrTruncated},
		{name: "bad segment length", b: []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01}, wantErr: ErrTruncated},
		{name: "with own tables", b: readTestdata(t, "seed.jpg")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMJPEG(tt.b)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("DecodeMJPEG error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
