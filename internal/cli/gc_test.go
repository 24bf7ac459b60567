package cli

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestCollectLate: the collector is off under a soft limit while any
// caller runs, and the previous settings come back after the last; a
// limit the program set stays.
func TestCollectLate(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	percent := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	r1, r2 := collectLate(), collectLate()
	if p, l := percent(), limit(); p != -1 || l != shortGCLimit {
		t.Fatalf("while running: GC percent %d, limit %d; want -1, %d", p, l, shortGCLimit)
	}
	r1()
	if p := percent(); p != -1 {
		t.Fatalf("with one caller left: GC percent %d, want -1", p)
	}
	r2()
	if p, l := percent(), limit(); p != 100 || l != math.MaxInt64 {
		t.Fatalf("after: GC percent %d, limit %d; want 100, none", p, l)
	}
	debug.SetMemoryLimit(1 << 30)
	r := collectLate()
	if l := limit(); l != 1<<30 {
		t.Fatalf("the program's limit became %d", l)
	}
	r()
	if p, l := percent(), limit(); p != 100 || l != 1<<30 {
		t.Fatalf("after, with the program's limit: GC percent %d, limit %d", p, l)
	}
}
