package cli

import (
	"math"
	"runtime/debug"
	"sync"
)

// shortGCLimit is the soft memory limit that guards a short command run
// without garbage collection.
const shortGCLimit = 256 << 20

var shortGC struct {
	sync.Mutex
	users        int
	percent      int
	limit        int64
	programLimit bool
}

// collectLate turns the garbage collector off, with shortGCLimit as a soft
// memory limit, until the returned function is called. A verification is a
// short process whose few megabytes of garbage are not worth collecting:
// the collections took about a quarter of a `rcctl verify` process's CPU
// on the national trust set. A limit the program set stays.
//
// WARNING: the setting is process-wide; concurrent callers share it (the
// last to finish restores the previous one).
func collectLate() (restore func()) {
	shortGC.Lock()
	defer shortGC.Unlock()
	if shortGC.users == 0 {
		shortGC.limit = debug.SetMemoryLimit(-1)
		shortGC.programLimit = shortGC.limit != math.MaxInt64
		if !shortGC.programLimit {
			debug.SetMemoryLimit(shortGCLimit)
		}
		shortGC.percent = debug.SetGCPercent(-1)
	}
	shortGC.users++
	return func() {
		shortGC.Lock()
		defer shortGC.Unlock()
		if shortGC.users--; shortGC.users == 0 {
			debug.SetGCPercent(shortGC.percent)
			if !shortGC.programLimit {
				debug.SetMemoryLimit(shortGC.limit)
			}
		}
	}
}
