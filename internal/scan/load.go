package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/roadcheck/roadcheck/internal/scan/internal/imagecodec"
)

// Limits of LoadImage.
const (
	// MaxFileBytes is the largest image file LoadImage reads.
	MaxFileBytes = 64 << 20
	// MaxDeclaredPixels is the largest width×height of an image in memory
	// (Decoder.Decode refuses larger ones with ErrTooLarge).
	MaxDeclaredPixels = 64 << 20
	// MaxSide is the largest width or height of an image in memory and of
	// a camera frame.
	MaxSide = 1 << 15
	// MaxLoadPixels is the largest width×height an image file may declare:
	// larger ones are refused with ErrTooLarge before any pixel is decoded.
	// 256 Mi px is above every phone camera (200 Mpx) and keeps the worst
	// file cheap enough: a 16-bit RGBA PNG of that size is 2 GiB of
	// inflated rows, a few seconds of work however small its file, and a
	// JPEG that size is decoded at 1/8 scale.
	MaxLoadPixels = 1 << 28
	// MaxLoadSide is the largest width or height an image file may
	// declare: libjpeg-turbo's own limit, JPEG_MAX_DIMENSION.
	MaxLoadSide = 65500
	// LoadPixels is the pixel count above which LoadImage downscales: a QR
	// code needs no more than 4 Mpx, and decoding is proportional to it.
	LoadPixels = 4 << 20
	// MaxDecodedBytes is the most memory an image's decoding may take.
	// With ScaledDecoding it bounds what the C decoders hold at once: the
	// reduced grey output and the libraries' working memory (for a
	// progressive JPEG the coefficients of the whole image, 2 bytes a
	// sample). The pure-Go decoders decode at full size, so there it
	// bounds the decoded pixels, bytes per sample × channels × pixels as
	// DecodedBytes counts them (a 16-bit PNG counts 2 a sample); larger
	// images are refused with ErrTooLarge before any pixel is decoded.
	MaxDecodedBytes = 64 << 20
	// MaxStreamedBytes is the most a PNG decoded row by row (with
	// ScaledDecoding) may declare, counted as DecodedBytes counts it: its
	// memory stays small whatever the size, so this bounds the work of
	// inflating it. A 48 Mpx RGBA photo counts 192 MiB; a 16-bit RGBA PNG
	// of 8192×8192 in a file of half a megabyte counts 512 MiB and is
	// refused at once, not inflated for seconds.
	MaxStreamedBytes = 256 << 20
)

// ScaledDecoding reports whether this build decodes images of more than
// LoadPixels with libjpeg-turbo and libpng (cgo) straight to a reduced
// grey image, so that only MaxLoadPixels and MaxFileBytes bound them.
// Without cgo it is false, and such images must fit MaxDecodedBytes at
// full size.
const ScaledDecoding = imagecodec.Available

