package scan

import (
	"context"
	"fmt"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

// BenchmarkDecode measures the decoder under its real per-frame budget on
// 640×480 and 1280×720 frames of every classic family: ns/op is the mean
// time per frame, "rate" the share of frames decoded.
//
//	go test ./internal/scan -run '^$' -bench BenchmarkDecode -benchtime 40x -benchmem
func BenchmarkDecode(b *testing.B) {
	for _, sz := range []scene.Size{{W: 640, H: 480}, {W: 1280, H: 720}} {
		for _, cond := range scene.Conditions {
			b.Run(fmt.Sprintf("%s/%s", sz, cond), func(b *testing.B) {
				benchFrames(b, scene.Specs(corpusSeed+1, 10, []scene.Size{sz}, []scene.Condition{cond}))
			})
		}
	}
}

// BenchmarkDecodeHard is BenchmarkDecode on the hard families, at 640×480
// (small codes at 1280×720).
//
//	go test ./internal/scan -run '^$' -bench BenchmarkDecodeHard -benchtime 20x -benchmem
func BenchmarkDecodeHard(b *testing.B) {
	for _, cond := range scene.Hard {
		sz := scene.Size{W: 640, H: 480}
		if !cond.Fits(sz) {
			sz = scene.Size{W: 1280, H: 720}
		}
		b.Run(fmt.Sprintf("%s/%s", sz, cond), func(b *testing.B) {
			benchFrames(b, scene.Specs(corpusSeed+1, 5, []scene.Size{sz}, []scene.Condition{cond}))
		})
	}
}

func benchFrames(b *testing.B, specs []scene.Spec) {
	frames := make([]*scene.Frame, len(specs))
	for i, sp := range specs {
		frames[i] = render(b, sp)
	}
	d := NewDecoder(Options{})
	ctx := context.Background()
	ok := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := frames[i%len(frames)]
		if res, err := d.Decode(ctx, f.Image); err == nil && res.Text == f.Text {
			ok++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(ok)/float64(b.N), "rate")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}
