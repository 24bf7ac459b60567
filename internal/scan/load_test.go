package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// declareSize rewrites the IHDR of a PNG to claim w×h (with a valid CRC).
func declareSize(p []byte, w, h uint32) []byte {
	out := append([]byte(nil), p...)
	// Signature (8), length (4), "IHDR" (4), then width and height.
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	crc := crc32.ChecksumIEEE(out[12:29])
	binary.BigEndian.PutUint32(out[29:], crc)
	return out
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestLoadImage(t *testing.T) {
	var small bytes.Buffer
	if err := png.Encode(&small, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		wantW   int
		wantErr error
	}{
		{name: "png", r: bytes.NewReader(readTestdata(t, "seed.png")), wantW: 96},
		{name: "jpeg", r: bytes.NewReader(readTestdata(t, "seed.jpg")), wantW: 96},
		{name: "tiny png", r: bytes.NewReader(small.Bytes()), wantW: 3},
		{name: "empty", r: bytes.NewReader(nil), wantErr: ErrNotImage},
		{name: "text", r: strings.NewReader("hello"), wantErr: ErrNotImage},
		{name: "gif is not accepted", r: strings.NewReader("GIF89a\x01\x00\x01\x00"), wantErr: ErrNotImage},
		{name: "png signature only", r: bytes.NewReader(small.Bytes()[:8]), wantErr: ErrTruncated},
		{name: "jpeg SOI only", r: bytes.NewReader([]byte{0xff, 0xd8}), wantErr: ErrTruncated},
		{name: "truncated png", r: bytes.NewReader(readTestdata(t, "truncated.png")), wantErr: ErrTruncated},
		{name: "truncated jpeg", r: bytes.NewReader(readTestdata(t, "truncated.jpg")), wantErr: ErrTruncated},
		{name: "absurd dimensions", r: bytes.NewReader(declareSize(small.Bytes(), 100000, 100000)), wantErr: ErrTooLarge},
		{name: "wide strip", r: bytes.NewReader(declareSize(small.Bytes(), 1<<20, 1)), wantErr: ErrTooLarge},
		{name: "read error", r: errReader{}, wantErr: io.ErrClosedPipe},
		{name: "cancelled", ctx: cancelled, r: bytes.NewReader(small.Bytes()), wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			img, err := LoadImage(ctx, tt.r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LoadImage error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && img.Bounds().Dx() != tt.wantW {
				t.Errorf("width = %d, want %d", img.Bounds().Dx(), tt.wantW)
			}
		})
	}
}

func TestLoadImageDownscalesHuge(t *testing.T) {
	// 2400×2000 = 4.8 Mpx, above LoadPixels.
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2400, 2000))); err != nil {
		t.Fatal(err)
	}
	img, err := LoadImage(context.Background(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if px := b.Dx() * b.Dy(); px > LoadPixels || px < LoadPixels*9/10 {
		t.Errorf("downscaled to %dx%d = %d px, want just under %d", b.Dx(), b.Dy(), px, LoadPixels)
	}
	if r := float64(b.Dx()) / float64(b.Dy()); r < 1.19 || r > 1.21 {
		t.Errorf("aspect %.3f, want 1.2", r)
	}
}

func TestDecodeFileMissing(t *testing.T) {
	_, err := DecodeFile(context.Background(), filepath.Join(t.TempDir(), "absent.png"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want os.ErrNotExist", err)
	}
}
