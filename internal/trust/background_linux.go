package trust

import "syscall"

// lowerThreadPriority adds by to the calling thread's nice value (at most
// 19). Failure is harmless: the work only runs at normal priority.
func lowerThreadPriority(by int) {
	tid := syscall.Gettid()
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return
	}
	nice := 20 - raw // the raw system call answers 20 - nice
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(nice+by, 19))
}
