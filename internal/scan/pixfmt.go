package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
)

// PixelFormat is a camera frame encoding this package decodes.
type PixelFormat int

// The camera pixel formats.
const (
	// FormatYUYV is packed YUV 4:2:2 (V4L2 'YUYV', YUY2): Y0 U Y1 V for
	// every two pixels.
	FormatYUYV PixelFormat = iota + 1
	// FormatMJPEG is one JPEG image per frame (V4L2 'MJPG'), often without
	// Huffman tables.
	FormatMJPEG
)

func (f PixelFormat) String() string {
	switch f {
	case FormatYUYV:
		return "YUYV"
	case FormatMJPEG:
		return "MJPEG"
	}
	return fmt.Sprintf("PixelFormat(%d)", int(f))
}

// checkYUYV validates the size of a YUYV frame.
func checkYUYV(b []byte, w, h int) error {
	if w <= 0 || h <= 0 || w%2 != 0 || w > MaxSide || h > MaxSide {
		return fmt.Errorf("yuyv %dx%d: bad dimensions: %w", w, h, ErrFormat)
	}
	if len(b) < w*h*2 {
		return fmt.Errorf("yuyv %dx%d: %d bytes, want %d: %w", w, h, len(b), w*h*2, ErrFormat)
	}
	return nil
}

// YUYVToGray extracts the luma of a YUYV frame of w×h pixels (w even). It
// is all the decoder needs, and costs one pass over the bytes. Errors wrap
// ErrFormat.
func YUYVToGray(b []byte, w, h int) (*image.Gray, error) {
	if err := checkYUYV(b, w, h); err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range w * h {
		img.Pix[i] = b[2*i]
	}
	return img, nil
}

// YUYVToRGBA converts a YUYV frame of w×h pixels (w even) to RGBA with the
// BT.601 limited-range matrix that UVC cameras use. Errors wrap ErrFormat.
func YUYVToRGBA(b []byte, w, h int) (*image.RGBA, error) {
	if err := checkYUYV(b, w, h); err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i += 2 {
		y0, u, y1, v := b[2*i], b[2*i+1], b[2*i+2], b[2*i+3]
		r, g, bl := yuvToRGB(y0, u, v)
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = r, g, bl, 255
		r, g, bl = yuvToRGB(y1, u, v)
		img.Pix[4*i+4], img.Pix[4*i+5], img.Pix[4*i+6], img.Pix[4*i+7] = r, g, bl, 255
	}
	return img, nil
}

// yuvToRGB is BT.601 limited range (Y 16–235, Cb/Cr 16–240) in fixed point.
func yuvToRGB(y, u, v byte) (byte, byte, byte) {
	c := (int32(y) - 16) * 298
	d := int32(u) - 128
	e := int32(v) - 128
	r := (c + 409*e + 128) >> 8
	g := (c - 100*d - 208*e + 128) >> 8
	b := (c + 516*d + 128) >> 8
	return clamp8(r), clamp8(g), clamp8(b)
}

func clamp8(x int32) byte {
	if x < 0 {
		return 0
	}
	if x > 255 {
		return 255
	}
	return byte(x)
}

// MaxFramePixels is the largest camera frame DecodeMJPEG accepts (4K UHD
// is 8.3 Mpx).
const MaxFramePixels = 16 << 20

// DecodeMJPEG decodes one MJPEG camera frame. Many UVC cameras omit the
// Huffman tables (DHT) and rely on the standard ones of JPEG Annex K.3;
// DecodeMJPEG inserts those when the frame has none. Errors wrap
// ErrNotImage (no JPEG start), ErrTooLarge (declared size over
// MaxFramePixels, or decoded size over MaxDecodedBytes) or ErrTruncated.
func DecodeMJPEG(b []byte) (image.Image, error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return nil, fmt.Errorf("mjpeg frame: %w", ErrNotImage)
	}
	fixed, err := withHuffmanTables(b)
	if err != nil {
		return nil, fmt.Errorf("mjpeg frame: %v: %w", err, ErrTruncated)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(fixed))
	if err != nil {
		return nil, fmt.Errorf("mjpeg frame: %v: %w", err, ErrTruncated)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxSide || cfg.Height > MaxSide || cfg.Width*cfg.Height > MaxFramePixels {
		return nil, fmt.Errorf("mjpeg frame: declares %dx%d: %w", cfg.Width, cfg.Height, ErrTooLarge)
	}
	if n := DecodedBytes("jpeg", fixed, cfg); n > MaxDecodedBytes {
		return nil, fmt.Errorf("mjpeg frame: declares %dx%d %s: decoding it takes %s, more than the %s limit: %w",
			cfg.Width, cfg.Height, depthName("jpeg", fixed, cfg), mib(n), mib(MaxDecodedBytes), ErrTooLarge)
	}
	img, err := jpeg.Decode(bytes.NewReader(fixed))
	if err != nil {
		return nil, fmt.Errorf("mjpeg frame: %v: %w", err, ErrTruncated)
	}
	return img, nil
}

// withHuffmanTables returns b, or b with the standard DHT segment inserted
// before the first SOS when b has no DHT of its own.
func withHuffmanTables(b []byte) ([]byte, error) {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return nil, fmt.Errorf("bad marker at %d", i)
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01:
			i += 2
			continue
		case m == 0xc4: // DHT present
			return b, nil
		case m == 0xda: // SOS without a DHT before it
			out := make([]byte, 0, len(b)+len(standardDHT))
			out = append(out, b[:i]...)
			out = append(out, standardDHT...)
			return append(out, b[i:]...), nil
		case m == 0xd9:
			return nil, fmt.Errorf("end of image before scan")
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 {
			return nil, fmt.Errorf("bad segment length at %d", i)
		}
		i += 2 + n
	}
	return nil, fmt.Errorf("no scan")
}

// standardDHT is a DHT segment with the four tables of JPEG Annex K.3.
var standardDHT = func() []byte {
	type spec struct {
		class  byte
		counts [16]byte
		values []byte
	}
	acLum := []byte{
		0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
		0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
		0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
		0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
		0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
		0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
		0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
		0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
		0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
		0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
		0xf9, 0xfa,
	}
	acChr := []byte{
		0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
		0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
		0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
		0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
		0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
		0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
		0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
		0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
		0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
		0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
		0xf9, 0xfa,
	}
	dc := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	specs := []spec{
		{0x00, [16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, dc},
		{0x10, [16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125}, acLum},
		{0x01, [16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, dc},
		{0x11, [16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119}, acChr},
	}
	n := 2
	for _, s := range specs {
		n += 1 + 16 + len(s.values)
	}
	out := []byte{0xff, 0xc4, byte(n >> 8), byte(n)}
	for _, s := range specs {
		out = append(out, s.class)
		out = append(out, s.counts[:]...)
		out = append(out, s.values...)
	}
	return out
}()
