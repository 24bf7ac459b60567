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
// Unlock opens it with the officer's PIN slot (records.OfficerPIN), and
// migrates a terminal whose data key is still wrapped by the key file.
package terminal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
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
}

// Terminal is an open terminal database with its services.
type Terminal struct {
	// Dir is the data directory in use (the temporary one in demo mode).
	Dir   string
	DB    *storage.DB
	Trust *trust.Store
	// Records is the record store in demo mode; outside demo mode it is nil
	// (Unlock opens the store with an officer's PIN).
	Records *records.Store
	Sync    *SyncService
	// Samples are the demo world's codes (demo mode only).
	Samples []demo.Sample
	// Demo is the demo world (demo mode only).
	Demo *demo.World

	tmp  string
	clk  clock.Clock
	path string // of terminal.db

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
	t := &Terminal{Dir: o.Dir, clk: clk}
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
	}
	t.Sync = NewSyncService(t.Records, t.Trust, clk)
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
	if t.Trust != nil {
		errs = append(errs, t.Trust.Close()) // waits for a background merge
		t.Trust = nil
	}
	if t.DB != nil {
		errs = append(errs, t.DB.Close())
		t.DB = nil
	}
	if t.tmp != "" {
		errs = append(errs, os.RemoveAll(t.tmp))
		t.tmp = ""
	}
	return errors.Join(errs...)
}

// ErrNoKeySlot is returned by Unlock when the database has a device but no
// slot for the officer (and no key-file slot to migrate from): a supervisor
// must add the officer again (roadcheck --add-officer).
var ErrNoKeySlot = errors.New("terminal: the officer has no key slot on this terminal")

// DeviceID is the terminal's device id, read without unlocking ("" before
// the first sign-in creates the device).
func (t *Terminal) DeviceID(ctx context.Context) (string, error) {
	if t.Records != nil {
		return t.Records.DeviceID(), nil
	}
	d, err := records.PeekDevice(ctx, t.DB)
	return d.ID, err
}

// Unlock opens the record store with officerID's PIN. Call it only after the
// officer directory accepted that PIN: it is the key, and for the migration
// below it is trusted.
//
//   - No device yet (first sign-in): the device is created, its data key
//     wrapped under the officer's PIN slot.
//   - The officer has a slot: the PIN unlocks it (records.ErrWrongKey
//     otherwise).
//   - No slot but the key-file slot (a terminal set up before PIN slots):
//     the key file unlocks the store and the officer's slot is added.
//
// Then, once every officer of officers (the directory's IDs) has a slot,
// the key-file slot is removed and the key file deleted: from then on only
// PINs unlock the personal data.
func (t *Terminal) Unlock(ctx context.Context, officerID, pin string, officers []string) (*records.Store, error) {
	dev, err := records.PeekDevice(ctx, t.DB)
	if err != nil {
		return nil, err
	}
	ks := records.OfficerPIN(officerID, pin)
	opts := records.Options{Clock: t.clk}
	var st *records.Store
	switch {
	case dev.ID == "" || dev.HasSlot(ks.Slot()):
		if st, err = records.Open(ctx, t.DB, ks, opts); err != nil {
			return nil, err
		}
	case dev.HasSlot(keyFileSlot):
		if st, err = records.Open(ctx, t.DB, records.KeyFile(records.KeyFilePath(t.path)), opts); err != nil {
			return nil, err
		}
		if err := st.AddKeySource(ctx, ks); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %s", ErrNoKeySlot, officerID)
	}
	if err := t.retireKeyFile(ctx, st, officers); err != nil {
		return nil, err
	}
	return st, nil
}

// keyFileSlot is the slot name of records.KeyFile sources.
const keyFileSlot = "keyfile"

// retireKeyFile removes the key-file slot and the key file once every
// officer has a slot.
func (t *Terminal) retireKeyFile(ctx context.Context, st *records.Store, officers []string) error {
	slots, err := st.KeySlots(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(slots, keyFileSlot) || len(officers) == 0 {
		return nil
	}
	for _, id := range officers {
		if !slices.Contains(slots, records.OfficerSlotPrefix+id) {
			return nil
		}
	}
	if err := st.RemoveKeySource(ctx, keyFileSlot); err != nil {
		return err
	}
	if err := os.Remove(records.KeyFilePath(t.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("terminal: removing the key file: %w", err)
	}
	return nil
}

// AddOfficerKey gives officerID's PIN a slot on the unlocked store st (a
// supervisor adding an officer).
func AddOfficerKey(ctx context.Context, st *records.Store, officerID, pin string) error {
	return st.AddKeySource(ctx, records.OfficerPIN(officerID, pin))
}
