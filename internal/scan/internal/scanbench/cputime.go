package main

import (
	"context"
	"runtime"
	"time"
)

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
