// Package hubcmd is the rchub command line: serve, token create|list|revoke,
// device list|revoke, trust anchors, trust publish. app/rchub only calls
// Main.
//
// Every command but serve opens the hub database itself, and bbolt lets one
// process at a time write it: while `rchub serve` runs on a database the
// other commands report it locked. Stop the hub, run them, start it again
// (terminals retry meanwhile).
package hubcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/gm"
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
        create an enrolment token (one-time, 24 h) or a supervisor bearer token;
        prints the token, and its id on standard error
  token list --db PATH [--json]
        list tokens by id (never the tokens themselves) with role, label and state
  token revoke --db PATH ID|TOKEN
        revoke a token: it enrols nothing more, or no longer queries records
  device list --db PATH [--json]
        list enrolled devices with their chain heads and revocation
  device revoke --db PATH DEVICE-ID
        revoke a lost or stolen terminal: it can no longer push, pull or enrol
        again under its id (its records stay)
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
	case len(args) >= 2 && args[0] == "token" && args[1] == "list":
		return tokenList.main(ctx, env, args[2:])
	case len(args) >= 2 && args[0] == "token" && args[1] == "revoke":
		return tokenRevoke.main(ctx, env, args[2:])
	case len(args) >= 2 && args[0] == "device" && args[1] == "list":
		return deviceList.main(ctx, env, args[2:])
	case len(args) >= 2 && args[0] == "device" && args[1] == "revoke":
		return deviceRevoke.main(ctx, env, args[2:])
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
	if errors.Is(err, storage.ErrLocked) {
		return nil, fmt.Errorf("%w (is `rchub serve` running on it? stop it, run this command, start it again)", err)
	}
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

// withDB opens the hub database at dbPath, runs fn on it and closes it:
// what every command but serve does once its flags are read. A database
// that cannot be opened is reported (exit 3) without calling fn.
func withDB(ctx context.Context, env *Env, dbPath string, fn func(o *opened) int) int {
	o, err := open(ctx, dbPath)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer o.db.Close()
	defer o.trust.Close() // first: waits for a background merge
	return fn(o)
}

// dbCmd is a command whose flags are --db (and --json) around a fixed
// number of positional arguments: main parses them, checks the count
// (printing argsErr when it differs), opens the database and calls run.
type dbCmd struct {
	name    string // "token list"
	json    bool   // --json is accepted
	nargs   int    // positional arguments
	argsErr string // the message for another number of arguments
	run     func(ctx context.Context, env *Env, c *dbCall) int
}

// dbCall is what a dbCmd's run gets: the opened database, its path, the
// positional arguments and --json.
type dbCall struct {
	*opened
	path string
	args []string
	json bool
}

func (d dbCmd) main(ctx context.Context, env *Env, args []string) int {
	c := &dbCall{}
	asJSON := &c.json
	if !d.json {
		asJSON = nil
	}
	dbPath, pos, ok := dbFlags(env, d.name, args, asJSON)
	if !ok {
		return ExitError
	}
	if len(pos) != d.nargs {
		return failf(env, "%s", d.argsErr)
	}
	c.path, c.args = dbPath, pos
	return withDB(ctx, env, dbPath, func(o *opened) int {
		c.opened = o
		return d.run(ctx, env, c)
	})
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
	return withDB(ctx, env, *dbPath, func(o *opened) int {
		tok, err := hub.CreateToken(ctx, o.store, hub.Role(*role), *label, *ttl, env.Clock.Now())
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintln(env.Stdout, tok)
		fmt.Fprintf(env.Stderr, "token id %s (rchub token revoke --db %s %s)\n", hub.TokenID(gm.SM3([]byte(tok))), *dbPath, hub.TokenID(gm.SM3([]byte(tok))))
		return ExitOK
	})
}

