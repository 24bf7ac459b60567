// Package hubcmd is the rchub command line: serve, token create, trust
// anchors, trust publish. app/rchub only calls Main.
package hubcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 3
)

// Env is what a command may touch.
type Env struct {
	Stdout, Stderr io.Writer
	Clock          clock.Clock
}

const usage = `usage: rchub COMMAND [FLAGS]

commands:
  serve --listen ADDR --db PATH [--tls-cert FILE --tls-key FILE] [--demo]
        serve the hub (plain HTTP only on a loopback address)
  token create --db PATH [--role device|supervisor] [--label TEXT] [--ttl DURATION]
        create an enrolment token (one-time, 24 h) or a supervisor bearer token
  trust anchors --db PATH FILE.pem
        install trust anchors (an explicit local action)
  trust publish --db PATH (FILE.pem | --demo)
        validate a trust bundle and publish it on the trust feed
`

// Main runs rchub with args (without the program name).
func Main(ctx context.Context, env *Env, args []string) int {
	if env.Clock == nil {
		env.Clock = clock.Real{}
	}
	switch {
	case len(args) >= 1 && args[0] == "serve":
		return serve(ctx, env, args[1:])
	case len(args) >= 2 && args[0] == "token" && args[1] == "create":
		return tokenCreate(ctx, env, args[2:])
	case len(args) >= 2 && args[0] == "trust" && args[1] == "anchors":
		return trustAnchors(ctx, env, args[2:])
	case len(args) >= 2 && args[0] == "trust" && args[1] == "publish":
		return trustPublish(ctx, env, args[2:])
	case len(args) >= 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help"):
		fmt.Fprint(env.Stdout, usage)
		return ExitOK
	}
	fmt.Fprint(env.Stderr, usage)
	return ExitError
}

func failf(env *Env, format string, args ...any) int {
	fmt.Fprintf(env.Stderr, "rchub: "+format+"\n", args...)
	return ExitError
}

// opened is a hub database with everything opened on it.
type opened struct {
	db    *storage.DB
	store *hub.BoltStore
	trust *trust.Store
}

