package main

import (
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
