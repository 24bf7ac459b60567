// Package hubcmd is the rchub command line: serve, migrate, retention,
// backup, restore, keys create, token create|list|revoke, device
// list|revoke, trust anchors|publish, policy set|show (the security
// commands: security.go). app/rchub only calls Main.
//
// Every command names its database with --store: a postgres:// URL (the
// PostgreSQL store, for replicas) or the path of a bbolt file (--db PATH
// says the same). On PostgreSQL the commands work directly while hubs
// serve. A bbolt file is held by the one `rchub serve` on it: the other
// commands then run inside that process through its admin socket (PATH +
// ".admin", a Unix socket only the hub's user can open), so tokens are
// issued and revoked without downtime.
//
// `--help` (or -h, or `rchub help CMD`) on any command prints its usage to
// standard output and exits 0; an unknown command suggests the nearest one
// (internal/cmdline) and exits 3.
package hubcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/cmdline"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
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

	// Set when the command runs inside `rchub serve` for an admin client:
	// the served store, and the client's input files by the paths it gave.
	served *opened
	files  map[string][]byte
	argv   []string
}

// command is one rchub command.
type command struct {
	name  string // "token create"
	args  string // synopsis of its flags and arguments
	brief string
	run   func(ctx context.Context, env *Env, args []string) int
	local bool // never forwarded to a serving hub (serve, restore…)
}

var commands []command

func init() {
	commands = []command{
		{name: "serve", args: "--store URL|PATH [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--kek-file FILE | --kek-command CMD] [--keyring FILE] [--keys FILE] [--plain-keys] [--allow-unsealed] [--trust-dir DIR] [--keep DURATION] [--demo]",
			brief: "serve the hub (plain HTTP only on a loopback address; --listen 127.0.0.1:0 picks a free port)", run: serve, local: true},
		{name: "migrate", args: "--store URL", brief: "create or upgrade the PostgreSQL schema (each migration in one transaction)", run: migrate, local: true},
		{name: "retention", args: "--store URL|PATH --keep DURATION", brief: "delete records, flags and counters older than DURATION (e.g. 180d), by whole days", run: retention},
		{name: "backup", args: "--store PATH --out FILE.tar", brief: "a consistent copy of a bbolt hub (database, feed objects, trust store; not the key file), also while it serves", run: backup},
		{name: "restore", args: "--store PATH --from FILE.tar", brief: "restore a bbolt hub from a backup (hub stopped); its feed starts a new generation", run: restore, local: true},
		{name: "keys create", args: "FILE", brief: "create a key file (data and index keys, mode 0600) for hubs on PostgreSQL: every replica uses the same", run: keysCreate, local: true},
		{name: "token create", args: "--store URL|PATH [--role device|supervisor] [--jurisdiction PREFIX|all] [--access viewer|auditor] [--label TEXT] [--ttl DURATION]",
			brief: "create an enrolment token (one-time, 24 h; the device gets its jurisdiction) or an automation token for supervisor queries (scoped, expiring); prints the token, and its id on standard error", run: tokenCreate},
		{name: "token list", args: "--store URL|PATH [--json]", brief: "list tokens by id (never the tokens themselves) with role, label and state", run: tokenList.main},
		{name: "token revoke", args: "--store URL|PATH ID|TOKEN", brief: "revoke a token: it enrols nothing more, or no longer queries records", run: tokenRevoke.main},
		{name: "device list", args: "--store URL|PATH [--json]", brief: "list enrolled devices with their chain heads and revocation", run: deviceList.main},
		{name: "device revoke", args: "--store URL|PATH DEVICE-ID",
			brief: "revoke a lost or stolen terminal: it can no longer push, pull or enrol again under its id (its records stay)", run: deviceRevoke.main},
		{name: "trust anchors", args: "--store URL|PATH FILE.pem", brief: "install trust anchors (an explicit local action)", run: trustAnchors},
		{name: "trust publish", args: "--store URL|PATH (FILE.pem | --demo)", brief: "validate a trust bundle and publish it on the trust feed", run: trustPublish},
	}
}

func usage() string {
	var b strings.Builder
	b.WriteString("usage: rchub COMMAND [FLAGS]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s %s\n        %s\n", c.name, c.args, c.brief)
	}
	b.WriteString(`
--store takes a postgres:// URL (several hubs on one database) or the path of
a bbolt file (--db PATH is the same). Every command takes --help; rchub help
COMMAND says the same.
`)
	return b.String()
}