// LoadImage reads a PNG or JPEG image from r. It reads the header first
// (image.DecodeConfig) and refuses, with ErrTooLarge and without decoding
// a pixel, files over MaxFileBytes and images declaring more than
// MaxLoadSide a side or MaxLoadPixels in all.
//
// Images of at most LoadPixels are decoded by image/png and image/jpeg and
// returned as those decode them (colour kept). Larger images come back as
// an *image.Gray of just under LoadPixels, area-averaged:
//   - with ScaledDecoding, libjpeg-turbo decodes a JPEG at M/8 of its size
//     (the smallest M giving LoadPixels) and libpng streams a PNG's rows
//     into k×k block means, both straight to grey, so a 48 Mpx photo is
//     never held at full size. MaxDecodedBytes bounds the memory they take
//     (a progressive JPEG whose coefficients need more is refused with
//     ErrTooLarge). A CMYK JPEG, which libjpeg cannot turn into grey, goes
//     the pure-Go way below;
//   - without it, image/png and image/jpeg decode at full size, so images
//     whose decoded pixels would take more than MaxDecodedBytes (see
//     DecodedBytes: a 16-bit RGBA PNG of 8192×8192 needs 512 MiB however
//     small its file) are refused with ErrTooLarge from their header.
//
// Errors wrap ErrNotImage (not PNG/JPEG), ErrTruncated (ends early or
// corrupt), ErrTooLarge, or ctx.Err().
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
	if w, h, ok := pngSize(data); ok && (w > MaxLoadSide || h > MaxLoadSide) {
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
	if cfg.Width > MaxLoadSide || cfg.Height > MaxLoadSide || cfg.Width*cfg.Height > MaxLoadPixels {
		return nil, fmt.Errorf("load image: %s declares %dx%d, more than the %d Mpx limit: %w",
			format, cfg.Width, cfg.Height, MaxLoadPixels>>20, ErrTooLarge)
	}
	if ScaledDecoding && cfg.Width*cfg.Height > LoadPixels {
		if n := DecodedBytes(format, data, cfg); format == "png" && n > MaxStreamedBytes {
			return nil, fmt.Errorf("load image: %s declares %dx%d %s: %s of pixels, more than the %s limit: %w",
				format, cfg.Width, cfg.Height, depthName(format, data, cfg), mib(n), mib(MaxStreamedBytes), ErrTooLarge)
		}
		g, err := imagecodec.Grey(ctx, data, imagecodec.Options{MinPixels: LoadPixels, MaxMemory: MaxDecodedBytes})
		if err == nil {
			return downscaled(ctx, g)
		}
		if !errors.Is(err, imagecodec.ErrUnsupported) {
			return nil, codecError(format, cfg, err)
		}
		// A CMYK JPEG: image/jpeg decodes it, within MaxDecodedBytes.
	}
	if n := DecodedBytes(format, data, cfg); n > MaxDecodedBytes {
		return nil, fmt.Errorf("load image: %s declares %dx%d %s: decoding it takes %s, more than the %s limit: %w",
			format, cfg.Width, cfg.Height, depthName(format, data, cfg), mib(n), mib(MaxDecodedBytes), ErrTooLarge)
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
	if cfg.Width*cfg.Height > LoadPixels {
		return downscaled(ctx, img)
	}
	return img, nil
}

// downscaled returns img as grey, area-averaged to just under LoadPixels.
func downscaled(ctx context.Context, img image.Image) (image.Image, error) {
	b := img.Bounds()
	px := b.Dx() * b.Dy()
	if px <= LoadPixels {
		if g, ok := img.(*image.Gray); ok {
			return g, nil
		}
	}
	f := sqrtRatio(LoadPixels, px)
	for math.Round(float64(b.Dx())*f)*math.Round(float64(b.Dy())*f) > LoadPixels {
		f *= 0.999
	}
	g := greyOf(img).resized(ctx, f)
	if g == nil {
		return nil, fmt.Errorf("load image: %w", ctx.Err())
	}
	return &image.Gray{Pix: g.pix, Stride: g.w, Rect: image.Rect(0, 0, g.w, g.h)}, nil
}

// codecError is LoadImage's error for an error of the C decoders.
func codecError(format string, cfg image.Config, err error) error {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("load image: %w", err)
	case errors.Is(err, imagecodec.ErrTooLarge):
		return fmt.Errorf("load image: %s %dx%d: %v: %w", format, cfg.Width, cfg.Height, err, ErrTooLarge)
	case errors.Is(err, imagecodec.ErrTruncated):
		return fmt.Errorf("load image: %s ends early: %v: %w", format, err, ErrTruncated)
	}
	return fmt.Errorf("load image: %s: %v: %w", format, err, ErrTruncated)
}

