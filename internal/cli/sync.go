package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
)

func init() {
	register("sync", "push pending records to the hub and pull trust updates: exit 0 all delivered, 1 some remain or were rejected, 3 error", cmdSync)
}

func cmdSync(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "sync")
	hubURL := fs.String("hub", "", "hub `URL` (default: the one enrolled with)")
	retries := fs.Int("retries", 6, "retries of each request while the hub is unreachable or busy, each announced on stderr (0: fail at once)")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	if fs.NArg() != 0 || *retries < 0 {
		return failf(env, "usage: rcctl sync [--hub URL] [--retries N]")
	}
	retryMax := *retries
	if retryMax == 0 {
		retryMax = -1 // syncclient: 0 means the default
	}
	db, rs, err := openRecords(ctx, env)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer db.Close()
	ts, err := trust.New(ctx, db)
	if err != nil {
		return failf(env, "%v", err)
	}
	cfg := syncclient.Config{Records: rs, Trust: ts, Clock: env.Clock, HubURL: *hubURL, RetryMax: retryMax,
		OnRetry: retryProgress(env.Stderr)}
	if s, ok := env.Clock.(sleeper); ok {
		cfg.Sleep = s.Sleep
	}
	c, err := syncclient.New(ctx, cfg)
	if err != nil {
		return failf(env, "%v", err)
	}
	rep, err := c.Sync(ctx)
	if p := rep.Push; p != nil {
		fmt.Fprintf(env.Stdout, "records: %d delivered, %d already at the hub, %d rejected, %d flagged, %d pending\n",
			p.Accepted, p.Duplicate, p.Rejected, p.Flagged, p.Remaining)
		for _, r := range p.Rejections {
			fmt.Fprintf(env.Stdout, "  rejected #%d %s: %s: %s\n", r.Seq, r.ID, r.Reason, r.Detail)
		}
	}
	if p := rep.Pull; p != nil {
		switch {
		case p.NotModified:
			fmt.Fprintf(env.Stdout, "trust: up to date (feed sequence %d)\n", p.FeedSeq)
		case p.Import != nil:
			fmt.Fprintf(env.Stdout, "trust: feed sequence %d: %d blocks stored, %d unchanged, %d skipped\n", p.FeedSeq,
				p.Import.Count(trust.Stored), p.Import.Count(trust.Unchanged), p.Import.Count(trust.Skipped))
			for _, b := range p.Import.Blocks {
				if b.Err != nil {
					fmt.Fprintf(env.Stdout, "  skipped block %d %s: %v\n", b.Block.Index, b.Label, b.Err)
				}
			}
		}
	}
	if err != nil {
		if rep.Push != nil && rep.Push.Accepted+rep.Push.Duplicate > 0 {
			fmt.Fprintf(env.Stderr, "rcctl: sync incomplete: %v\n", err)
			return ExitPartial
		}
		return failf(env, "sync: %v", err)
	}
	if rep.Push.Remaining > 0 || rep.Push.Rejected > 0 {
		return ExitPartial
	}
	return ExitOK
}

// sleeper is a clock that can also wait. When env.Clock is one (a test's
// fake clock that advances itself), the retry pauses go through it
// instead of a timer.
type sleeper interface {
	Sleep(ctx context.Context, d time.Duration) error
}

// retryProgress tells the person at the terminal why rcctl waits: one line
// per retry on w, e.g. "rcctl: hub unreachable, retry 2/6 in 1.4s…".
func retryProgress(w io.Writer) func(syncclient.Retry) {
	return func(r syncclient.Retry) {
		why := "hub unreachable"
		if r.Status != 0 {
			why = fmt.Sprintf("hub busy (HTTP %d)", r.Status)
		}
		fmt.Fprintf(w, "rcctl: %s, retry %d/%d in %s…\n", why, r.Attempt, r.Max, roundWait(r.Wait))
	}
}

// roundWait shortens a jittered pause for people: 1.4s, 30s, 250ms.
func roundWait(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