func familyUsage(family string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: rchub %s SUBCOMMAND [FLAGS]\n\nsubcommands:\n", family)
	for _, c := range commands {
		if strings.HasPrefix(c.name, family+" ") {
			fmt.Fprintf(&b, "  %s %s\n        %s\n", c.name, c.args, c.brief)
		}
	}
	return b.String()
}

func isHelp(a string) bool { return cmdline.IsHelpFlag(a) || a == "help" }

// commandNames are the names of the commands, in table order.
func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// familyNames are the first words shared by several commands ("token").
func familyNames() []string {
	var fams []string
	for _, c := range commands {
		if f, _, ok := strings.Cut(c.name, " "); ok && !slices.Contains(fams, f) {
			fams = append(fams, f)
		}
	}
	return fams
}

// Main runs rchub with args (without the program name).
func Main(ctx context.Context, env *Env, args []string) int {
	e := *env
	env = &e
	if env.Clock == nil {
		env.Clock = clock.Real{}
	}
	env.argv = args
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage())
		return ExitError
	}
	if isHelp(args[0]) && (len(args) == 1 || args[0] != "help") {
		fmt.Fprint(env.Stdout, usage())
		return ExitOK
	}
	if args[0] == "help" { // rchub help COMMAND: its usage
		return Main(ctx, env, append(slices.Clone(args[1:]), "--help"))
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			if env.served != nil && c.local {
				return failf(env, "%s cannot run through the admin socket: stop the hub first", c.name)
			}
			rest := args[len(words):]
			return auditCommand(ctx, env, c.name, rest, c.run(ctx, env, rest)) // security.go: admin actions in the audit log
		}
	}
	// A family without (or with an unknown) subcommand.
	if slices.Contains(familyNames(), args[0]) {
		if len(args) >= 2 && isHelp(args[1]) {
			fmt.Fprint(env.Stdout, familyUsage(args[0]))
			return ExitOK
		}
		if len(args) >= 2 {
			var sub []string // the nearest of the family's own commands
			for _, n := range commandNames() {
				if strings.HasPrefix(n, args[0]+" ") {
					sub = append(sub, n)
				}
			}
			fmt.Fprintf(env.Stderr, "rchub: unknown command %q%s\n", args[0]+" "+args[1], cmdline.DidYouMean("rchub", args[:2], sub))
		}
		fmt.Fprint(env.Stderr, familyUsage(args[0]))
		return ExitError
	}
	fmt.Fprintf(env.Stderr, "rchub: unknown command %q%s\n\n", args[0],
		cmdline.DidYouMean("rchub", args[:min(2, len(args))], append(commandNames(), familyNames()...)))
	fmt.Fprint(env.Stderr, usage())
	return ExitError
}

func failf(env *Env, format string, args ...any) int {
	fmt.Fprintf(env.Stderr, "rchub: "+format+"\n", args...)
	return ExitError
}

// flags is a command's flag set: --help prints its usage to standard
// output (exit 0), a bad flag the error and the usage to standard error.
type flags struct {
	*flag.FlagSet
	env  *Env
	name string
}

func newFlags(env *Env, name string) *flags {
	fs := flag.NewFlagSet("rchub "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	f := &flags{FlagSet: fs, env: env, name: name}
	fs.Usage = func() {}
	return f
}

func (f *flags) usageText() string {
	var b strings.Builder
	for _, c := range commands {
		if c.name == f.name {
			fmt.Fprintf(&b, "usage: rchub %s %s\n\n%s\n\nflags:\n", c.name, c.args, c.brief)
		}
	}
	out := f.Output()
	f.SetOutput(&b)
	f.PrintDefaults()
	f.SetOutput(out)
	return b.String()
}

// parse parses args, collecting positional arguments wherever they stand.
// done reports that the command should exit with code now (help or error).
func (f *flags) parse(args []string) (pos []string, code int, done bool) {
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(f.env.Stdout, f.usageText())
			return nil, ExitOK, true
		}
		if err != nil {
			fmt.Fprint(f.env.Stderr, f.usageText())
			return nil, ExitError, true
		}
		if f.NArg() == 0 {
			return pos, 0, false
		}
		if isHelp(f.Arg(0)) && f.Arg(0) != "help" {
			fmt.Fprint(f.env.Stdout, f.usageText())
			return nil, ExitOK, true
		}
		pos = append(pos, f.Arg(0))
		args = f.Args()[1:]
	}
}

