package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/scan/scantest"
)

// childArgsEnv holds rcctl arguments, separated by newlines, for a child
// process: the test binary then runs them as app/rcctl does, prints its
// peak RSS on stderr (scantest.PeakRSSLine) and exits with
// rcctl's code instead of running tests (TestScanBigImagesProcess).
const childArgsEnv = "RCCTL_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Clock: clock.Real{}, Getenv: os.Getenv}
		code := Main(context.Background(), env, strings.Split(args, "\n"))
		fmt.Fprintln(os.Stderr, scantest.PeakRSSLine())
		os.Exit(code)
	}
	os.Exit(m.Run())
}
