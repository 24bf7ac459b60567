package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
)

// childArgsEnv holds rcctl arguments, separated by newlines, for a child
// process: the test binary then runs them as app/rcctl does, prints its
// peak RSS on stderr ("VmHWM: N kB" from /proc/self/status) and exits with
// rcctl's code instead of running tests (TestScanBigImagesProcess).
const childArgsEnv = "RCCTL_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Clock: clock.Real{}, Getenv: os.Getenv}
		code := Main(context.Background(), env, strings.Split(args, "\n"))
		if status, err := os.ReadFile("/proc/self/status"); err == nil {
			for _, l := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(l, "VmHWM:") {
					fmt.Fprintln(os.Stderr, l)
				}
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}