// storeFlag adds --store and its alias --db.
func (f *flags) storeFlag() *string {
	ref := new(string)
	f.StringVar(ref, "store", "", "the hub's database: a postgres:// URL, or the `path` of a bbolt file")
	f.StringVar(ref, "db", "", "the `path` of a bbolt hub database (same as --store PATH)")
	return ref
}

// readFile reads an input file: from the admin client's files when the
// command runs inside a serving hub.
func (env *Env) readFile(path string) ([]byte, error) {
	if env.served != nil {
		if b, ok := env.files[path]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("open %s: no such file (on the admin client's side)", path)
	}
	return os.ReadFile(path)
}

func tokenCreate(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "token create")
	ref := f.storeFlag()
	role := f.String("role", "device", "token role: device (one-time enrolment) or supervisor (bearer token)")
	label := f.String("label", "", "what the token is for (shown to supervisors)")
	ttl := f.Duration("ttl", 0, "validity (default: 24h for device tokens, 30 days for supervisor tokens, at most a year)")
	jur := f.String("jurisdiction", "", "region-code `prefix` (44, 4403, 440305) or all: what a supervisor token sees; the jurisdiction of the device a device token enrols")
	access := f.String("access", "viewer", "supervisor tokens: viewer or auditor (administrators sign in with an account)")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "token create: no arguments expected")
	}
	return withStore(ctx, env, *ref, func(o *opened) int {
		sc := account.Scope{Jurisdiction: *jur}
		if hub.Role(*role) == hub.RoleSupervisor {
			sc.Role = account.Role(*access)
		}
		var tok string
		acc, err := accountStoreOf(ctx, o)
		switch {
		case err == nil:
			tok, err = hub.CreateScopedToken(ctx, o.store, acc, hub.Role(*role), sc, *label, *ttl, env.Clock.Now()) // scope first, then the token
		case *jur == "" && hub.Role(*role) != hub.RoleSupervisor:
			tok, err = hub.CreateToken(ctx, o.store, hub.Role(*role), *label, *ttl, env.Clock.Now())
		}
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintln(env.Stdout, tok)
		id := hub.TokenID(gm.SM3([]byte(tok)))
		fmt.Fprintf(env.Stderr, "token id %s (rchub token revoke --store %s %s)\n", id, o.ref, id)
		return ExitOK
	})
}

// dbCmd is a command whose flags are --store (and --json) around a fixed
// number of positional arguments.
type dbCmd struct {
	name    string
	json    bool
	nargs   int
	argsErr string
	// flags adds the command's own flags; run reads them with
	// dbCall.flag.
	flags func(f *flags)
	// kek adds the key-encryption key flags (security.go); run opens the
	// hub's keyring with dbCall.keyring.
	kek bool
	run func(ctx context.Context, env *Env, c *dbCall) int
}

type dbCall struct {
	*opened
	args []string
	json bool
	f    *flags
	ref  string
	kek  *kekFlags
}

// flag is the value of the command's flag name (a dbCmd.flags flag).
func (c *dbCall) flag(name string) string { return c.f.Lookup(name).Value.String() }

// keyring opens the hub's keyring with the command's KEK flags (dbCmd.kek).
func (c *dbCall) keyring(ctx context.Context) (*hub.Keyring, error) {
	return c.kek.loadKeyring(ctx, c.ref, false)
}

func (d dbCmd) main(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, d.name)
	ref := f.storeFlag()
	c := &dbCall{f: f}
	if d.json {
		f.BoolVar(&c.json, "json", false, "print JSON")
	}
	if d.flags != nil {
		d.flags(f)
	}
	if d.kek {
		c.kek = addKEKFlags(f)
	}
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) != d.nargs {
		return failf(env, "%s", d.argsErr)
	}
	c.args, c.ref = pos, *ref
	return withStore(ctx, env, *ref, func(o *opened) int {
		c.opened = o
		return d.run(ctx, env, c)
	})
}

