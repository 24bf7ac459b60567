package scantest

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// TestStdlibDecodes: the stitched files are valid for image/jpeg and
// image/png and show the page.
func TestStdlibDecodes(t *testing.T) {
	page := Page{W: 640, H: 512, Text: "RTC1:SEED", Module: 16, X: 64, Y: 32}
	dark, err := page.Mask()
	if err != nil {
		t.Fatal(err)
	}
	jp, err := JPEG(page, 50)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"jpeg": jp}
	for name, o := range map[string]PNGOptions{
		"png gray": {Color: Gray}, "png rgb": {Color: RGB}, "png rgba": {Color: RGBA},
		"png gray interlaced": {Color: Gray, Interlaced: true}, "png rgba interlaced": {Color: RGBA, Interlaced: true},
	} {
		b, err := PNG(page, o)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			var img image.Image
			var err error
			if name == "jpeg" {
				img, err = jpeg.Decode(bytes.NewReader(b))
			} else {
				img, err = png.Decode(bytes.NewReader(b))
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != image.Rect(0, 0, page.W, page.H) {
				t.Fatalf("bounds %v, want %dx%d", img.Bounds(), page.W, page.H)
			}
			bad := 0
			for y := range page.H {
				for x := range page.W {
					c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					light := c.A < 128 || color.GrayModel.Convert(c).(color.Gray).Y >= 128
					if light == dark(x, y) {
						bad++
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d pixels differ from the page", bad)
			}
		})
	}
}

func TestLayoutErrors(t *testing.T) {
	tests := []struct {
		name string
		page Page
		png  bool
	}{
		{name: "jpeg off the MCU grid", page: Page{W: 648, H: 512, Text: "RTC1:SEED", Module: 16}},
		{name: "code off the page", page: Page{W: 256, H: 256, Text: "RTC1:SEED", Module: 16}, png: true},
		{name: "no module size", page: Page{W: 256, H: 256, Text: "RTC1:SEED"}, png: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.png {
				_, err = PNG(tt.page, PNGOptions{Color: Gray})
			} else {
				_, err = JPEG(tt.page, 50)
			}
			if !errors.Is(err, ErrLayout) {
				t.Fatalf("error = %v, want ErrLayout", err)
			}
		})
	}
}
