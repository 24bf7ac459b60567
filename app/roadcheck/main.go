// Command roadcheck is the RoadCheck GUI terminal: it opens the terminal's
// stores, builds the domain services and hands them to package ui. Wiring
// only: the command line (flags, usage, exit codes) is package
// internal/ui/startup; `roadcheck --help` prints it.
//
// Outside demo mode the check records are locked until an officer signs in:
// the officer's PIN and the device root — the TPM named by $RC_TPM (default
// /dev/tpmrm0 when present), else the device file — unlock the device data
// key (the terminal's key vault). An officers.json of an earlier version is
// imported into the vault once. SIGTERM and SIGINT close the window and
// exit 0.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/ui"
	"github.com/roadcheck/roadcheck/internal/ui/startup"
	"github.com/roadcheck/roadcheck/internal/ui/terminal"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// AppID is the application ID (FyneApp.toml, preferences, Android package).
const AppID = "cn.roadcheck.terminal"

func main() {
	var clk clock.Clock = clock.Real{}
	start := clk.Now().Add(-ui.ProcessAge())
	o, code, done := startup.Parse(os.Args[1:], os.Stdout, os.Stderr)
	if done {
		os.Exit(code)
	}
	if err := run(clk, start, o); err != nil {
		fmt.Fprintln(os.Stderr, "roadcheck:", err)
		os.Exit(startup.ExitError)
	}
}

func run(clk clock.Clock, start time.Time, o startup.Options) error {
	ctx := context.Background()
	if o.AddOfficer != "" {
		dir, err := dataDir(o.Dir)
		if err != nil {
			return err
		}
		return addOfficer(ctx, clk, dir, o, os.Stdin)
	}
	t, err := terminal.Open(ctx, terminal.Options{Dir: o.Dir, Demo: o.Demo, Clock: clk, Device: os.Getenv(keys.DeviceEnv)})
	if err != nil {
		return err
	}
	defer t.Close()
	deps := ui.Deps{
		Clock:       clk,
		Verifier:    func(p verify.Policy) ui.Verifier { return verify.New(t.Trust, clk, p) },
		Decoder:     scan.NewDecoder(scan.Options{Clock: clk}),
		FileDecoder: scan.NewDecoder(scan.Options{Budget: scan.FileBudget, Clock: clk}),
		Wedge:       scan.NewWedge(scan.WedgeOptions{}),
		Camera:      ui.NewScanCameras(clk),
		Records:     t.Records,
		Sync:        t.Sync,
		Hub:         t.Sync,
		HubRecords:  t.Sync,
		Online:      t.Sync,
		Trust:       t.Trust,
		Demo:        o.Demo,
		// The signed check policy and the scan events live beside the
		// database, named from it.
		PolicyFile: policy.FileFor(filepath.Join(t.Dir, terminal.DBFile)),
		Alerter:    alerter(),
	}
	// The status bar and the trust summary say what protects the keys.
	deps.Keys = t
	if deps.ScanEvents, err = ui.OpenScanEventLog(ui.ScanEventsFile(filepath.Join(t.Dir, terminal.DBFile))); err != nil {
		return err
	}
	if deps.Device, err = t.DeviceID(ctx); err != nil {
		return err
	}
	if o.Demo {
		for _, s := range t.Samples {
			deps.Samples = append(deps.Samples, ui.Sample{Name: s.Description, Key: s.Name, Text: s.Text})
		}
		deps.Officers = ui.NewStaticOfficers(ui.DemoAccounts()...).WithClock(clk)
		inspector := ui.DemoAccounts()[0].Officer
		deps.SignedIn = &inspector
	} else {
		dirx := officerDirectory(ctx, t, clk)
		deps.Officers = dirx
		deps.OpenRecords = recordsOpener(t, dirx)
		deps.OfficerKeys = ui.SealedSlots{}
		if ks := t.KeyStatus(); ks.Warning != "" {
			log.Printf("roadcheck: WARNING: %s", ks.Warning)
		}
	}
	if o.Measure {
		deps.Measure = &ui.Measure{Start: start, Out: os.Stdout}
	}
	if err := t.Sync.Start(ctx); err != nil {
		log.Printf("roadcheck: sync: %v", err)
	}

	fa := app.NewWithID(AppID)
	declareFyneDo(fa)
	gui, err := ui.New(fa, deps)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sig
		log.Printf("roadcheck: %v: closing", s)
		fyne.Do(gui.Quit)
	}()
	gui.Run()
	return nil
}