// DecodedBytes is the memory the decoded pixels of an image of format
// ("png" or "jpeg") with header cfg and file data take: bytes per sample
// × samples, over every channel.
//   - PNG: by the color model image/png decodes to: 1 byte a pixel for
//     gray and paletted images (bit depths below 8 included), 2 for 16-bit
//     gray, 4 for 8-bit RGB(A) and gray+alpha, 8 for 16-bit RGB(A).
//   - JPEG: each component's own samples (chroma subsampling counted, from
//     the frame header), 1 byte each (2 for 12-bit precision); a
//     progressive JPEG counts 4 more bytes a sample, the coefficients
//     image/jpeg keeps for the whole image while it decodes.
//
// A header it cannot read counts 8 bytes a pixel (the most any model
// takes). The result saturates instead of overflowing.
func DecodedBytes(format string, data []byte, cfg image.Config) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	if format == "jpeg" {
		if f, ok := jpegFrame(data); ok {
			var n int64
			for _, c := range f.comps {
				w := (int64(f.width)*int64(c.h) + int64(f.hmax) - 1) / int64(f.hmax)
				h := (int64(f.height)*int64(c.v) + int64(f.vmax) - 1) / int64(f.vmax)
				n += w * h
			}
			per := int64(1)
			if f.precision > 8 {
				per = 2
			}
			if f.progressive {
				per += 4
			}
			return n * per
		}
		return px * 8
	}
	return px * int64(pngBytesPerPixel(cfg.ColorModel))
}

// pngBytesPerPixel is the size of a pixel of the image image/png decodes
// to for a header's color model.
func pngBytesPerPixel(m color.Model) int {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// depthName describes what an image's samples are, for error messages:
// "16-bit RGBA", "8-bit 3-component", "progressive 8-bit 3-component".
func depthName(format string, data []byte, cfg image.Config) string {
	if format == "jpeg" {
		if f, ok := jpegFrame(data); ok {
			s := fmt.Sprintf("%d-bit %d-component", f.precision, len(f.comps))
			if f.progressive {
				s = "progressive " + s
			}
			return s
		}
		return "JPEG"
	}
	switch cfg.ColorModel {
	case color.GrayModel:
		return "8-bit gray"
	case color.Gray16Model:
		return "16-bit gray"
	case color.RGBAModel:
		return "8-bit RGB"
	case color.NRGBAModel:
		return "8-bit RGBA"
	case color.RGBA64Model:
		return "16-bit RGB"
	case color.NRGBA64Model:
		return "16-bit RGBA"
	}
	return "paletted"
}

// mib formats a byte count in MiB: "512 MiB", "64.5 MiB".
func mib(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) + " MiB"
}

// jpegFrameHeader is what a JPEG's SOFn segment says.
type jpegFrameHeader struct {
	precision, width, height int
	progressive              bool
	hmax, vmax               int
	comps                    []struct{ h, v int }
}

// jpegFrame reads the first SOFn segment of a JPEG: ok is false when
// there is none before the data ends or a segment is malformed.
func jpegFrame(b []byte) (f jpegFrameHeader, ok bool) {
	i := 2 // after SOI
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return f, false
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7): // no length
			i += 2
			continue
		case m == 0xd9 || m == 0xda: // EOI, SOS: no frame header before the scan
			return f, false
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return f, false
		}
		seg := b[i+4 : i+2+n]
		if m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			if len(seg) < 6 {
				return f, false
			}
			f.precision = int(seg[0])
			f.height = int(binary.BigEndian.Uint16(seg[1:]))
			f.width = int(binary.BigEndian.Uint16(seg[3:]))
			nc := int(seg[5])
			if nc == 0 || len(seg) < 6+3*nc {
				return f, false
			}
			f.progressive = m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce
			for k := range nc {
				hv := seg[6+3*k+1]
				h, v := int(hv>>4), int(hv&15)
				if h == 0 || v == 0 {
					return f, false
				}
				f.hmax, f.vmax = max(f.hmax, h), max(f.vmax, v)
				f.comps = append(f.comps, struct{ h, v int }{h, v})
			}
			return f, true
		}
		i += 2 + n
	}
	return f, false
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
