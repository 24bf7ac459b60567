package scan

import (
	"context"
	"testing"
)

// testPlane is a w×h plane of pseudo-random pixels.
func testPlane(w, h int) *plane {
	p := newPlane(w, h)
	for i := range p.pix {
		p.pix[i] = byte((i*7919 + i/w*104729) % 251)
	}
	return p
}

// TestResizedEnlargingIsBilinear: an enlarged plane holds, at each pixel,
// the bilinear sample of the source at that pixel's centre, rounded.
func TestResizedEnlargingIsBilinear(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		f    float64
	}{{37, 23, 2}, {40, 40, 1.5}, {9, 31, 3.3}, {1, 5, 2}, {64, 48, 1}} {
		p := testPlane(tc.w, tc.h)
		q := p.resized(context.Background(), tc.f)
		for y := range q.h {
			for x := range q.w {
				inv := 1 / tc.f
				want := uint8(p.sample((float64(x)+0.5)*inv, (float64(y)+0.5)*inv) + 0.5)
				if got := q.pix[y*q.w+x]; got != want {
					t.Fatalf("%dx%d ×%v: pixel %d,%d = %d, want %d", tc.w, tc.h, tc.f, x, y, got, want)
				}
			}
		}
		q.release()
		p.release()
	}
}

// TestErodedIsMinimum: erosion is the minimum over the 3×3 window, the
// window clipped at the plane's edges.
func TestErodedIsMinimum(t *testing.T) {
	for _, sz := range [][2]int{{37, 23}, {2, 2}, {1, 7}, {7, 1}, {64, 3}} {
		w, h := sz[0], sz[1]
		p := testPlane(w, h)
		q := p.eroded(context.Background())
		for y := range h {
			for x := range w {
				want := byte(255)
				for yy := max(y-1, 0); yy <= min(y+1, h-1); yy++ {
					for xx := max(x-1, 0); xx <= min(x+1, w-1); xx++ {
						want = min(want, p.pix[yy*w+xx])
					}
				}
				if got := q.pix[y*w+x]; got != want {
					t.Fatalf("%dx%d: pixel %d,%d = %d, want %d", w, h, x, y, got, want)
				}
			}
		}
		q.release()
		p.release()
	}
}
