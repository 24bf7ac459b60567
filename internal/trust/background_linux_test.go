package trust

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func threadNice(t *testing.T, tid int) int {
	t.Helper()
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		t.Fatal(err)
	}
	return 20 - raw
}

// TestInBackground: fn runs on a thread whose nice value is raised by
// backgroundNice (at most 19), the caller's thread keeps its own, and the
// lowered thread does not outlive fn (no later work can land on it).
func TestInBackground(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	base := threadNice(t, syscall.Gettid())
	var inside, tid int
	inBackground(func() {
		tid = syscall.Gettid()
		inside = threadNice(t, tid)
	})
	if want := min(base+backgroundNice, 19); inside != want {
		t.Fatalf("nice inside = %d, want %d", inside, want)
	}
	if tid == syscall.Gettid() {
		t.Fatal("fn ran on the caller's thread")
	}
	if got := threadNice(t, syscall.Gettid()); got != base {
		t.Fatalf("caller's nice became %d, was %d", got, base)
	}
	// The runtime ends the thread once its goroutine has exited.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if !threadAlive(tid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d (nice %d) still alive after fn returned", tid, inside)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func threadAlive(tid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc/self/task", strconv.Itoa(tid), "stat"))
	return err == nil && !strings.Contains(string(b), ") Z ")
}
