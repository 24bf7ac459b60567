package scan

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngBomb is a PNG declaring w×h pixels of bit depth and colour type
// (0 gray, 2 RGB, 4 gray+alpha, 6 RGBA) whose pixels are all zero. Each
// row of zeros deflates to the same bytes once the window is full of
// zeros, so the IDAT stream is one row deflated twice and repeated: built
// in milliseconds (deflating 512 MiB takes seconds, minutes under -race).
// With rows < h the IDAT stream stops after that many rows (a truncated
// file); with rows = h it is complete, checksum included.
func pngBomb(t testing.TB, w, h uint32, depth, colorType byte, rows int) []byte {
	t.Helper()
	channels := map[byte]uint64{0: 1, 2: 3, 4: 2, 6: 4}[colorType]
	row := make([]byte, 1+(uint64(w)*channels*uint64(depth)+7)/8) // filter byte + samples
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunkOf := func() []byte {
		fw.Write(row)
		fw.Flush()
		b := bytes.Clone(buf.Bytes())
		buf.Reset()
		return b
	}
	first, next := chunkOf(), chunkOf()
	if again := chunkOf(); !bytes.Equal(again, next) {
		t.Fatal("a row of zeros does not always deflate the same")
	}
	var z bytes.Buffer
	z.Write([]byte{0x78, 0xda}) // zlib header, best compression
	z.Write(first)
	for range rows - 1 {
		z.Write(next)
	}
	if rows == int(h) {
		fw.Close()
		z.Write(buf.Bytes())
		// Adler-32 of n zero bytes: a = 1, b = n mod 65521.
		n := uint64(len(row)) * uint64(h)
		binary.Write(&z, binary.BigEndian, uint32(n%65521)<<16|1)
	}
	var p bytes.Buffer
	chunk := func(typ string, data []byte) {
		binary.Write(&p, binary.BigEndian, uint32(len(data)))
		p.WriteString(typ)
		p.Write(data)
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		binary.Write(&p, binary.BigEndian, c.Sum32())
	}
	p.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colorType
	chunk("IHDR", ihdr)
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return p.Bytes()
}

// jpegHeader is a JPEG's start, frame header (marker sof: 0xc0 baseline,
// 0xc2 progressive) declaring w×h with the given components' sampling
// factors (H<<4 | V) and a scan header without data, then EOI: enough for
// DecodeConfig (which reads up to the scan for three components).
func jpegHeader(sof byte, precision byte, w, h uint16, sampling ...byte) []byte {
	b := []byte{0xff, 0xd8, 0xff, sof}
	seg := []byte{precision, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(sampling))}
	for i, s := range sampling {
		seg = append(seg, byte(i+1), s, 0)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(seg)+2))
	b = append(b, seg...)
	sos := []byte{byte(len(sampling))}
	for i := range sampling {
		sos = append(sos, byte(i+1), 0)
	}
	sos = append(sos, 0, 63, 0)
	b = append(b, 0xff, 0xda)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sos)+2))
	b = append(b, sos...)
	return append(b, 0xff, 0xd9)
}

