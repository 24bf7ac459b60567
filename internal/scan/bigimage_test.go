package scan

import (
	"bytes"
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/scantest"
)

// bigText is the code on the big pages: RTC1-sized, version 15 or so.
const bigText = "RTC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEMWK3FWQY-2M8YV7OTH3I0KCR5:OAQ 2EFP.TD1R:QU0L4ED4WGSH5C/FP1*KZ$6ZC0V4HKL0:9SCXNB6.:S3Y9$NYT7ANF$GQJ2:X7BOUW9MDC7QAS7RU6N7AJZ$J5*B4Q1E:EBO:0Z$PVPU1P-UNA:8XB-.VE2NB*H6M4UD1I:FKY:S4PK.-Q1V0QZ"

// phonePage is a 48 Mpx phone photo's size (8000×6000) with a code of
// 32 px modules; phonePNG the same page as a screenshot would be.
var phonePage = scantest.Page{W: 8000, H: 6000, Text: bigText, Module: 32, X: 2048, Y: 1024}

var bigFiles = sync.OnceValues(func() (map[string][]byte, error) {
	jp, err := scantest.JPEG(phonePage, 40)
	if err != nil {
		return nil, err
	}
	rgb, err := scantest.PNG(phonePage, scantest.PNGOptions{Color: scantest.RGB})
	if err != nil {
		return nil, err
	}
	rgba, err := scantest.PNG(phonePage, scantest.PNGOptions{Color: scantest.RGBA, Interlaced: true})
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"phone.jpg": jp, "phone-rgb.png": rgb, "phone-rgba-interlaced.png": rgba}, nil
})

// bigFile returns a generated big file by name, written into dir when dir
// is not empty.
func bigFile(t testing.TB, name, dir string) []byte {
	t.Helper()
	files, err := bigFiles()
	if err != nil {
		t.Fatal(err)
	}
	b := files[name]
	if dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// TestLoadLargeImages: a 48 Mpx 4:2:0 JPEG (72 MiB decoded at full size)
// and 48 Mpx RGB and interlaced RGBA PNGs (144 and 192 MiB) are decoded
// downscaled to just under LoadPixels and their codes read, with
// ScaledDecoding; without, they are refused from their headers.
func TestLoadLargeImages(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"phone.jpg", "phone-rgb.png", "phone-rgba-interlaced.png"} {
		t.Run(name, func(t *testing.T) {
			data := bigFile(t, name, dir)
			img, err := LoadImage(context.Background(), bytes.NewReader(data))
			if !ScaledDecoding {
				if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "64 MiB limit") {
					t.Fatalf("error = %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g, ok := img.(*image.Gray)
			if px := img.Bounds().Dx() * img.Bounds().Dy(); !ok || px > LoadPixels || px < LoadPixels*9/10 {
				t.Fatalf("loaded %T of %v, want *image.Gray just under %d px", img, img.Bounds(), LoadPixels)
			}
			if r := float64(g.Rect.Dx()) / float64(g.Rect.Dy()); r < 1.32 || r > 1.34 {
				t.Errorf("aspect %.3f, want 4:3", r)
			}
			text, err := DecodeFile(context.Background(), filepath.Join(dir, name))
			if err != nil || text != bigText {
				t.Fatalf("DecodeFile = %.20q…, %v", text, err)
			}
		})
	}
}

// TestLoadLargeDamaged: big files cut short or damaged give ErrTruncated,
// whichever decoder reads them.
func TestLoadLargeDamaged(t *testing.T) {
	jp := bigFile(t, "phone.jpg", "")
	pn := bigFile(t, "phone-rgb.png", "")
	badRST := bytes.Clone(jp) // a restart marker out of sequence
	i := bytes.Index(badRST[len(badRST)/2:], []byte{0xff, 0xd3})
	if i < 0 {
		t.Fatal("no RST3 marker")
	}
	badRST[len(badRST)/2+i+1] = 0xd6
	badCRC := bytes.Clone(pn)
	badCRC[len(badCRC)/2] ^= 0x55
	tests := []struct {
		name    string
		data    []byte
		wantMsg string
	}{
		{name: "jpeg cut in half", data: jp[:len(jp)/2], wantMsg: "ends early"},
		{name: "jpeg restart out of order", data: badRST, wantMsg: "jpeg"},
		{name: "png cut in half", data: pn[:len(pn)/2], wantMsg: "ends early"},
		{name: "png bad checksum", data: badCRC, wantMsg: "png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadImage(context.Background(), bytes.NewReader(tt.data))
			want, msg := ErrTruncated, tt.wantMsg
			if !ScaledDecoding {
				want, msg = ErrTooLarge, "64 MiB limit" // refused before the damage is seen
			}
			if !errors.Is(err, want) || !strings.Contains(err.Error(), msg) {
				t.Fatalf("error = %v, want %v saying %q", err, want, msg)
			}
		})
	}
}
