//go:build cgo && !android && !ios

package imagecodec

import (
	"bytes"
	"context"
	"errors"
	"image"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/scantest"
)

const (
	testMin = 4 << 20  // package scan's LoadPixels
	testMem = 64 << 20 // package scan's MaxDecodedBytes
)

// phone is a 48 Mpx page (8000×6000, a phone camera's) with a code.
var phone = scantest.Page{W: 8000, H: 6000, Text: "RTC1:TESTCODE-48MPX", Module: 64, X: 2048, Y: 1600}

func mustJPEG(t testing.TB, p scantest.Page) []byte {
	t.Helper()
	b, err := scantest.JPEG(p, 40)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustPNG(t testing.TB, p scantest.Page, o scantest.PNGOptions) []byte {
	t.Helper()
	b, err := scantest.PNG(p, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPage compares a decoded, reduced page with the page: every 4th
// output pixel each way whose source block lies inside one module (or the
// white page) is within tol of it.
func checkPage(t *testing.T, img *image.Gray, p scantest.Page, tol int) {
	t.Helper()
	dark, err := p.Mask()
	if err != nil {
		t.Fatal(err)
	}
	fx := float64(p.W) / float64(img.Rect.Dx())
	fy := float64(p.H) / float64(img.Rect.Dy())
	bad, checked, total := 0, 0, 0
	for oy := 0; oy < img.Rect.Dy(); oy += 4 {
		for ox := 0; ox < img.Rect.Dx(); ox += 4 {
			total++
			x0, y0 := int(float64(ox)*fx), int(float64(oy)*fy)
			x1, y1 := min(p.W-1, int(float64(ox+1)*fx)), min(p.H-1, int(float64(oy+1)*fy))
			d := dark(x0, y0)
			if dark(x1, y0) != d || dark(x0, y1) != d || dark(x1, y1) != d {
				continue // a block across a module edge
			}
			checked++
			want := 0xff
			if d {
				want = 0
			}
			if diff := int(img.GrayAt(ox, oy).Y) - want; diff > tol || diff < -tol {
				bad++
			}
		}
	}
	if checked < total/2 || bad > 0 {
		t.Errorf("%d of %d pixels off the page by more than %d", bad, checked, tol)
	}
}

// TestGreyLarge: a 48 Mpx JPEG is decoded at 3/8 (3000×2250 ≥ 4 Mpx), PNGs
// in every layout averaged by 3×3 blocks (2667×2000), and they show the page.
func TestGreyLarge(t *testing.T) {
	tests := []struct {
		name         string
		data         []byte
		wantW, wantH int
		tol          int
	}{
		{name: "jpeg 4:2:0", data: mustJPEG(t, phone), wantW: 3000, wantH: 2250, tol: 24},
		{name: "png gray", data: mustPNG(t, phone, scantest.PNGOptions{Color: scantest.Gray}), wantW: 2667, wantH: 2000},
		{name: "png rgb", data: mustPNG(t, phone, scantest.PNGOptions{Color: scantest.RGB}), wantW: 2667, wantH: 2000},
		{name: "png rgba over white", data: mustPNG(t, phone, scantest.PNGOptions{Color: scantest.RGBA}), wantW: 2667, wantH: 2000},
		{name: "png interlaced", data: mustPNG(t, phone, scantest.PNGOptions{Color: scantest.RGBA, Interlaced: true}), wantW: 2667, wantH: 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Grey(context.Background(), tt.data, Options{MinPixels: testMin, MaxMemory: testMem})
			if err != nil {
				t.Fatal(err)
			}
			if img.Rect.Dx() != tt.wantW || img.Rect.Dy() != tt.wantH {
				t.Fatalf("decoded %v, want %dx%d", img.Rect, tt.wantW, tt.wantH)
			}
			checkPage(t, img, phone, tt.tol)
		})
	}
}

// TestGreyFullSize: at factor 1 (k = 1, M = 8) the output is the page.
func TestGreyFullSize(t *testing.T) {
	p := scantest.Page{W: 640, H: 480, Text: "RTC1:SEED", Module: 16, X: 64, Y: 0}
	for name, data := range map[string][]byte{
		"jpeg":           mustJPEG(t, p),
		"png":            mustPNG(t, p, scantest.PNGOptions{Color: scantest.RGB}),
		"png interlaced": mustPNG(t, p, scantest.PNGOptions{Color: scantest.Gray, Interlaced: true}),
	} {
		t.Run(name, func(t *testing.T) {
			img, err := Grey(context.Background(), data, Options{MinPixels: p.W * p.H, MaxMemory: testMem})
			if err != nil {
				t.Fatal(err)
			}
			if img.Rect.Dx() != p.W || img.Rect.Dy() != p.H {
				t.Fatalf("decoded %v", img.Rect)
			}
			tol := 0
			if name == "jpeg" {
				tol = 24
			}
			checkPage(t, img, p, tol)
		})
	}
}

func TestScaleChoice(t *testing.T) {
	tests := []struct {
		w, h, min    int
		wantM, wantK int
	}{
		{w: 8000, h: 6000, min: testMin, wantM: 3, wantK: 3},
		{w: 4000, h: 3000, min: testMin, wantM: 5, wantK: 1},
		{w: 32768, h: 32768, min: testMin, wantM: 1, wantK: 16},
		{w: 100, h: 100, min: testMin, wantM: 8, wantK: 1},
	}
	for _, tt := range tests {
		if m := JPEGScale(tt.w, tt.h, tt.min); m != tt.wantM {
			t.Errorf("JPEGScale(%d, %d) = %d, want %d", tt.w, tt.h, m, tt.wantM)
		}
		if k := PNGFactor(tt.w, tt.h, tt.min); k != tt.wantK {
			t.Errorf("PNGFactor(%d, %d) = %d, want %d", tt.w, tt.h, k, tt.wantK)
		}
	}
}

// jpegHeader is a JPEG start and frame header (sof 0xc0 baseline, 0xc2
// progressive) declaring w×h with the components' sampling factors, and a
// scan header without data.
func jpegHeader(sof byte, w, h uint16, sampling ...byte) []byte {
	b := []byte{0xff, 0xd8}
	// Quantisation table 0, all ones.
	b = append(b, 0xff, 0xdb, 0, 67, 0)
	b = append(b, bytes.Repeat([]byte{1}, 64)...)
	seg := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(sampling))}
	for i, s := range sampling {
		seg = append(seg, byte(i+1), s, 0)
	}
	b = append(b, 0xff, sof, 0, byte(len(seg)+2))
	b = append(b, seg...)
	// Huffman DC table 0: one code of length 1 for category 0.
	b = append(b, 0xff, 0xc4, 0, 20, 0x00, 1)
	b = append(b, make([]byte, 15)...)
	b = append(b, 0)
	sos := []byte{byte(len(sampling))} // every component, DC only, first scan
	for i := range sampling {
		sos = append(sos, byte(i+1), 0)
	}
	sos = append(sos, 0, 0, 0)
	if sof == 0xc0 {
		sos[len(sos)-2] = 63 // baseline: the whole spectrum
	}
	b = append(b, 0xff, 0xda, 0, byte(len(sos)+2))
	b = append(b, sos...)
	return b
}