type tokenJSON struct {
	ID      string     `json:"id"`
	Role    string     `json:"role"`
	Label   string     `json:"label,omitempty"`
	State   string     `json:"state"`
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
			state += " by " + audit.Escape(t.UsedBy)
		}
		exp := "-"
		if t.Expires != nil {
			exp = stamp(*t.Expires)
		}
		fmt.Fprintf(env.Stdout, "%s\t%-10s\t%-16s\tcreated %s\texpires %s\t%s\n", t.ID, t.Role, state, stamp(t.Created), exp, audit.Escape(t.Label))
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
		fmt.Fprintf(env.Stdout, "note: device %s enrolled with it stays enrolled: rchub device revoke --store %s %s\n", t.UsedBy, o.ref, t.UsedBy)
	}
	return ExitOK
}

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
		fmt.Fprintf(env.Stdout, "%s\t%s\tenrolled %s\tchain head #%d\tlast seen %s\t%s\n", audit.Escape(d.ID), state, stamp(d.Enrolled), d.NextSeq-1, seen, audit.Escape(d.Label))
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
	fmt.Fprintf(env.Stdout, "revoked device %s (%s): it can no longer push or pull; the records it delivered stay\n", audit.Escape(d.ID), audit.Escape(d.Label))
	return ExitOK
}

func trustAnchors(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "trust anchors")
	ref := f.storeFlag()
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return failf(env, "trust anchors: give one PEM file")
	}
	data, err := env.readFile(pos[0])
	if err != nil {
		return failf(env, "%v", err)
	}
	return withTrust(ctx, env, *ref, func(o *opened, ts *trust.Store) int {
		rep, err := ts.AddAnchors(ctx, data)
		if rep != nil {
			printReport(env.Stdout, rep)
		}
		if err != nil {
			return failf(env, "%v", err)
		}
		if as, ok := o.store.(hub.AnchorStore); ok {
			if err := as.PutAnchors(ctx, data, env.Clock.Now()); err != nil {
				return failf(env, "%v", err)
			}
			fmt.Fprintln(env.Stdout, "stored in the database: every hub on it installs them")
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

func publish(ctx context.Context, env *Env, o *opened, ts *trust.Store, bundle []byte, at time.Time) error {
	rep, err := hub.Publish(ctx, o.store, ts, bundle, at)
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
	f := newFlags(env, "trust publish")
	ref := f.storeFlag()
	useDemo := f.Bool("demo", false, "publish the demo world's bundle (installing its anchor)")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	var data []byte
	if !*useDemo {
		if len(pos) != 1 {
			return failf(env, "trust publish: give one bundle PEM file, or --demo")
		}
		var err error
		if data, err = env.readFile(pos[0]); err != nil {
			return failf(env, "%v", err)
		}
	}
	return withTrust(ctx, env, *ref, func(o *opened, ts *trust.Store) int {
		if *useDemo {
			if err := loadDemo(ctx, env, o, ts); err != nil {
				return failf(env, "%v", err)
			}
			return ExitOK
		}
		if err := publish(ctx, env, o, ts, data, env.Clock.Now()); err != nil {
			return failf(env, "%v", err)
		}
		return ExitOK
	})
}

func loadDemo(ctx context.Context, env *Env, o *opened, ts *trust.Store) error {
	// The world for now: its status lists are fresh, and its sequences
	// supersede those of a demo world published earlier on this database.
	w, err := demo.Build(demo.DefaultSeed, env.Clock.Now())
	if err != nil {
		return err
	}
	if _, err := ts.AddAnchors(ctx, w.AnchorsPEM); err != nil {
		return err
	}
	if as, ok := o.store.(hub.AnchorStore); ok {
		if err := as.PutAnchors(ctx, w.AnchorsPEM, env.Clock.Now()); err != nil {
			return err
		}
	}
	return publish(ctx, env, o, ts, w.BundlePEM, env.Clock.Now())
}

func keysCreate(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "keys create")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return failf(env, "keys create: give the key file to create")
	}
	if _, err := os.Stat(pos[0]); err == nil {
		return failf(env, "keys create: %s exists: a hub's keys are never replaced (records sealed with them would be lost)", pos[0])
	}
	if _, err := hub.LoadKeys(pos[0], true); err != nil {
		return failf(env, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "created %s (mode 0600): give it to every hub on the database with --keys, and back it up apart from the database\n", pos[0])
	return ExitOK
}
