package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
)

func init() {
	register(command{name: "sync", synopsis: "[--hub URL] [--retries N] [--batch N] [--officer ID] [--pin-stdin]",
		summary: "audit the record chain, push pending records to the hub, report the chain head, pull trust updates: exit 0 done, 1 records remain or were rejected, 2 records delivered but trust not current, 3 error",
		help:    syncHelp, run: cmdSync})
}

// syncHelp is the long part of sync's --help: the exit codes.
const syncHelp = `
Exit codes (scripts may rely on them):
  0  every record delivered, the chain audit passed, and the trust data is
     current (the pull completed)
  1  records remain pending (the hub could not be reached or was busy, or
     the sync was interrupted; the next sync delivers them), some were
     rejected by the hub, or the chain audit failed or the hub flagged the
     device's chain head
  2  every record delivered, but the trust pull failed or is incomplete
     ("trust data incomplete"; the next sync resumes): revocations not yet
     received are not caught until then
  3  error: bad flags, the database or the officer's key cannot be opened,
     the terminal is not enrolled, the hub refused the request or the
     terminal (revoked, authentication, clock, TLS certificate), a full disk
When more than one applies, 3 comes before 1, and 1 before 2.`

// defaultSyncBatch is the number of records per push of rcctl sync: the
// batch size of BenchmarkSync100k (README, Performance: 100,000 pending
// records to a loopback hub in 15.4 s with batches of 1000), also the
// most the hub takes in one push (wire.MaxBatch).
const defaultSyncBatch = wire.MaxBatch

func cmdSync(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "sync")
	hubURL := fs.String("hub", "", "hub `URL` (default: the one enrolled with)")
	retries := fs.Int("retries", 6, "retries of each request while the hub is unreachable or busy, each announced on stderr (0: fail at once)")
	batch := fs.Int("batch", defaultSyncBatch, fmt.Sprintf("records per push `N` (1–%d); a push whose answer is lost is sent again whole", wire.MaxBatch))
	officer := fs.String("officer", "", "officer id (default $RC_OFFICER): their PIN unlocks the device key that signs the sync")
	pinStdin := fs.Bool("pin-stdin", false, "read the officer's PIN from the first line of standard input")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	if fs.NArg() != 0 || *retries < 0 || *batch < 1 || *batch > wire.MaxBatch {
		fmt.Fprintf(env.Stderr, "rcctl: sync: want no arguments, --retries N ≥ 0 and --batch N in 1–%d\n", wire.MaxBatch)
		commandUsage(env.Stderr, fs)
		return ExitError
	}
	retryMax := *retries
	if retryMax == 0 {
		retryMax = -1 // syncclient: 0 means the default
	}
	// The trust store is files of its own; the records database is opened
	// only for each short step (see syncclient.Config.OpenRecords), so
	// rcctl verify and record add in other processes never wait for this
	// sync, its network or its retry pauses.
	// The officer's PIN unlocks the keyring once; each step then opens the
	// database with it in memory. The sync audits the chain first.
	kr, err := syncKeyring(ctx, env, *officer, *pinStdin)
	if err != nil {
		return failf(env, "sync: %v", err)
	}
	closer, ts, err := openTrust(ctx, env, false)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer closer.Close()
	cfg := syncclient.Config{OpenRecords: stepRecords(env, kr), Trust: ts, Clock: env.Clock, HubURL: *hubURL, RetryMax: retryMax,
		BatchSize: *batch, OnRetry: retryProgress(env.Stderr), PolicyFile: policy.FileFor(env.DBPath)}
	if s, ok := env.Clock.(sleeper); ok {
		cfg.Sleep = s.Sleep
	}
	c, err := syncclient.New(ctx, cfg)
	if err != nil {
		return failf(env, "%v", err)
	}
	rep, err := c.Sync(ctx)
	printAudit(env, rep.Audit)
	if p := rep.Push; p != nil {
		fmt.Fprintf(env.Stdout, "records: %d delivered, %d already at the hub, %d rejected, %d flagged, %d pending\n",
			p.Accepted, p.Duplicate, p.Rejected, p.Flagged, p.Remaining)
		for _, r := range p.Rejections {
			fmt.Fprintf(env.Stdout, "  rejected #%d %s: %s: %s\n", r.Seq, r.ID, r.Reason, r.Detail)
		}
	}
	if h := rep.Head; h != nil {
		printHead(env.Stdout, h)
	}
	if p := rep.Pull; p != nil {
		printPull(env.Stdout, p)
	}
	code := syncExit(rep, err)
	switch {
	case err == nil:
	case code == ExitError:
		return failf(env, "sync: %v", err)
	case errors.Is(err, syncclient.ErrTrustIncomplete):
		fmt.Fprintf(env.Stderr, "rcctl: %v (the next sync resumes; until then revocations not received are not caught)\n", err)
	case code == ExitTrustStale:
		fmt.Fprintf(env.Stderr, "rcctl: sync incomplete: records delivered, trust data not current: %v\n", err)
	default:
		fmt.Fprintf(env.Stderr, "rcctl: sync incomplete: %v\n", err)
	}
	return code
}