// TestImageBomb: a 16-bit RGBA PNG declaring 8192×8192 pixels (512 MiB
// decoded at full size) in a file of well under a megabyte. Every path that
// loads images refuses it from its header, naming its size and the limit:
// without ScaledDecoding the 64 MiB of decoded pixels, with it the 256 MiB
// of pixels a PNG streamed row by row may declare (inflating 512 MiB takes
// seconds, however little memory).
func TestImageBomb(t *testing.T) {
	bomb := pngBomb(t, 8192, 8192, 16, 6, 8192)
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes", len(bomb))
	}
	path := filepath.Join(t.TempDir(), "bomb.png")
	if err := os.WriteFile(path, bomb, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	checkImage := func(img image.Image) error {
		g, ok := img.(*image.Gray)
		if !ok || g.Rect.Dx()*g.Rect.Dy() > LoadPixels || g.Rect.Dx()*g.Rect.Dy() < LoadPixels*9/10 {
			return fmt.Errorf("loaded %T of %v, want *image.Gray of just under LoadPixels", img, img.Bounds())
		}
		for _, v := range g.Pix {
			if v != 0xff {
				return fmt.Errorf("a pixel of %d: transparent pixels must show white", v)
			}
		}
		return nil
	}
	load := func() error {
		img, err := LoadImage(ctx, bytes.NewReader(bomb))
		if err != nil {
			return err
		}
		return checkImage(img)
	}
	file := func() error {
		img, err := LoadFile(ctx, path)
		if err != nil {
			return err
		}
		return checkImage(img)
	}
	decode := func() error { _, err := DecodeFile(ctx, path); return err }
	source := func() error {
		src, err := NewDirSource(ctx, filepath.Dir(path), nil) // rcctl scan --dir
		if err != nil {
			return err
		}
		defer src.Close()
		f, err := src.Next(ctx)
		if err != nil {
			return err
		}
		return checkImage(f.Image)
	}
	for name, f := range map[string]func() error{"LoadImage": load, "LoadFile": file, "DecodeFile": decode, "dir source": source} {
		t.Run(name, func(t *testing.T) {
			err := f()
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error = %v, want ErrTooLarge", err)
			}
			limit := "64 MiB limit"
			if ScaledDecoding {
				limit = "256 MiB limit"
			}
			for _, want := range []string{"8192x8192", "16-bit RGBA", "512 MiB", limit} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestDecodedBytes(t *testing.T) {
	cfg := func(w, h int, m color.Model) image.Config { return image.Config{Width: w, Height: h, ColorModel: m} }
	tests := []struct {
		name   string
		format string
		data   []byte
		cfg    image.Config
		want   int64
	}{
		{name: "png 8-bit gray", format: "png", cfg: cfg(6000, 4000, color.GrayModel), want: 24_000_000},
		{name: "png 16-bit gray counts 2 bytes", format: "png", cfg: cfg(6000, 4000, color.Gray16Model), want: 48_000_000},
		{name: "png paletted", format: "png", cfg: cfg(100, 10, color.Palette{color.Black}), want: 1000},
		{name: "png 8-bit RGBA", format: "png", cfg: cfg(100, 10, color.NRGBAModel), want: 4000},
		{name: "png 16-bit RGBA", format: "png", cfg: cfg(8192, 8192, color.NRGBA64Model), want: 512 << 20},
		{name: "jpeg gray", format: "jpeg", data: jpegHeader(0xc0, 8, 100, 10, 0x11), want: 1000},
		{name: "jpeg 4:4:4", format: "jpeg", data: jpegHeader(0xc0, 8, 100, 10, 0x11, 0x11, 0x11), want: 3000},
		{name: "jpeg 4:2:0 counts chroma at a quarter", format: "jpeg", data: jpegHeader(0xc0, 8, 6000, 4000, 0x22, 0x11, 0x11), want: 36_000_000},
		{name: "jpeg 4:2:0 odd size rounds up", format: "jpeg", data: jpegHeader(0xc0, 8, 101, 11, 0x22, 0x11, 0x11), want: 101*11 + 2*51*6},
		{name: "jpeg 12-bit", format: "jpeg", data: jpegHeader(0xc1, 12, 100, 10, 0x11), want: 2000},
		{name: "progressive jpeg counts its coefficients", format: "jpeg", data: jpegHeader(0xc2, 8, 100, 10, 0x11, 0x11, 0x11), want: 15000},
		{name: "jpeg without a frame header", format: "jpeg", data: []byte{0xff, 0xd8, 0xff, 0xd9}, cfg: cfg(100, 10, color.YCbCrModel), want: 8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodedBytes(tt.format, tt.data, tt.cfg); got != tt.want {
				t.Errorf("DecodedBytes = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestLoadImageDecodedLimit: images within the pixel limits but over the
// decoded-bytes limit are decoded downscaled with ScaledDecoding (these
// end early, after their headers or two rows) and refused from their
// headers without; a progressive JPEG whose coefficients would not fit is
// refused either way; within the limit they load.
func TestLoadImageDecodedLimit(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantErr error // with ScaledDecoding
		wantMsg string
		pureErr error // without
		pureMsg string
	}{
		{name: "16-bit gray 6000x6000 (72 MB)", data: pngBomb(t, 6000, 6000, 16, 0, 2),
			wantErr: ErrTruncated, pureErr: ErrTooLarge, pureMsg: "16-bit gray"},
		{name: "8-bit RGBA 4500x4000 (72 MB)", data: pngBomb(t, 4500, 4000, 8, 6, 2),
			wantErr: ErrTruncated, pureErr: ErrTooLarge, pureMsg: "8-bit RGBA"},
		{name: "truncated 16-bit RGBA bomb", data: readTestdata(t, "bomb-16bit-rgba.png"),
			wantErr: ErrTooLarge, wantMsg: "256 MiB limit", pureErr: ErrTooLarge, pureMsg: "512 MiB"},
		{name: "progressive jpeg 8000x8000 4:4:4 (915 MiB)", data: jpegHeader(0xc2, 8, 8000, 8000, 0x11, 0x11, 0x11),
			wantErr: ErrTooLarge, wantMsg: "coefficients take 366.2 MiB", pureErr: ErrTooLarge, pureMsg: "progressive 8-bit 3-component"},
		{name: "baseline jpeg 8000x8000 4:4:4 (183 MiB)", data: jpegHeader(0xc0, 8, 8000, 8000, 0x11, 0x11, 0x11),
			wantErr: ErrTruncated, pureErr: ErrTooLarge, pureMsg: "64 MiB limit"},
		// Within the limit: decoded (here it ends early, after the header).
		{name: "jpeg 6000x4000 4:2:0 (34 MiB) is decoded", data: jpegHeader(0xc0, 8, 6000, 4000, 0x22, 0x11, 0x11), wantErr: ErrTruncated, pureErr: ErrTruncated},
		{name: "8-bit gray 6000x6000 (34 MiB) is decoded", data: pngBomb(t, 6000, 6000, 8, 0, 2), wantErr: ErrTruncated, pureErr: ErrTruncated},
		// Over the pixel ceiling: refused from the header either way.
		{name: "png 20000x20000 (400 Mpx)", data: pngBomb(t, 20000, 20000, 1, 0, 2), wantErr: ErrTooLarge, wantMsg: "256 Mpx limit", pureErr: ErrTooLarge, pureMsg: "256 Mpx limit"},
		{name: "jpeg 65535 wide", data: jpegHeader(0xc0, 8, 65535, 16, 0x11), wantErr: ErrTooLarge, wantMsg: "65535x16", pureErr: ErrTooLarge, pureMsg: "65535x16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr, wantMsg := tt.wantErr, tt.wantMsg
			if !ScaledDecoding {
				wantErr, wantMsg = tt.pureErr, tt.pureMsg
			}
			_, err := LoadImage(context.Background(), bytes.NewReader(tt.data))
			if !errors.Is(err, wantErr) || !strings.Contains(err.Error(), wantMsg) {
				t.Fatalf("error = %v, want %v saying %q", err, wantErr, wantMsg)
			}
		})
	}
}