func open(ctx context.Context, path string) (*opened, error) {
	if path == "" {
		return nil, fmt.Errorf("--db PATH is required")
	}
	db, err := storage.Open(ctx, path, storage.Options{})
	if err != nil {
		return nil, err
	}
	st, err := hub.NewBoltStore(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	ts, err := trust.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &opened{db: db, store: st, trust: ts}, nil
}

func tokenCreate(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("rchub token create", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dbPath := fs.String("db", "", "hub database `path`")
	role := fs.String("role", "device", "token role: device (one-time enrolment) or supervisor (bearer token)")
	label := fs.String("label", "", "what the token is for (shown to supervisors)")
	ttl := fs.Duration("ttl", 0, "validity (default: 24h for device tokens, unlimited for supervisor tokens)")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	o, err := open(ctx, *dbPath)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer o.db.Close()
	tok, err := hub.CreateToken(ctx, o.store, hub.Role(*role), *label, *ttl, env.Clock.Now())
	if err != nil {
		return failf(env, "%v", err)
	}
	fmt.Fprintln(env.Stdout, tok)
	return ExitOK
}

func trustAnchors(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("rchub trust anchors", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dbPath := fs.String("db", "", "hub database `path`")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	if fs.NArg() != 1 {
		return failf(env, "trust anchors: give one PEM file")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return failf(env, "%v", err)
	}
	o, err := open(ctx, *dbPath)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer o.db.Close()
	rep, err := o.trust.AddAnchors(ctx, data)
	if rep != nil {
		printReport(env.Stdout, rep)
	}
	if err != nil {
		return failf(env, "%v", err)
	}
	return ExitOK
}

func printReport(w io.Writer, rep *trust.Report) {
	for _, b := range rep.Blocks {
		line := fmt.Sprintf("  block %d %-16s %-9s %s", b.Block.Index, b.Block.Type, b.Outcome, b.Label)
		if b.Err != nil {
			line += ": " + b.Err.Error()
		}
		fmt.Fprintln(w, line)
	}
}

func publish(ctx context.Context, env *Env, o *opened, bundle []byte, at time.Time) error {
	rep, err := hub.Publish(ctx, o.store, o.trust, bundle, at)
	if rep != nil && rep.Import != nil {
		printReport(env.Stdout, rep.Import)
	}
	if err != nil {
		return err
	}
	if rep.Entry.Blocks == 0 {
		fmt.Fprintf(env.Stdout, "nothing new to publish (feed sequence %d)\n", rep.Entry.Seq)
	} else {
		fmt.Fprintf(env.Stdout, "published %d blocks as feed sequence %d\n", rep.Entry.Blocks, rep.Entry.Seq)
	}
	return nil
}

func trustPublish(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("rchub trust publish", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dbPath := fs.String("db", "", "hub database `path`")
	useDemo := fs.Bool("demo", false, "publish the demo world's bundle (installing its anchor)")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	o, err := open(ctx, *dbPath)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer o.db.Close()
	if *useDemo {
		if err := loadDemo(ctx, env, o); err != nil {
			return failf(env, "%v", err)
		}
		return ExitOK
	}
	if fs.NArg() != 1 {
		return failf(env, "trust publish: give one bundle PEM file, or --demo")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return failf(env, "%v", err)
	}
	if err := publish(ctx, env, o, data, env.Clock.Now()); err != nil {
		return failf(env, "%v", err)
	}
	return ExitOK
}

func loadDemo(ctx context.Context, env *Env, o *opened) error {
	w, err := demo.Build(demo.DefaultSeed, time.Time{})
	if err != nil {
		return err
	}
	if _, err := o.trust.AddAnchors(ctx, w.AnchorsPEM); err != nil {
		return err
	}
	return publish(ctx, env, o, w.BundlePEM, env.Clock.Now())
}

func serve(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("rchub serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	listen := fs.String("listen", "127.0.0.1:8443", "listen `address` host:port")
	dbPath := fs.String("db", "", "hub database `path` (its keys are in PATH.key)")
	cert := fs.String("tls-cert", "", "TLS certificate chain `file` (PEM)")
	key := fs.String("tls-key", "", "TLS private key `file` (PEM)")
	useDemo := fs.Bool("demo", false, "load the demo world's trust data and print an enrolment token")
	if err := fs.Parse(args); err != nil {
		return ExitError
	}
	if *cert == "" && !hub.IsLoopback(*listen) {
		return failf(env, "%v (address %q)", hub.ErrPlainHTTP, *listen)
	}
	o, err := open(ctx, *dbPath)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer o.db.Close()
	keys, err := hub.LoadKeys(hub.KeyFilePath(*dbPath), true)
	if err != nil {
		return failf(env, "%v", err)
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, nil))
	srv, err := hub.New(hub.Config{Store: o.store, Trust: o.trust, Keys: keys, Clock: env.Clock, Log: log})
	if err != nil {
		return failf(env, "%v", err)
	}
	if *useDemo {
		if err := loadDemo(ctx, env, o); err != nil {
			return failf(env, "demo: %v", err)
		}
		tok, err := hub.CreateToken(ctx, o.store, hub.RoleDevice, "demo", 0, env.Clock.Now())
		if err != nil {
			return failf(env, "%v", err)
		}
		sup, err := hub.CreateToken(ctx, o.store, hub.RoleSupervisor, "demo", 0, env.Clock.Now())
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "enrolment token (one-time, 24 h): %s\nsupervisor token: %s\n", tok, sup)
	}
	scheme := "http"
	if *cert != "" {
		scheme = "https"
	}
	err = hub.Serve(ctx, hub.ServeOptions{Addr: *listen, TLSCert: *cert, TLSKey: *key, Ready: func(a net.Addr) {
		fmt.Fprintf(env.Stdout, "rchub listening on %s://%s\n", scheme, a)
	}}, srv)
	if err != nil && !errors.Is(err, context.Canceled) {
		return failf(env, "%v", err)
	}
	return ExitOK
}
