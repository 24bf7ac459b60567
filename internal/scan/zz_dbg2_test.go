package scan

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

func TestZZDebugSpec(t *testing.T) {
	name := os.Getenv("ZZ_SPEC") // e.g. perspective-640x480-bcce64844443eb6f
	if name == "" {
		return
	}
	parts := strings.Split(name, "-")
	seed, _ := strconv.ParseUint(parts[2], 16, 64)
	var sz scene.Size
	sz.W, _ = strconv.Atoi(strings.Split(parts[1], "x")[0])
	sz.H, _ = strconv.Atoi(strings.Split(parts[1], "x")[1])
	spec := scene.Spec{Seed: seed, Condition: scene.Condition(parts[0]), Size: sz}
	if os.Getenv("ZZ_SAMPLE") != "" {
		spec.Text = scene.Sample
	}
	f, err := scene.Render(spec)
	if err != nil {
		t.Fatal(err)
	}
	debugf = t.Logf
	truth = func(u, v float64) pt { x, y := f.ModuleToImage(u, v); return pt{x, y} }
	defer func() { debugf = nil; truth = nil }()
	res, err := NewDecoder(Options{Budget: -1}).Decode(context.Background(), f.Image)
	t.Logf("dim %d %s ok=%v err=%v attempt=%s", f.Dim, f.Params, res.Text == f.Text, err, res.Attempt)
}
