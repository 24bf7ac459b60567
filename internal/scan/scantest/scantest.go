package scantest

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"image"
	"image/jpeg"

	"github.com/roadcheck/roadcheck/internal/qrcode"
)

// ErrLayout: the page cannot be built as asked (sizes off the JPEG MCU
// grid, a code outside the page, a text too long for a QR code).
var ErrLayout = errors.New("scantest: bad page layout")

// Page is a white W×H picture with the QR code (level M) of Text, Module
// pixels a module, its quiet zone's top-left corner at (X, Y).
type Page struct {
	W, H   int
	Text   string
	Module int
	X, Y   int
}

// code is the page's symbol, one byte a module with its quiet zone
// (0 dark), and where it lies.
type code struct {
	img  *image.Gray
	side int // pixels
	p    Page
}

func (p Page) code() (*code, error) {
	sym, err := qrcode.Encode(p.Text, qrcode.LevelM)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLayout, err)
	}
	img := sym.Image(1)
	c := &code{img: img, side: img.Bounds().Dx() * p.Module, p: p}
	if p.Module < 1 || p.X < 0 || p.Y < 0 || p.X+c.side > p.W || p.Y+c.side > p.H {
		return nil, fmt.Errorf("%w: a %d px code at (%d,%d) on a %dx%d page", ErrLayout, c.side, p.X, p.Y, p.W, p.H)
	}
	return c, nil
}

// dark reports whether pixel (x, y) of the page is a dark module.
func (c *code) dark(x, y int) bool {
	x, y = x-c.p.X, y-c.p.Y
	if x < 0 || y < 0 || x >= c.side || y >= c.side {
		return false
	}
	return c.img.Pix[(y/c.p.Module)*c.img.Stride+x/c.p.Module] == 0
}

// rowKind is the same for page rows with the same pixels: -1 outside the
// code, else the module row.
func (c *code) rowKind(y int) int {
	if y < c.p.Y || y >= c.p.Y+c.side {
		return -1
	}
	return (y - c.p.Y) / c.p.Module
}

