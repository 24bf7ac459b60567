package scan

import (
	"testing"
)

func TestZZBox(t *testing.T) {
	p := newPlane(37, 23)
	for i := range p.pix {
		p.pix[i] = byte(i * 97 % 256)
	}
	for _, r := range []int{0, 1, 2, 5, 30} {
		q := p.boxBlur(r)
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				s := 0
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						s += int(p.at(x+dx, y+dy))
					}
				}
				n := (2*r + 1) * (2*r + 1)
				want := (s + n/2) / n
				if d := int(q.pix[y*p.w+x]) - want; d > 1 || d < -1 {
					t.Fatalf("r=%d (%d,%d): %d want %d", r, x, y, q.pix[y*p.w+x], want)
				}
			}
		}
	}
}

func BenchmarkZZBox(b *testing.B) {
	p := newPlane(1280, 720)
	for i := 0; i < b.N; i++ {
		p.boxBlur(2)
	}
}
