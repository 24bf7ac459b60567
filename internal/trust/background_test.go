package trust

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestLimitHeap: a large import's heap limit holds while any import runs,
// is lifted after the last, and never replaces a limit the program set.
func TestLimitHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	cur := func() int64 { return debug.SetMemoryLimit(-1) }
	r1 := limitHeap()
	r2 := limitHeap()
	if got := cur(); got != importHeapLimit {
		t.Fatalf("limit during imports = %d, want %d", got, importHeapLimit)
	}
	r1()
	if got := cur(); got != importHeapLimit {
		t.Fatalf("limit with one import left = %d, want %d", got, importHeapLimit)
	}
	r2()
	if got := cur(); got != math.MaxInt64 {
		t.Fatalf("limit after the imports = %d, want none", got)
	}
	debug.SetMemoryLimit(1 << 30)
	r := limitHeap()
	if got := cur(); got != 1<<30 {
		t.Fatalf("the program's limit became %d", got)
	}
	r()
	if got := cur(); got != 1<<30 {
		t.Fatalf("the program's limit became %d after the import", got)
	}
}
