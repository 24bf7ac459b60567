package verify_test

import (
	"context"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// processCPU is the CPU time of the whole process (CLOCK_PROCESS_CPUTIME_ID:
// the garbage collector's workers included).
func processCPU() time.Duration {
	const clockProcessCPUTimeID = 2
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// BenchmarkVerifyRatio is BenchmarkVerify ÷ BenchmarkRawSM2Verify measured
// for a machine shared with other work: the two run in alternating batches
// of 64 in one process and each batch is timed by the process's CPU time,
// so neighbours that take the cores, and their changes during the run,
// weigh on both alike. It reports the ratio (cpu-ratio) and each side's
// CPU time an operation. The garbage collector's work falls in whichever
// batch runs when it does, which slightly favours Verify, the side that
// allocates more.
func BenchmarkVerifyRatio(b *testing.B) {
	v, w, text := benchCode(b)
	pub, msg, sig := rawSM2Input(b, w, text)
	ctx := context.Background()
	const batch = 64
	var tv, tr time.Duration
	n := 0
	for b.Loop() {
		t0 := processCPU()
		for range batch {
			if res := v.Verify(ctx, text, w.At); res.Verdict != verify.Valid {
				b.Fatal(res.Verdict)
			}
		}
		t1 := processCPU()
		for range batch {
			if !rawSM2Verify(pub, msg, sig) {
				b.Fatal("signature does not verify")
			}
		}
		tv, tr = tv+t1-t0, tr+processCPU()-t1
		n += batch
	}
	if tr > 0 {
		b.ReportMetric(float64(tv)/float64(tr), "cpu-ratio")
		b.ReportMetric(float64(tv.Microseconds())/float64(n), "verify-cpu-µs")
		b.ReportMetric(float64(tr.Microseconds())/float64(n), "raw-cpu-µs")
	}
}
