package scan

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/scantest"
)

// childEnv names an image file for the child process of TestLoadPeakRSS:
// the test binary then decodes it as `rcctl scan` does, prints "OK text"
// or "ERR error" on stdout and its peak RSS (scantest.PeakRSSLine) on stderr, and
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
		fmt.Fprintln(os.Stderr, scantest.PeakRSSLine())
		os.Exit(0)
	}
	os.Exit(m.Run())
}
