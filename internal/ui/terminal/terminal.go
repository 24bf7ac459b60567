// Package terminal assembles the GUI terminal's domain side for
// app/roadcheck: it opens the terminal database (trust store and check
// records), builds the demo world into a temporary database in demo mode,
// and runs the sync with the hub (SyncService). It has no fyne code and does
// not import package ui, whose interfaces its types satisfy
// (*trust.Store: ui.TrustInfo, *records.Store: ui.RecordStore,
// *SyncService: ui.Sync, ui.Hub and, for the online confirmation of
// verdicts, verify.StatusChecker).
//
// Outside demo mode the record store is locked until an officer signs in:
// the terminal's key vault (Vault: the officer directory in the database,
// bound to the TPM or, without one, to the device file) unseals the
// keyring with the officer's PIN, and OpenRecords opens the store with it
// after auditing the record chain. The vault migrates a terminal whose
// data key is still wrapped by the key file or the PIN slots of an earlier
// version.
package terminal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// Options say which terminal to open.
type Options struct {
	// Dir is the data directory holding terminal.db (and its key file and
	// the officer directory); "" means the user's config dir + "/roadcheck".
	// Ignored in demo mode.
	Dir string
	// Demo builds the demo world for the clock's current time into a fresh
	// database in a temporary directory, removed by Close.
	Demo bool
	// Clock is the injected clock (nil: the real clock).
	Clock clock.Clock
	// NoSync skips fsync (tests only; see storage.Options.NoSync).
	NoSync bool
	// Device names the device root of the key vault (keys.OpenDevice: ""
	// the TPM at keys.DefaultTPMPath when there is one, else the device
	// file; "none"; "unix:PATH" for a software TPM). app/roadcheck passes
	// $RC_TPM. Ignored in demo mode.
	Device string
	// Iterations is the PBKDF2 count of new PINs (0: keys.DefaultIterations;
	// tests use fewer).
	Iterations int
	// Retention is how long delivered records keep their personal fields
	// when no signed check policy is in force (0: records.DefaultRetention);
	// a policy in force (the hub's, or a supervisor's on the device) says
	// instead. Each sign-in purges older ones.
	Retention time.Duration
}

// Terminal is an open terminal database with its services.
type Terminal struct {
	// Dir is the data directory in use (the temporary one in demo mode).
	Dir   string
	DB    *storage.DB
	Trust *trust.Store
	// Records is the record store in demo mode; outside demo mode it is nil
	// (Unlock or OpenRecords opens the store once an officer signed in).
	Records *records.Store
	// Vault is the key vault and officer directory (nil in demo mode).
	Vault *keys.Vault
	Sync  *SyncService
	// Samples are the demo world's codes (demo mode only).
	Samples []demo.Sample
	// Demo is the demo world (demo mode only).
	Demo *demo.World

	tmp       string
	clk       clock.Clock
	path      string // of terminal.db
	dev       keys.Device
	retention time.Duration

	mu        sync.Mutex
	audit     *records.AuditReport // of the last sign-in
	auditErr  error
	auditDone chan struct{} // closed when the last sign-in's audit ended
	auditCtx  context.Context
	stopAudit context.CancelFunc
	audits    sync.WaitGroup

	stopCheck context.CancelFunc // ends the periodic trust check
	checkDone chan struct{}
}

// TrustCheckInterval is how often the terminal checks every trust file
// against its digest in the background (also once at start): a damaged
// status list is then dropped, shown as damaged, and fetched again.
const TrustCheckInterval = 24 * time.Hour

