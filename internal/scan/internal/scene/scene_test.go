package scene

import (
	"bytes"
	"errors"
	"image"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestRenderDeterministic(t *testing.T) {
	spec := Spec{Seed: 99, Condition: Perspective, Size: Size{W: 320, H: 240}}
	a, err := Render(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != b.Text || !bytes.Equal(a.Image.(*image.RGBA).Pix, b.Image.(*image.RGBA).Pix) {
		t.Error("the same spec rendered different frames")
	}
	spec.Seed++
	c, err := Render(spec)
	if err != nil {
		t.Fatal(err)
	}
	if c.Text == a.Text {
		t.Error("another seed gave the same payload")
	}
}

func TestRenderConditions(t *testing.T) {
	for _, c := range Conditions {
		t.Run(string(c), func(t *testing.T) {
			f, err := Render(Spec{Seed: 1, Condition: c, Size: Size{W: 320, H: 240}})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Image.Bounds().Size(); got != image.Pt(320, 240) {
				t.Errorf("size %v", got)
			}
			if (c == JPEG || c == Mixed) != (f.Encoded != nil) {
				t.Errorf("Encoded set = %v for %s", f.Encoded != nil, c)
			}
			if f.Version < 12 || f.Version > 17 {
				t.Errorf("version %d for a %d-char payload", f.Version, len(f.Text))
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		wantErr error
	}{
		{name: "unknown condition", spec: Spec{Condition: "fog", Size: Size{W: 320, H: 240}}, wantErr: ErrBadSpec},
		{name: "small code in a small frame", spec: Spec{Condition: Small, Size: Size{W: 640, H: 480}}, wantErr: ErrBadSpec},
		{name: "decoy in a hard family", spec: Spec{Condition: Glass, Size: Size{W: 640, H: 480}, Decoy: "HTTPS://X"}, wantErr: ErrBadSpec},
		{name: "too small", spec: Spec{Condition: Clean, Size: Size{W: 10, H: 10}}, wantErr: ErrBadSpec},
		{name: "too big", spec: Spec{Condition: Clean, Size: Size{W: 100000, H: 10}}, wantErr: ErrBadSpec},
		{name: "not encodable", spec: Spec{Condition: Clean, Size: Size{W: 320, H: 240}, Text: strings.Repeat("A", 5000)}, wantErr: ErrBadSpec},
		{name: "ok", spec: Spec{Condition: Clean, Size: Size{W: 320, H: 240}, Text: "RTC1:X"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.spec)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Render error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestPayload(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		p := RandomPayload(r)
		if !strings.HasPrefix(p, "RTC1:") || len(p) < 400 || len(p) > 700 {
			t.Fatalf("payload of %d chars: %.20q", len(p), p)
		}
		if strings.Trim(p[5:], Base45Alphabet) != "" {
			t.Fatalf("payload outside Base45: %q", p)
		}
	}
	if len(Sample) != 526 {
		t.Errorf("Sample has %d chars, want 526", len(Sample))
	}
}

func TestSpecs(t *testing.T) {
	a := Specs(1, 3, Sizes, Conditions)
	if len(a) != 3*len(Sizes)*len(Conditions) {
		t.Fatalf("%d specs", len(a))
	}
	// The small family has no 640x480 frames.
	if h := Specs(1, 3, Sizes, Hard); len(h) != 3*len(Sizes)*len(Hard)-3 {
		t.Errorf("%d hard specs, want %d", len(h), 3*len(Sizes)*len(Hard)-3)
	}
	for _, sp := range Specs(1, 2, Sizes, []Condition{Small}) {
		if sp.Size.W < 1280 {
			t.Errorf("small-code spec at %s", sp.Size)
		}
	}
	seen := map[uint64]bool{}
	for _, s := range a {
		if seen[s.Seed] {
			t.Fatalf("seed %x repeated", s.Seed)
		}
		seen[s.Seed] = true
	}
	if b := Specs(1, 3, Sizes, Conditions); b[5] != a[5] {
		t.Error("Specs not deterministic")
	}
}
