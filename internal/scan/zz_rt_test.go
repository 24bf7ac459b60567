package scan

import (
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

func TestZZRenderTime(t *testing.T) {
	specs := scene.Specs(1, 4, []scene.Size{{W: 640, H: 480}}, []scene.Condition{scene.Clean, scene.Moire, scene.Motion})
	var rt, dt time.Duration
	for _, sp := range specs {
		s := time.Now()
		f, _ := scene.Render(sp)
		rt += time.Since(s)
		s = time.Now()
		decodeAll(t, f.Image)
		dt += time.Since(s)
	}
	t.Logf("render %v decode %v for %d frames", rt, dt, len(specs))
}