// declareFyneDo tells fyne that every background result reaches the GUI
// through fyne.Do (package ui's rule). fyne then skips its thread checks,
// which look up the calling goroutine's ID from a stack trace on every
// canvas refresh, a fifth of the GUI's CPU time while verdicts are shown.
// Packages built by `fyne package` from a FyneApp.toml with
// [Migrations] fyneDo = true get the migrated_fynedo tag instead; this
// covers go build and go run. It keeps the rest of the metadata and must
// run before the first window is created.
func declareFyneDo(fa fyne.App) {
	m := fa.Metadata()
	mig := make(map[string]bool, len(m.Migrations)+1)
	for k, v := range m.Migrations {
		mig[k] = v
	}
	mig["fyneDo"] = true
	m.Migrations = mig
	app.SetMetadata(m)
}

// alerter is the verdict sound, or nil (silent) without a sound player.
func alerter() ui.Alerter {
	if a := ui.NewToneAlerter(); a != nil {
		return a
	}
	return nil
}

// dataDir is dir, or the default data directory.
func dataDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return terminal.DefaultDir()
}

// officerDirectory is the officer directory of t's key vault, with the
// officers.json of an earlier version imported once.
func officerDirectory(ctx context.Context, t *terminal.Terminal, clk clock.Clock) *ui.OfficerDirectory {
	dirx := ui.NewOfficerDirectory(t.Vault, clk)
	n, skipped, err := dirx.ImportOfficersFile(ctx, filepath.Join(t.Dir, ui.OfficersFile))
	if err != nil {
		log.Printf("roadcheck: officers: %v", err)
	}
	if n > 0 {
		log.Printf("roadcheck: %d officers imported from %s: each moves to a sealed key slot at their first sign-in", n, ui.OfficersFile)
	}
	for _, sk := range skipped {
		log.Printf("roadcheck: officer %q not imported: %s (a supervisor adds them again)", sk.ID, sk.Reason)
	}
	return dirx
}

// recordsOpener opens the record store with the keyring of the officer who
// just signed in on the directory and hands it to the sync service;
// closing it (lock, sign-out) stops the sync, forgets the store and ends
// the officer's session.
func recordsOpener(t *terminal.Terminal, dirx *ui.OfficerDirectory) ui.OpenRecords {
	return func(ctx context.Context, officerID, pin string) (ui.RecordStore, error) {
		s, ok := dirx.Session(officerID)
		if !ok {
			return nil, fmt.Errorf("roadcheck: %s has not signed in", officerID)
		}
		st, err := t.OpenRecords(ctx, s.Keyring())
		if err != nil {
			return nil, err
		}
		if err := t.Sync.SetRecords(st); err != nil {
			log.Printf("roadcheck: sync: %v", err)
		}
		return unlockedRecords{Store: st, sync: t.Sync, end: func() { dirx.EndSession(s) }}, nil
	}
}

// unlockedRecords is the record store of a signed-in officer.
type unlockedRecords struct {
	*records.Store
	sync *terminal.SyncService
	end  func()
}

// Close stops the sync with the store and ends the officer's session; the
// GUI then forgets the store.
func (u unlockedRecords) Close() error {
	u.end()
	return u.sync.SetRecords(nil)
}

// addOfficer is --add-officer: on a terminal with officers a supervisor's ID
// and PIN (the first two lines of in) sign in on the key vault, which then
// wraps the device data key for the new officer's PIN.
func addOfficer(ctx context.Context, clk clock.Clock, dir string, o startup.Options, in io.Reader) error {
	t, err := terminal.Open(ctx, terminal.Options{Dir: dir, Clock: clk, Device: os.Getenv(keys.DeviceEnv)})
	if err != nil {
		return err
	}
	defer t.Close()
	dirx := officerDirectory(ctx, t, clk)
	if n, _ := dirx.Count(ctx); n > 0 {
		fmt.Fprintln(os.Stderr, "Supervisor ID, then the supervisor's PIN:")
	}
	fmt.Fprintf(os.Stderr, "PIN for %s (6–12 digits), then again:\n", o.AddOfficer)
	return ui.AddOfficerFromInput(ctx, dirx, o.AddOfficer, o.Name, o.Role, in, nil)
}
