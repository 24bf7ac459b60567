package scantest

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// PeakRSSLine is "VmHWM: N kB", the process's peak resident set from
// /proc/self/status (empty where there is none): what a child process
// decoding an image prints for ChildPeakRSS. getrusage's ru_maxrss of a
// child cannot serve: Linux counts in it the parent's peak, whose memory
// the child shares until it execs.
func PeakRSSLine() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmHWM:") {
			return sc.Text()
		}
	}
	return ""
}

// ChildPeakRSS reads the PeakRSSLine a child printed on stderr, in bytes;
// the test fails when there is none.
func ChildPeakRSS(t testing.TB, stderr string) int64 {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n << 10
		}
	}
	t.Fatalf("the child printed no peak RSS: %q", stderr)
	return 0
}
