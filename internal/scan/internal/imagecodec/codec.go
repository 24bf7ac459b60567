package imagecodec

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"strconv"
)

// Options of Grey.
type Options struct {
	// MinPixels: the output has at least this many pixels when the image
	// has; the codec picks its smallest reduction that still gives them.
	MinPixels int
	// MaxMemory bounds the bytes the decoder may hold at once, output
	// included (see the package comment).
	MaxMemory int64
}

// Grey decodes the JPEG or PNG image in data to an 8-bit grey image,
// reduced as Options says. See the package comment for the contract.
func Grey(ctx context.Context, data []byte, opts Options) (*image.Gray, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !Available {
		return nil, fmt.Errorf("%w: built without cgo", ErrUnsupported)
	}
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: png header: %v", ErrCorrupt, err)
		}
		k := PNGFactor(cfg.Width, cfg.Height, opts.MinPixels)
		ow, oh := ceilDiv(cfg.Width, k), ceilDiv(cfg.Height, k)
		if err := fits(ow, oh, opts.MaxMemory); err != nil {
			return nil, err
		}
		out := image.NewGray(image.Rect(0, 0, ow, oh))
		if err := decodePNG(ctx, data, cfg.Width, cfg.Height, k, out.Pix, opts.MaxMemory); err != nil {
			return nil, err
		}
		return out, nil
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: jpeg header: %v", ErrCorrupt, err)
		}
		m := JPEGScale(cfg.Width, cfg.Height, opts.MinPixels)
		ow, oh := ceilDiv(cfg.Width*m, 8), ceilDiv(cfg.Height*m, 8)
		if err := fits(ow, oh, opts.MaxMemory); err != nil {
			return nil, err
		}
		out := image.NewGray(image.Rect(0, 0, ow, oh))
		if err := decodeJPEG(ctx, data, m, ow, oh, out.Pix, opts.MaxMemory); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: not a JPEG or PNG", ErrUnsupported)
}

// JPEGScale is the M of the M/8 scale Grey decodes a w×h JPEG at: the
// smallest that gives at least minPixels, 8 when none does.
func JPEGScale(w, h, minPixels int) int {
	for m := 1; m < 8; m++ {
		if ceilDiv(w*m, 8)*ceilDiv(h*m, 8) >= minPixels {
			return m
		}
	}
	return 8
}

// PNGFactor is the k of the k×k blocks Grey averages a w×h PNG by: the
// largest that gives at least minPixels, 1 when none does.
func PNGFactor(w, h, minPixels int) int {
	k := 1
	for k < 4096 && ceilDiv(w, k+1)*ceilDiv(h, k+1) >= minPixels {
		k++
	}
	return k
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// mib formats a byte count in MiB: "64 MiB", "4.5 MiB".
func mib(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// fits refuses an output that alone takes more than max bytes.
func fits(w, h int, max int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: declares no pixels", ErrCorrupt)
	}
	if int64(w)*int64(h) > max {
		return fmt.Errorf("%w: a %dx%d grey image is more than %d bytes", ErrTooLarge, w, h, max)
	}
	return nil
}
