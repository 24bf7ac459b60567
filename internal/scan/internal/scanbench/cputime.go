package main

import (
	"context"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// CPU-time measurement: on a machine shared with other work, wall-clock
// budgets and timings measure the neighbours as much as the decoder. With
// -cputime each frame is decoded on a locked OS thread whose own CPU time
// drives both the budget (cpuBudget, a context whose Err reports the
// deadline once the thread has used the budget) and Result.Duration
// (cpuClock): what the decoder does on an idle core.

// clockThreadCPUTimeID is Linux's CLOCK_THREAD_CPUTIME_ID.
const clockThreadCPUTimeID = 3

// threadCPU returns the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	_, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	if e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// cpuClock reads the calling thread's CPU time as a time.
type cpuClock struct{}

func (cpuClock) Now() time.Time { return time.Unix(0, int64(threadCPU())) }

// cpuBudget is a context that expires once the calling thread has used
// budget of CPU time since it was made. Its Done channel never closes:
// the decoder polls Err between steps.
type cpuBudget struct {
	context.Context
	start, budget time.Duration
}

func (c *cpuBudget) Err() error {
	if c.budget > 0 && threadCPU()-c.start > c.budget {
		return context.DeadlineExceeded
	}
	return c.Context.Err()
}

// onLockedThread runs f on the calling goroutine locked to its OS thread.
func onLockedThread(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f()
}
