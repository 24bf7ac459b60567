//go:build linux

package statusfile

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

func BenchmarkZZDeltaProf(b *testing.B) {
	ctx := context.Background()
	dir := cloneStore(b, golden(b))
	s, _ := Open(ctx, dir)
	defer s.Close()
	deltas := []map[int][]Entry{natDelta(0), natDelta(1), natDelta(2), natDelta(3), natDelta(4)}
	f, _ := os.Create("/tmp/zz.prof")
	pprof.StartCPUProfile(f)
	for d := range 5 {
		t0 := time.Now()
		applyDeltaOf(ctx, s, d, deltas[d])
		b.Logf("delta %d: %v", d, time.Since(t0))
	}
	pprof.StopCPUProfile()
	f.Close()
}