// tokenJSON is one token in `token list --json`.
type tokenJSON struct {
	ID      string     `json:"id"`
	Role    string     `json:"role"`
	Label   string     `json:"label,omitempty"`
	State   string     `json:"state"` // active, used, expired, revoked
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires,omitempty"`
	UsedBy  string     `json:"used_by,omitempty"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

func ptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func printJSON(env *Env, v any) int {
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return failf(env, "%v", err)
	}
	return ExitOK
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// dbFlags parses a command's flags (--db, and --json when asJSON is not
// nil) around its positional arguments, which it returns.
func dbFlags(env *Env, name string, args []string, asJSON *bool) (string, []string, bool) {
	fs := flag.NewFlagSet("rchub "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	dbPath := fs.String("db", "", "hub database `path`")
	if asJSON != nil {
		fs.BoolVar(asJSON, "json", false, "print JSON")
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", nil, false
		}
		if fs.NArg() == 0 {
			return *dbPath, pos, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

var tokenList = dbCmd{name: "token list", json: true, argsErr: "token list: no arguments expected", run: runTokenList}

func runTokenList(ctx context.Context, env *Env, o *dbCall) int {
	toks, err := o.store.Tokens(ctx)
	if err != nil {
		return failf(env, "%v", err)
	}
	slices.SortFunc(toks, func(a, b hub.Token) int { return a.Created.Compare(b.Created) })
	now := env.Clock.Now()
	out := make([]tokenJSON, 0, len(toks))
	for _, t := range toks {
		out = append(out, tokenJSON{ID: t.ID(), Role: string(t.Role), Label: t.Label, State: t.State(now), Created: t.Created.UTC(),
			Expires: ptr(t.Expires), UsedBy: t.UsedBy, Revoked: ptr(t.Revoked)})
	}
	if o.json {
		return printJSON(env, out)
	}
	for _, t := range out {
		state := t.State
		if t.UsedBy != "" {
			state += " by " + t.UsedBy
		}
		exp := "-"
		if t.Expires != nil {
			exp = stamp(*t.Expires)
		}
		fmt.Fprintf(env.Stdout, "%s\t%-10s\t%-16s\tcreated %s\texpires %s\t%s\n", t.ID, t.Role, state, stamp(t.Created), exp, t.Label)
	}
	return ExitOK
}

var tokenRevoke = dbCmd{name: "token revoke", nargs: 1, argsErr: "token revoke: give one token id (from rchub token list) or the token itself", run: runTokenRevoke}

func runTokenRevoke(ctx context.Context, env *Env, o *dbCall) int {
	t, err := hub.FindToken(ctx, o.store, o.args[0])
	if err != nil {
		return failf(env, "token revoke: %v", err)
	}
	if !t.Revoked.IsZero() {
		fmt.Fprintf(env.Stdout, "token %s (%s %s) was already revoked at %s\n", t.ID(), t.Role, t.Label, stamp(t.Revoked))
		return ExitOK
	}
	if err := o.store.RevokeToken(ctx, t.Hash, env.Clock.Now()); err != nil {
		return failf(env, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "revoked token %s (%s %s)\n", t.ID(), t.Role, t.Label)
	if t.UsedBy != "" {
		fmt.Fprintf(env.Stdout, "note: device %s enrolled with it stays enrolled: rchub device revoke --db %s %s\n", t.UsedBy, o.path, t.UsedBy)
	}
	return ExitOK
}

// deviceJSON is one device in `device list --json`.
type deviceJSON struct {
	ID       string     `json:"id"`
	Label    string     `json:"label,omitempty"`
	Enrolled time.Time  `json:"enrolled"`
	NextSeq  uint64     `json:"next_seq"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
	Revoked  *time.Time `json:"revoked,omitempty"`
}

var deviceList = dbCmd{name: "device list", json: true, argsErr: "device list: no arguments expected", run: runDeviceList}

func runDeviceList(ctx context.Context, env *Env, o *dbCall) int {
	devs, err := o.store.Devices(ctx)
	if err != nil {
		return failf(env, "%v", err)
	}
	out := make([]deviceJSON, 0, len(devs))
	for _, d := range devs {
		out = append(out, deviceJSON{ID: d.ID, Label: d.Label, Enrolled: d.Enrolled.UTC(), NextSeq: d.NextSeq, LastSeen: ptr(d.LastSeen), Revoked: ptr(d.Revoked)})
	}
	if o.json {
		return printJSON(env, out)
	}
	for _, d := range out {
		state := "active"
		if d.Revoked != nil {
			state = "REVOKED " + stamp(*d.Revoked)
		}
		seen := "never"
		if d.LastSeen != nil {
			seen = stamp(*d.LastSeen)
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\tenrolled %s\tchain head #%d\tlast seen %s\t%s\n", d.ID, state, stamp(d.Enrolled), d.NextSeq-1, seen, d.Label)
	}
	return ExitOK
}

var deviceRevoke = dbCmd{name: "device revoke", nargs: 1, argsErr: "device revoke: give one device id (from rchub device list)", run: runDeviceRevoke}

func runDeviceRevoke(ctx context.Context, env *Env, o *dbCall) int {
	d, err := o.store.Device(ctx, o.args[0])
	if err != nil {
		return failf(env, "device revoke: %v", err)
	}
	if !d.Revoked.IsZero() {
		fmt.Fprintf(env.Stdout, "device %s was already revoked at %s\n", d.ID, stamp(d.Revoked))
		return ExitOK
	}
	if err := o.store.RevokeDevice(ctx, d.ID, env.Clock.Now()); err != nil {
		return failf(env, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "revoked device %s (%s): it can no longer push or pull; the records it delivered stay\n", d.ID, d.Label)
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
	return withDB(ctx, env, *dbPath, func(o *opened) int {
		rep, err := o.trust.AddAnchors(ctx, data)
		if rep != nil {
			printReport(env.Stdout, rep)
		}
		if err != nil {
			return failf(env, "%v", err)
		}
		return ExitOK
	})
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
	if rep.Added == 0 {
		fmt.Fprintf(env.Stdout, "nothing new to publish (feed sequence %d)\n", rep.Manifest.Seq)
	} else {
		fmt.Fprintf(env.Stdout, "published %d blocks as feed sequence %d\n", rep.Added, rep.Manifest.Seq)
	}
	if rep.Pruned > 0 {
		fmt.Fprintf(env.Stdout, "deleted %d objects no longer offered (for more than %s)\n", rep.Pruned, hub.ObjectGrace)
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
	return withDB(ctx, env, *dbPath, func(o *opened) int {
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
	})
}

func loadDemo(ctx context.Context, env *Env, o *opened) error {
	// The world for now: its status lists are fresh, and its sequences
	// supersede those of a demo world published earlier on this database.
	w, err := demo.Build(demo.DefaultSeed, env.Clock.Now())
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
	return withDB(ctx, env, *dbPath, func(o *opened) int {
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
	})
}
