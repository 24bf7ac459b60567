package scan

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoadImage: any bytes give an image or one of the documented errors,
// never a panic.
func FuzzLoadImage(f *testing.F) {
	ents, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 64<<10 {
			f.Add(b) // bomb-16bit-rgba.png among them: over MaxDecodedBytes
		}
	}
	// JPEG headers over MaxDecodedBytes: baseline and progressive.
	f.Add(jpegHeader(0xc0, 8, 8000, 8000, 0x11, 0x11, 0x11))
	f.Add(jpegHeader(0xc2, 8, 8000, 8000, 0x11, 0x11, 0x11))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := LoadImage(context.Background(), bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if img.Bounds().Dx()*img.Bounds().Dy() > LoadPixels {
			t.Fatalf("image of %v above LoadPixels", img.Bounds())
		}
		// Small images go through the decoder too.
		if img.Bounds().Dx()*img.Bounds().Dy() <= 256*256 {
			if _, err := NewDecoder(Options{Budget: 50 * time.Millisecond}).Decode(context.Background(), img); err != nil &&
				!errors.Is(err, ErrNoCode) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Decode: undocumented error: %v", err)
			}
		}
	})
}

// FuzzDecodeMJPEG: camera frames are untrusted bytes too.
func FuzzDecodeMJPEG(f *testing.F) {
	for _, name := range []string{"frame-160x120.mjpeg", "seed.jpg", "truncated.jpg"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(jpegHeader(0xc2, 8, 4000, 4000, 0x11, 0x11, 0x11)) // 16 Mpx progressive: over MaxDecodedBytes
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeMJPEG(b); err != nil && !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("undocumented error: %v", err)
		}
	})
}

// FuzzWedge: whatever the keys and timing, no character is lost or made up:
// the items put back together are the input, and codes follow the rules.
func FuzzWedge(f *testing.F) {
	f.Add([]byte("RTC1:ABC\n"), []byte{3, 3, 3, 3, 3, 3, 3, 3, 3})
	f.Add([]byte("hello\nRTC1:NCF%RNMG2\n"), []byte{200, 150, 180, 120, 90, 250, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2})
	f.Add([]byte("a\tb\r"), []byte{0, 40, 36, 35})
	f.Fuzz(func(t *testing.T, text []byte, gaps []byte) {
		w := NewWedge(WedgeOptions{})
		var in, out strings.Builder
		at := pinned
		var items []WedgeItem
		for i, r := range string(text) {
			if i < len(gaps) {
				at = at.Add(time.Duration(gaps[i]) * time.Millisecond)
			}
			if r == '\r' || r == '\n' {
				in.WriteByte('\n')
			} else {
				in.WriteRune(r)
			}
			items = append(items, w.Feed(KeyEvent{Rune: r, Time: at})...)
		}
		items = append(items, w.Flush(at.Add(time.Hour))...)
		for _, it := range items {
			if it.Code {
				if len([]rune(it.Text)) < DefaultWedgeMinLen || strings.ContainsAny(it.Text, "\n\r\t") {
					t.Fatalf("bad code %q", it.Text)
				}
				out.WriteString(it.Text + "\n")
			} else {
				out.WriteString(it.Text)
			}
		}
		if w.Pending() != 0 {
			t.Fatalf("%d keys still held after a late Flush", w.Pending())
		}
		if in.String() != out.String() {
			t.Fatalf("items %q do not add up to the input %q", out.String(), in.String())
		}
	})
}
