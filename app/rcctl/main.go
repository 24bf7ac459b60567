// Command rcctl is RoadCheck's command line: offline verification, trust
// store administration, the demo world, scanning, records and sync.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/roadcheck/roadcheck/internal/cli"
	"github.com/roadcheck/roadcheck/internal/clock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Clock: clock.Real{}, Getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}
