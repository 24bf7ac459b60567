package scan

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// childEnv names an image file for the child process of TestLoadPeakRSS:
// the test binary then decodes it as `rcctl scan` does, prints "OK text"
// or "ERR error" on stdout and its peak RSS (peakRSSLine) on stderr, and
// exits instead of running tests.
const childEnv = "SCAN_CHILD_DECODE"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		text, err := DecodeFile(context.Background(), path)
		if err != nil {
			fmt.Println("ERR", err)
		} else {
			fmt.Println("OK", text)
		}
		fmt.Fprintln(os.Stderr, peakRSSLine())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// peakRSSLine is "VmHWM: N kB", the process's peak resident set from
// /proc/self/status (empty where there is none). getrusage's ru_maxrss of
// a child cannot serve: Linux counts in it the parent's peak, whose memory
// the child shares until it execs.
func peakRSSLine() string {
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