// syncExit is the exit code of rcctl sync for what Sync reported (see
// syncHelp). An error that a later sync may well not meet (the hub
// unreachable or busy, the trust data incomplete, another process
// pulling, an interruption) leaves the outcome to what was done: 1 while
// records remain, else 2. Any other error — and any error before the push
// started — is 3.
func syncExit(rep *syncclient.Report, err error) int {
	records := func() bool {
		p := rep.Push
		return p.Remaining > 0 || p.Rejected > 0 || (rep.Audit != nil && !rep.Audit.OK()) || (rep.Head != nil && len(rep.Head.Flags) > 0)
	}
	switch {
	case err == nil && records():
		return ExitPartial
	case err == nil:
		return ExitOK
	case rep.Push == nil || !transient(err):
		return ExitError
	case records():
		return ExitPartial
	}
	return ExitTrustStale
}

// transient reports whether a sync error is one the next sync may well
// not meet.
func transient(err error) bool {
	switch syncclient.KindOf(err) {
	case syncclient.KindUnreachable, syncclient.KindTrustIncomplete, syncclient.KindCanceled:
		return true
	}
	return errors.Is(err, syncclient.ErrPullBusy) || errors.Is(err, syncclient.ErrManifestBackwards)
}

// syncLockWait is how long a sync step waits for the records database
// while another process (a check being recorded) holds it.
const syncLockWait = 30 * time.Second

// stepRecords opens the record store for one step of a sync, waiting up to
// syncLockWait for the database.
func stepRecords(env *Env, kr *keys.Keyring) func(ctx context.Context) (*records.Store, func() error, error) {
	return func(ctx context.Context) (*records.Store, func() error, error) {
		db, err := storage.Open(ctx, env.DBPath, storage.Options{LockTimeout: syncLockWait})
		if err != nil {
			return nil, nil, err
		}
		rs, err := records.Open(ctx, db, records.Unlocked(kr), records.Options{Clock: env.Clock})
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		return rs, db.Close, nil
	}
}

// syncKeyring signs the officer in and returns the unlocked keyring (the
// sync client audits the chain before it pushes).
func syncKeyring(ctx context.Context, env *Env, officer string, pinStdin bool) (*keys.Keyring, error) {
	db, rs, _, err := openRecords(ctx, env, officer, pinStdin)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return rs.Keyring(), nil
}

// printAudit reports the problems the sync's chain audit found.
func printAudit(env *Env, a *records.AuditReport) {
	if a == nil || a.OK() {
		return
	}
	for _, p := range a.Problems {
		fmt.Fprintf(env.Stderr, "rcctl: AUDIT: #%d %s: %s\n", p.Seq, p.Kind, p.Detail)
	}
	fmt.Fprintf(env.Stdout, "AUDIT FAILED: %d problem(s) in %d records: what is intact is delivered; the hub is told\n", len(a.Problems), a.Records)
}

// printHead reports the hub's answer to the chain head.
func printHead(w io.Writer, h *syncclient.HeadReport) {
	switch {
	case h.Unsupported:
		fmt.Fprintf(w, "head: #%d (the hub does not compare heads)\n", h.Seq)
	case len(h.Flags) == 0:
		fmt.Fprintf(w, "head: #%d, consistent with the hub (%d received)\n", h.Seq, h.Received)
	default:
		fmt.Fprintf(w, "head: #%d: the hub FLAGGED this device: %s (it holds %d records)\n", h.Seq, strings.Join(h.Flags, ", "), h.Received)
	}
}

// printPull reports what a trust pull did.
func printPull(w io.Writer, p *syncclient.PullReport) {
	switch {
	case p.NotModified:
		fmt.Fprintf(w, "trust: up to date (feed sequence %d)\n", p.FeedSeq)
	case p.Import != nil:
		fmt.Fprintf(w, "trust: feed sequence %d: %d blocks stored, %d unchanged, %d skipped (%d objects, %d bytes received)\n", p.FeedSeq,
			p.Import.Count(trust.Stored), p.Import.Count(trust.Unchanged), p.Import.Count(trust.Skipped), p.Fetched, p.Bytes)
	default:
		fmt.Fprintf(w, "trust: feed sequence %d: nothing to fetch\n", p.FeedSeq)
	}
	for _, r := range p.Refused {
		when := ""
		if r.Earlier {
			when = " (earlier; not fetched again)"
		}
		fmt.Fprintf(w, "  refused %s %.16s: %s%s\n", r.What, r.Digest, r.Reason, when)
	}
	switch pr := p.Policy; {
	case pr == nil:
	case pr.Applied:
		fmt.Fprintf(w, "policy: applied the hub's check policy %s\n", pr.Policy)
	default:
		when := ""
		if pr.Earlier {
			when = " (earlier; not fetched again)"
		}
		fmt.Fprintf(w, "policy: REFUSED the hub's check policy #%d: %s%s; the policy in force stays\n", pr.Seq, pr.Refused, when)
	}
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
