package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
)

// Limits of LoadImage.
const (
	// MaxFileBytes is the largest image file LoadImage reads.
	MaxFileBytes = 64 << 20
	// MaxDeclaredPixels is the largest width×height an image may declare;
	// larger ones are rejected with ErrTooLarge before any pixel is decoded.
	MaxDeclaredPixels = 64 << 20
	// MaxSide is the largest width or height an image may declare.
	MaxSide = 1 << 15
	// LoadPixels is the pixel count above which LoadImage downscales: a QR
	// code needs no more than 4 Mpx, and decoding is proportional to it.
	LoadPixels = 4 << 20
)

// LoadImage reads a PNG or JPEG image from r. It checks the declared size
// first (image.DecodeConfig) and rejects absurd dimensions with ErrTooLarge
// without decoding pixels; images above LoadPixels come back downscaled to
// about LoadPixels (as *image.Gray). Errors wrap ErrNotImage (not PNG/JPEG),
// ErrTruncated (ends early or corrupt), ErrTooLarge, or ctx.Err().
func LoadImage(ctx context.Context, r io.Reader) (image.Image, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load image: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load image: read: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("load image: file over %d bytes: %w", MaxFileBytes, ErrTooLarge)
	}
	format := sniff(data)
	if format == "" {
		return nil, fmt.Errorf("load image: %w", ErrNotImage)
	}
	// The PNG header's size is checked before the decoder sees it: on
	// 32-bit platforms image/png itself fails on large sizes with a less
	// useful error.
	if w, h, ok := pngSize(data); ok && (w > MaxSide || h > MaxSide) {
		return nil, fmt.Errorf("load image: png declares %dx%d: %w", w, h, ErrTooLarge)
	}
	var cfg image.Config
	if format == "png" {
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	} else {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("load image: %s header: %v: %w", format, err, ErrTruncated)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("load image: %s declares %dx%d: %w", format, cfg.Width, cfg.Height, ErrTruncated)
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || cfg.Width*cfg.Height > MaxDeclaredPixels {
		return nil, fmt.Errorf("load image: %s declares %dx%d: %w", format, cfg.Width, cfg.Height, ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load image: %w", err)
	}
	var img image.Image
	if format == "png" {
		img, err = png.Decode(bytes.NewReader(data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("load image: %s ends early: %w", format, ErrTruncated)
		}
		return nil, fmt.Errorf("load image: %s: %v: %w", format, err, ErrTruncated)
	}
	if px := cfg.Width * cfg.Height; px > LoadPixels {
		f := sqrtRatio(LoadPixels, px)
		for math.Round(float64(cfg.Width)*f)*math.Round(float64(cfg.Height)*f) > LoadPixels {
			f *= 0.999
		}
		g := greyOf(img).resized(ctx, f)
		if g == nil {
			return nil, fmt.Errorf("load image: %w", ctx.Err())
		}
		return &image.Gray{Pix: g.pix, Stride: g.w, Rect: image.Rect(0, 0, g.w, g.h)}, nil
	}
	return img, nil
}

// pngSize reads width and height from a PNG's IHDR chunk.
func pngSize(b []byte) (w, h uint32, ok bool) {
	if len(b) < 24 || string(b[12:16]) != "IHDR" {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(b[16:20]), binary.BigEndian.Uint32(b[20:24]), true
}

// sniff returns "png", "jpeg" or "" from the magic bytes.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8}):
		return "jpeg"
	}
	return ""
}

// DecodeFile loads the image at path and decodes it with a default Decoder.
// Errors wrap those of LoadImage and Decode, or the os error of opening.
func DecodeFile(ctx context.Context, path string) (string, error) {
	img, err := LoadFile(ctx, path)
	if err != nil {
		return "", err
	}
	res, err := NewDecoder(Options{Budget: FileBudget}).Decode(ctx, img)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return res.Text, nil
}

// LoadFile opens path and returns LoadImage of its content.
func LoadFile(ctx context.Context, path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load image: %w", err)
	}
	defer f.Close()
	img, err := LoadImage(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}
