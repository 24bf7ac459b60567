// Command rchub is the RoadCheck hub: terminals enrol with it, push their
// check records and pull trust updates; supervisors query records.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := hubcmd.Main(ctx, &hubcmd.Env{Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}