// JPEG encodes the page as a baseline 4:2:0 JPEG of the given quality
// (1–100) with a restart marker after every MCU. W, H, Module, X and Y
// must be multiples of 16.
func JPEG(p Page, quality int) ([]byte, error) {
	for _, v := range []int{p.W, p.H, p.Module, p.X, p.Y} {
		if v%16 != 0 {
			return nil, fmt.Errorf("%w: JPEG pages need multiples of 16, got %+v", ErrLayout, p)
		}
	}
	if p.W > 65535 || p.H > 65535 {
		return nil, fmt.Errorf("%w: %dx%d is over JPEG's 65535", ErrLayout, p.W, p.H)
	}
	c, err := p.code()
	if err != nil {
		return nil, err
	}
	var header []byte
	var mcu [2][]byte // white, black entropy-coded bytes
	for i, v := range []uint8{0xff, 0} {
		img := image.NewRGBA(image.Rect(0, 0, 16, 16))
		for k := range img.Pix {
			img.Pix[k] = v
			if k%4 == 3 {
				img.Pix[k] = 0xff
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
			return nil, err
		}
		h, data, err := splitJPEG(b.Bytes(), p.W, p.H)
		if err != nil {
			return nil, err
		}
		header, mcu[i] = h, data
	}
	var out bytes.Buffer
	out.Write(header)
	cols, rows := p.W/16, p.H/16
	for r := range rows {
		for q := range cols {
			n := r*cols + q
			if n > 0 {
				out.Write([]byte{0xff, 0xd0 + byte((n-1)%8)})
			}
			if c.dark(q*16, r*16) {
				out.Write(mcu[1])
			} else {
				out.Write(mcu[0])
			}
		}
	}
	out.Write([]byte{0xff, 0xd9})
	return out.Bytes(), nil
}

// splitJPEG returns the markers of a one-MCU JPEG from image/jpeg up to and
// including its SOS segment, with the frame size set to w×h and a DRI of
// one MCU before the SOS, and its entropy-coded data.
func splitJPEG(b []byte, w, h int) (header, data []byte, err error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 || !bytes.HasSuffix(b, []byte{0xff, 0xd9}) {
		return nil, nil, errors.New("scantest: image/jpeg output not understood")
	}
	header = []byte{0xff, 0xd8}
	i := 2
	for i+4 <= len(b) {
		m := b[i+1]
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		seg := bytes.Clone(b[i : i+2+n])
		if m == 0xc0 {
			binary.BigEndian.PutUint16(seg[5:], uint16(h))
			binary.BigEndian.PutUint16(seg[7:], uint16(w))
		}
		if m == 0xda {
			header = append(header, 0xff, 0xdd, 0, 4, 0, 1) // DRI: one MCU
			header = append(header, seg...)
			return header, b[i+2+n : len(b)-2], nil
		}
		header = append(header, seg...)
		i += 2 + n
	}
	return nil, nil, errors.New("scantest: no SOS in image/jpeg output")
}

// PNG colour types PNG writes, all 8 bits a sample.
const (
	Gray = 0
	RGB  = 2
	// RGBA pages are transparent black where the page is white: readable
	// only when transparency shows as white.
	RGBA = 6
)

// PNGOptions say how PNG writes a page.
type PNGOptions struct {
	Color      int  // Gray, RGB or RGBA
	Interlaced bool // Adam7
}

// adam7 is the passes' (x start, y start, x step, y step).
var adam7 = [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}

// PNG encodes the page.
func PNG(p Page, o PNGOptions) ([]byte, error) {
	ch := map[int]int{Gray: 1, RGB: 3, RGBA: 4}[o.Color]
	if ch == 0 {
		return nil, fmt.Errorf("%w: colour type %d", ErrLayout, o.Color)
	}
	c, err := p.code()
	if err != nil {
		return nil, err
	}
	passes := [][4]int{{0, 0, 1, 1}}
	if o.Interlaced {
		passes = adam7[:]
	}
	type piece struct {
		z     []byte
		adler uint32
		n     int
	}
	cache := map[[2]int]piece{}
	var z bytes.Buffer
	z.Write([]byte{0x78, 0x01})
	var sum uint32 = 1
	for pi, ps := range passes {
		x0, y0, dx, dy := ps[0], ps[1], ps[2], ps[3]
		if x0 >= p.W || y0 >= p.H {
			continue
		}
		for y := y0; y < p.H; y += dy {
			key := [2]int{pi, c.rowKind(y)}
			pc, ok := cache[key]
			if !ok {
				row := []byte{0} // filter: none
				for x := x0; x < p.W; x += dx {
					row = append(row, pixel(c.dark(x, y), o.Color)...)
				}
				var b bytes.Buffer
				fw, err := flate.NewWriter(&b, flate.BestSpeed)
				if err != nil {
					return nil, err
				}
				fw.Write(row)
				if err := fw.Flush(); err != nil {
					return nil, err
				}
				pc = piece{z: b.Bytes(), adler: adler32.Checksum(row), n: len(row)}
				cache[key] = pc
			}
			z.Write(pc.z)
			sum = adlerCombine(sum, pc.adler, pc.n)
		}
	}
	z.Write([]byte{0x03, 0x00}) // final empty block, fixed Huffman codes
	binary.Write(&z, binary.BigEndian, sum)

	var out bytes.Buffer
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		out.WriteString(typ)
		out.Write(data)
		h := crc32.NewIEEE()
		h.Write([]byte(typ))
		h.Write(data)
		binary.Write(&out, binary.BigEndian, h.Sum32())
	}
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(p.W))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(p.H))
	ihdr[8], ihdr[9] = 8, byte(o.Color)
	if o.Interlaced {
		ihdr[12] = 1
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes(), nil
}

// pixel is a dark or light page pixel in colour type ct.
func pixel(dark bool, ct int) []byte {
	v := uint8(0xff)
	if dark {
		v = 0
	}
	switch ct {
	case Gray:
		return []byte{v}
	case RGB:
		return []byte{v, v, v}
	}
	if dark {
		return []byte{0, 0, 0, 0xff}
	}
	return []byte{0, 0, 0, 0} // transparent black
}

// adlerCombine is the Adler-32 of a stream whose first part has checksum
// a1 and whose second part, n bytes long, has a2 (zlib's adler32_combine).
func adlerCombine(a1, a2 uint32, n int) uint32 {
	const base = 65521
	rem := uint32(n % base)
	s1 := a1 & 0xffff
	s2 := rem * s1 % base
	s1 += (a2 & 0xffff) + base - 1
	s2 += (a1 >> 16) + (a2 >> 16) + base - rem
	if s1 >= base {
		s1 -= base
	}
	if s1 >= base {
		s1 -= base
	}
	if s2 >= base<<1 {
		s2 -= base << 1
	}
	if s2 >= base {
		s2 -= base
	}
	return s1 | s2<<16
}

// Mask returns a function telling whether pixel (x, y) of the page is a
// dark module, to compare decoders against.
func (p Page) Mask() (func(x, y int) bool, error) {
	c, err := p.code()
	if err != nil {
		return nil, err
	}
	return c.dark, nil
}