func TestGreyErrors(t *testing.T) {
	jp := mustJPEG(t, phone)
	pn := mustPNG(t, phone, scantest.PNGOptions{Color: scantest.RGB})
	// A restart marker out of sequence.
	badRST := bytes.Clone(jp)
	if i := bytes.Index(badRST[len(badRST)/2:], []byte{0xff, 0xd3}); i < 0 {
		t.Fatal("no RST3")
	} else {
		badRST[len(badRST)/2+i+1] = 0xd6
	}
	// An IDAT byte changed: its CRC fails.
	badCRC := bytes.Clone(pn)
	badCRC[len(badCRC)/2] ^= 0x55
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		data    []byte
		mem     int64
		wantErr error
	}{
		{name: "jpeg cut in half", data: jp[:len(jp)/2], wantErr: ErrTruncated},
		{name: "jpeg without EOI", data: jp[:len(jp)-2], wantErr: ErrTruncated},
		{name: "jpeg restart out of order", data: badRST, wantErr: ErrCorrupt},
		{name: "png cut in half", data: pn[:len(pn)/2], wantErr: ErrTruncated},
		{name: "png without IEND", data: pn[:len(pn)-12], wantErr: ErrTruncated},
		{name: "png bad CRC", data: badCRC, wantErr: ErrCorrupt},
		{name: "progressive 8000x6000 4:2:0 coefficients", data: jpegHeader(0xc2, 8000, 6000, 0x22, 0x11, 0x11), wantErr: ErrTooLarge},
		{name: "baseline header only", data: jpegHeader(0xc0, 8000, 6000, 0x22, 0x11, 0x11), wantErr: ErrTruncated},
		{name: "output over the memory bound", data: jp, mem: 1 << 20, wantErr: ErrTooLarge},
		{name: "png working memory over the bound", data: pn, mem: 2667*2000 + 4<<10, wantErr: ErrTooLarge},
		{name: "not an image", data: []byte("GIF89a"), wantErr: ErrUnsupported},
		{name: "cancelled", ctx: cancelled, data: jp, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			mem := tt.mem
			if mem == 0 {
				mem = testMem
			}
			_, err := Grey(ctx, tt.data, Options{MinPixels: testMin, MaxMemory: mem})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestCancelInC: a cancelled context stops the C loops (the flag is set
// before the call, so the first check sees it).
func TestCancelInC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := make([]byte, 3000*2250)
	if err := decodeJPEG(ctx, mustJPEG(t, phone), 3, 3000, 2250, out, testMem); !errors.Is(err, context.Canceled) {
		t.Errorf("jpeg: %v, want context.Canceled", err)
	}
	out = make([]byte, 2667*2000)
	if err := decodePNG(ctx, mustPNG(t, phone, scantest.PNGOptions{Color: scantest.Gray}), 8000, 6000, 3, out, testMem); !errors.Is(err, context.Canceled) {
		t.Errorf("png: %v, want context.Canceled", err)
	}
}
