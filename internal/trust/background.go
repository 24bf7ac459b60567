package trust

import (
	"math"
	"runtime"
	"runtime/debug"
	"sync"
)

// backgroundNice is how much bulk trust work lowers its thread's CPU
// priority (Linux nice).
const backgroundNice = 10

// inBackground runs fn on an OS thread of its own at a lower CPU priority
// (nice +backgroundNice where the platform has it), so that a large
// import or a merge yields the processor to recording and verifying
// checks, in this process or another. The thread ends with fn: its
// priority cannot be raised back without privileges, and the Go runtime
// creates no thread from a locked one (so no other work inherits it).
func inBackground(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with fn
		lowerThreadPriority(backgroundNice)
		fn()
	}()
	<-done
}

// importHeapLimit is the soft limit on the Go heap a large import sets for
// its duration when the program set none: a full national import keeps
// about 170 MB live at its peak (its largest list and that list's sorted
// entries), and the collector's default pacing lets the heap reach twice
// that between collections.
const importHeapLimit = 300 << 20

var heapLimit struct {
	sync.Mutex
	users int
	old   int64
}

// limitHeap sets importHeapLimit as the process's soft memory limit until
// the returned function is called, unless the program set a limit of its
// own.
//
// WARNING: the limit is process-wide; while it holds, the rest of the
// program's allocations count against it too (the collector then runs
// more often; it never fails an allocation).
func limitHeap() (restore func()) {
	heapLimit.Lock()
	defer heapLimit.Unlock()
	if heapLimit.users == 0 {
		heapLimit.old = debug.SetMemoryLimit(-1)
		if heapLimit.old != math.MaxInt64 {
			return func() {} // the program's own limit stands
		}
		debug.SetMemoryLimit(importHeapLimit)
	}
	heapLimit.users++
	return func() {
		heapLimit.Lock()
		defer heapLimit.Unlock()
		if heapLimit.users--; heapLimit.users == 0 {
			debug.SetMemoryLimit(heapLimit.old)
		}
	}
}
