// Package terminal assembles the GUI terminal's domain side for
// app/roadcheck: it opens the terminal database (trust store and check
// records), builds the demo world into a temporary database in demo mode,
// and runs the sync with the hub (SyncService). It has no fyne code and does
// not import package ui, whose interfaces its types satisfy
// (*trust.Store: ui.TrustInfo, *records.Store: ui.RecordStore,
// *SyncService: ui.Sync and ui.Hub).
package terminal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

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
	Dir     string
	DB      *storage.DB
	Trust   *trust.Store
	Records *records.Store
	Sync    *SyncService
	// Samples are the demo world's codes (demo mode only).
	Samples []demo.Sample
	// Demo is the demo world (demo mode only).
	Demo *demo.World

	tmp string
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
	t := &Terminal{Dir: o.Dir}
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
	if t.Records, err = records.Open(ctx, t.DB, records.KeyFile(records.KeyFilePath(path)), records.Options{Clock: clk}); err != nil {
		return nil, err
	}
	if o.Demo {
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
	return t, nil
}

// Close stops the sync, closes the database and, in demo mode, removes the
// temporary directory. It is safe to call more than once.
func (t *Terminal) Close() error {
	var errs []error
	if t.Sync != nil {
		t.Sync.Stop()
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
