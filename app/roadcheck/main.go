// Command roadcheck is the RoadCheck GUI terminal: it opens the terminal's
// stores, builds the domain services and hands them to package ui. Wiring
// only.
//
//	roadcheck --demo          run on the built-in demo world (temporary stores)
//	roadcheck --data DIR      run on the terminal database in DIR
//
// SIGTERM and SIGINT close the window and exit 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/ui"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// AppID is the application ID (FyneApp.toml, preferences, Android package).
const AppID = "cn.roadcheck.terminal"

func main() {
	demoMode := flag.Bool("demo", false, "run on the built-in demo world (stores in a temporary directory)")
	dataDir := flag.String("data", "", "directory of the terminal database (default: the user config directory)")
	flag.Parse()
	if err := run(*demoMode, *dataDir); err != nil {
		fmt.Fprintln(os.Stderr, "roadcheck:", err)
		os.Exit(1)
	}
}

func run(demoMode bool, dataDir string) error {
	ctx := context.Background()
	clk := clock.Real{}
	if demoMode {
		tmp, err := os.MkdirTemp("", "roadcheck-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	}
	if dataDir == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return err
		}
		dataDir = filepath.Join(cfg, "roadcheck")
	}
	path := filepath.Join(dataDir, "terminal.db")
	db, err := storage.Open(ctx, path, storage.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	ts, err := trust.New(ctx, db)
	if err != nil {
		return err
	}
	recs, err := records.Open(ctx, db, records.KeyFile(records.KeyFilePath(path)), records.Options{Clock: clk})
	if err != nil {
		return err
	}
	deps := ui.Deps{
		Clock:    clk,
		Verifier: func(p verify.Policy) ui.Verifier { return verify.New(ts, clk, p) },
		Decoder:  scan.NewDecoder(scan.Options{Clock: clk}),
		Records:  recs,
		Device:   recs.DeviceID(),
		Demo:     demoMode,
	}
	if demoMode {
		// The demo world's dates are relative to now, so its codes stay
		// meaningful whatever the date.
		w, err := demo.Build(demo.DefaultSeed, clk.Now())
		if err != nil {
			return err
		}
		if _, err := ts.AddAnchors(ctx, w.AnchorsPEM); err != nil {
			return err
		}
		if _, err := ts.Import(ctx, w.BundlePEM); err != nil {
			return err
		}
		for _, s := range w.Samples {
			deps.Samples = append(deps.Samples, ui.Sample{Name: s.Description, Text: s.Text})
		}
		deps.Officers = ui.NewStaticOfficers(ui.DemoAccounts()...)
	} else {
		// Officer provisioning from the hub does not exist yet.
		return errors.New("no officer directory on this terminal yet: run with --demo")
	}

	fa := app.NewWithID(AppID)
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
