//go:build linux

package statusfile

import (
	"context"
	"math/rand/v2"
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
	for d := range 3 {
		t0 := time.Now()
		applyDeltaOf(ctx, s, d, deltas[d])
		b.Logf("delta %d: %v", d, time.Since(t0))
	}
	pprof.StopCPUProfile()
	f.Close()
	f, _ = os.Create("/tmp/zzc.prof")
	pprof.StartCPUProfile(f)
	t0 := time.Now()
	c0 := cpuTime()
	s.Compact(ctx)
	b.Logf("compact: %v cpu %v", time.Since(t0), cpuTime()-c0)
	pprof.StopCPUProfile()
	f.Close()
}

func BenchmarkZZLookupProf(b *testing.B) {
	ctx := context.Background()
	s, _ := Open(ctx, golden(b))
	defer s.Close()
	v, _ := s.View(ctx)
	defer v.Release()
	primeAll(b, v)
	r := rand.New(rand.NewPCG(1, 1))
	cum := cumSizes()
	keys := make([]Key, 1<<16)
	hs := make([][16]byte, 1<<16)
	for i := range keys {
		keys[i], hs[i] = lookupProbe(r, cum)
	}
	f, _ := os.Create("/tmp/zzl.prof")
	pprof.StartCPUProfile(f)
	c0 := cpuTime()
	const N = 3_000_000
	for i := range N {
		v.Lookup(keys[i&0xffff], hs[i&0xffff], natNow)
	}
	b.Logf("cpu per lookup %v", (cpuTime()-c0)/N)
	pprof.StopCPUProfile()
	f.Close()
}
