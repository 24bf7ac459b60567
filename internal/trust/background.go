package trust

import "runtime"

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