// checkTrust runs Trust.Check at once and then every TrustCheckInterval
// until ctx ends.
func (t *Terminal) checkTrust(ctx context.Context, ts *trust.Store) {
	defer close(t.checkDone)
	tick := time.NewTicker(TrustCheckInterval)
	defer tick.Stop()
	for {
		if bad, err := ts.Check(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("trust check failed", "err", err)
		} else if len(bad) > 0 {
			slog.Warn("damaged status lists dropped; the next sync fetches them again", "lists", len(bad))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// DBFile is the terminal database's file name in the data directory.
const DBFile = "terminal.db"

// DefaultDir is the default data directory: the user's config directory +
// "/roadcheck" (the same database rcctl uses by default).
func DefaultDir() (string, error) {
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	return filepath.Join(cfg, "roadcheck"), nil
}

// Open opens the terminal described by o. In demo mode the demo world's
// anchors and bundle are imported; otherwise the trust store holds whatever
// the administrator imported (rcctl trust …) or the hub sent. The sync
// service is created but not started (see SyncService.Start).
func Open(ctx context.Context, o Options) (_ *Terminal, err error) {
	clk := o.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	t := &Terminal{Dir: o.Dir, clk: clk, retention: o.Retention}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if o.Demo {
		if t.tmp, err = os.MkdirTemp("", "roadcheck-demo-"); err != nil {
			return nil, fmt.Errorf("terminal: %w", err)
		}
		t.Dir = t.tmp
	}
	if t.Dir == "" {
		if t.Dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(t.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	path := filepath.Join(t.Dir, DBFile)
	if t.DB, err = storage.Open(ctx, path, storage.Options{NoSync: o.NoSync}); err != nil {
		return nil, err
	}
	if t.Trust, err = trust.New(ctx, t.DB); err != nil {
		return nil, err
	}
	t.path = path
	if o.Demo {
		// The demo keeps its temporary key file: nobody types a PIN.
		if t.Records, err = records.Open(ctx, t.DB, records.KeyFile(records.KeyFilePath(path)), records.Options{Clock: clk}); err != nil {
			return nil, err
		}
		// The demo world's dates are relative to now, so its status lists
		// are fresh and its codes mean what the world promises.
		if t.Demo, err = demo.Build(demo.DefaultSeed, clk.Now()); err != nil {
			return nil, err
		}
		if _, err = t.Trust.AddAnchors(ctx, t.Demo.AnchorsPEM); err != nil {
			return nil, err
		}
		rep, err := t.Trust.Import(ctx, t.Demo.BundlePEM)
		if err != nil {
			return nil, err
		}
		for _, b := range rep.Blocks {
			if b.Outcome == trust.Skipped {
				return nil, fmt.Errorf("terminal: demo bundle block skipped: %w", b.Err)
			}
		}
		t.Samples = t.Demo.Samples
	} else {
		if t.dev, err = keys.OpenDevice(o.Device, path); err != nil {
			return nil, err
		}
		vo := keys.VaultOptions{Clock: clk, Iterations: o.Iterations, LegacyKeyFile: records.KeyFilePath(path)}
		if t.Vault, err = keys.OpenVault(ctx, t.DB, t.dev, vo); err != nil {
			return nil, err
		}
	}
	t.Sync = NewSyncService(t.Records, t.Trust, clk)
	t.Sync.Config.PolicyFile = policy.FileFor(path) // the hub's check policy comes with the trust data
	var cctx context.Context
	cctx, t.stopCheck = context.WithCancel(context.WithoutCancel(ctx))
	t.checkDone = make(chan struct{})
	go t.checkTrust(cctx, t.Trust)
	return t, nil
}

// Close stops the sync, closes the database and, in demo mode, removes the
// temporary directory. It is safe to call more than once.
func (t *Terminal) Close() error {
	var errs []error
	if t.Sync != nil {
		t.Sync.Stop()
	}
	if t.stopCheck != nil {
		t.stopCheck()
		<-t.checkDone
		t.stopCheck = nil
	}
	t.mu.Lock()
	stop := t.stopAudit
	t.mu.Unlock()
	if stop != nil {
		stop()
		t.audits.Wait() // before the database closes
	}
	if t.Trust != nil {
		errs = append(errs, t.Trust.Close()) // waits for a background merge
		t.Trust = nil
	}
	if t.DB != nil {
		errs = append(errs, t.DB.Close())
		t.DB = nil
	}
	if t.dev != nil {
		errs = append(errs, t.dev.Close())
		t.dev = nil
	}
	if t.tmp != "" {
		errs = append(errs, os.RemoveAll(t.tmp))
		t.tmp = ""
	}
	return errors.Join(errs...)
}

// DeviceID is the terminal's device id, read without unlocking ("" before
// the first sign-in creates the device).
func (t *Terminal) DeviceID(ctx context.Context) (string, error) {
	if t.Records != nil {
		return t.Records.DeviceID(), nil
	}
	d, err := records.PeekDevice(ctx, t.DB)
	return d.ID, err
}

// ErrDemo: demo mode has no key vault (its officers are in memory and its
// database is thrown away at exit).
var ErrDemo = errors.New("terminal: demo mode has no key vault")

// Unlock signs officerID in on the vault with pin (keys.Vault.SignIn: on a
// TPM the TPM counts a wrong PIN) and opens the record store with the
// keyring it unseals (OpenRecords). The vault's errors come back as they
// are: keys.ErrSignIn, *keys.LockedOutError, keys.ErrDeviceLockout,
// keys.ErrDirectory. The GUI signs in through ui.OfficerDirectory and
// calls OpenRecords with the keyring instead.
func (t *Terminal) Unlock(ctx context.Context, officerID, pin string) (*records.Store, *keys.Session, error) {
	if t.Vault == nil {
		return nil, nil, ErrDemo
	}
	s, err := t.Vault.SignIn(ctx, officerID, pin)
	if err != nil {
		return nil, nil, err
	}
	st, err := t.OpenRecords(ctx, s.Keyring())
	if err != nil {
		return nil, nil, err
	}
	return st, s, nil
}

// OpenRecords opens the record store with the keyring a vault session
// unlocked, creating the device at the first sign-in, and starts the
// chain audit of the sign-in in the background (about 0.1 ms a record:
// sign-in does not wait for it); Audit waits for its report. Problems are
// logged; the store is used all the same, so checks go on and the next
// sync tells the hub. After the audit, the personal fields of records the
// hub acknowledged more than Options.Retention ago are erased
// (records.Store.Purge: the chain still verifies) — or, when a signed
// check policy is in force, more than the policy's retention ago.
func (t *Terminal) OpenRecords(ctx context.Context, kr *keys.Keyring) (*records.Store, error) {
	st, err := records.Open(ctx, t.DB, records.Unlocked(kr), records.Options{Clock: t.clk})
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopAudit == nil {
		var actx context.Context
		actx, t.stopAudit = context.WithCancel(context.WithoutCancel(ctx))
		t.auditCtx = actx
	}
	done := make(chan struct{})
	t.audit, t.auditErr, t.auditDone = nil, nil, done
	t.audits.Add(1)
	go func() {
		defer t.audits.Done()
		defer close(done)
		a, err := st.Audit(t.auditCtx)
		if err == nil {
			for _, p := range a.Problems {
				slog.Warn("record chain audit", "seq", p.Seq, "kind", p.Kind, "detail", p.Detail)
			}
			if rep, perr := st.Purge(t.auditCtx, time.Time{}, t.keepRecords(t.auditCtx, st)); perr != nil {
				slog.Warn("purge of delivered records failed", "err", perr)
			} else if rep.Purged > 0 {
				slog.Info("personal fields of delivered records erased", "records", rep.Purged)
			}
		}
		t.mu.Lock()
		if t.auditDone == done {
			t.audit, t.auditErr = a, err
		}
		t.mu.Unlock()
	}()
	return st, nil
}

// keepRecords is how long delivered records keep their personal fields:
// the retention of the signed check policy in force (policy file beside
// the database, verified with st's keys), else Options.Retention (0: the
// default).
func (t *Terminal) keepRecords(ctx context.Context, st *records.Store) time.Duration {
	keys, err := st.PolicyKeys(ctx)
	if err != nil {
		return t.retention
	}
	p, err := policy.Load(ctx, policy.FileFor(t.path), keys)
	if err != nil {
		slog.Warn("check policy refused: the default is in force", "err", err)
	}
	if p.Source == policy.SourceDefault {
		return t.retention
	}
	return p.KeepRecords()
}

// Audit waits for the chain audit of the last sign-in (OpenRecords) and
// returns its report: the GUI shows a damaged chain (records damaged,
// missing or reordered) from it. Before any sign-in it returns nil, nil.
func (t *Terminal) Audit(ctx context.Context) (*records.AuditReport, error) {
	t.mu.Lock()
	done := t.auditDone
	t.mu.Unlock()
	if done == nil {
		return nil, nil
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.auditDone != done {
		return nil, fmt.Errorf("terminal: another sign-in started a new audit")
	}
	return t.audit, t.auditErr
}

// KeyStatus says what protects the terminal's keys, for the status bar
// and the trust summary: with a TPM, Bound and the TPM's description;
// without one, Warning says what remains exposed (keys.NoTPMWarning). In
// demo mode: Kind "demo", nothing bound.
func (t *Terminal) KeyStatus() keys.Status {
	if t.Vault == nil {
		return keys.Status{Kind: "demo", Text: "demo mode: a temporary database whose keys are thrown away at exit"}
	}
	return t.Vault.Status()
}
