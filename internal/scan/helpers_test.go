package scan

import (
	"context"
	"image"
	"sync"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

// renderCache memoises rendered frames across tests of one run.
var renderCache sync.Map // scene.Spec → *scene.Frame

// render draws spec, failing the test on error.
func render(t testing.TB, spec scene.Spec) *scene.Frame {
	t.Helper()
	if f, ok := renderCache.Load(spec); ok {
		return f.(*scene.Frame)
	}
	f, err := scene.Render(spec)
	if err != nil {
		t.Fatalf("render %s: %v", spec.Name(), err)
	}
	renderCache.Store(spec, f)
	return f
}

// decodeAll decodes img with an unlimited budget (so outcomes do not depend
// on machine speed) and returns the result.
func decodeAll(t testing.TB, img image.Image) (Result, error) {
	t.Helper()
	return NewDecoder(Options{Budget: -1}).Decode(context.Background(), img)
}
