package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/cmdline"
)

// Exit codes shared by every command. Commands with a three-way outcome
// (verify: VALID/LIMITED/INVALID; sync: see ExitTrustStale) use 0, 1 and 2
// for it; ExitError is always 3, and is also the usage-error code (bad
// flags, unknown command).
const (
	ExitOK      = 0
	ExitPartial = 1 // some items failed, the rest succeeded
	ExitInvalid = 2 // verify: verdict INVALID
	// ExitTrustStale is sync's 2: every record was delivered, but the
	// trust pull failed or was incomplete.
	ExitTrustStale = 2
	ExitError      = 3 // bad flags, unknown command, unreadable input, locked or damaged database
)

// Env is what a command may touch of the outside world. Tests build one with
// buffers and a fake clock; app/rcctl builds one from the process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Clock  clock.Clock
	// DBPath is the terminal database, set by the global --db flag.
	DBPath string
	// Getenv reads environment variables (os.Getenv in production).
	Getenv func(string) string
	// PINIterations is the PBKDF2 count of PINs set by this run (0:
	// keys.DefaultIterations). Tests lower it for speed; the vault's floor
	// follows (keys.VaultOptions.Iterations).
	PINIterations int
}

// command is one rcctl command: its name (words separated by one space:
// "trust anchor add"), usage and implementation.
type command struct {
	name string
	// synopsis is what follows the name in the usage line; alternative
	// forms are separated by "\n".
	synopsis string
	summary  string // one line in `rcctl --help`, and the head of the command's --help
	help     string // more text for the command's --help (optional)
	run      func(ctx context.Context, env *Env, args []string) int
}

// commands is the dispatch table, by name.
var commands = map[string]command{}

// register adds a command to the table; called from init functions of the
// files that implement commands.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("cli: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// families are the leading words of multi-word command names ("record",
// "trust", "trust anchor"), which are not commands themselves.
func families() map[string]bool {
	f := map[string]bool{}
	for name := range commands {
		w := strings.Fields(name)
		for n := 1; n < len(w); n++ {
			if p := strings.Join(w[:n], " "); commands[p].run == nil {
				f[p] = true
			}
		}
	}
	return f
}

// commandNames are the names of the commands, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultDBPath is the terminal database used when --db is not given:
// $XDG_CONFIG_HOME/roadcheck/terminal.db (usually ~/.config/roadcheck/terminal.db).
func DefaultDBPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "terminal.db"
	}
	return filepath.Join(dir, "roadcheck", "terminal.db")
}

// Main runs rcctl with args (without the program name) and returns the exit code.
//
// `--help`, `-h` and `help [COMMAND]` print usage on standard output and
// exit 0, for the program, every command family ("rcctl record --help")
// and every command; an unknown command or subcommand is named on
// standard error with the nearest known one and exits ExitError.
func Main(ctx context.Context, env *Env, args []string) int {
	if env.Clock == nil {
		env.Clock = clock.Real{}
	}
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	fs := flag.NewFlagSet("rcctl", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	db := fs.String("db", DefaultDBPath(), "terminal database `path`")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage(env.Stdout, fs)
			return ExitOK
		}
		usage(env.Stderr, fs)
		return ExitError
	}
	env.DBPath = *db
	rest := fs.Args()
	switch {
	case len(rest) == 0:
		usage(env.Stderr, fs)
		return ExitError
	case rest[0] == "help":
		return helpCommand(ctx, env, fs, rest[1:])
	}
	// Longest match first: "trust anchor add" before "trust".
	for n := min(3, len(rest)); n >= 1; n-- {
		if c, ok := commands[strings.Join(rest[:n], " ")]; ok {
			return c.run(ctx, env, rest[n:])
		}
	}
	return unknownCommand(env, rest)
}

// helpCommand is `rcctl help [COMMAND...]`: the usage of the program, of a
// family or of a command on standard output.
func helpCommand(ctx context.Context, env *Env, fs *flag.FlagSet, words []string) int {
	if len(words) == 0 {
		usage(env.Stdout, fs)
		return ExitOK
	}
	name := strings.Join(words, " ")
	if c, ok := commands[name]; ok {
		return c.run(ctx, env, []string{"--help"})
	}
	if families()[name] {
		familyUsage(env.Stdout, name)
		return ExitOK
	}
	return unknownCommand(env, words)
}

// unknownCommand answers words that name no command: a family alone gets
// its subcommands (on standard error: a subcommand is missing), a family
// followed by --help gets them on standard output; anything else is named
// with the nearest command.
func unknownCommand(env *Env, words []string) int {
	fams := families()
	fam := ""
	for n := min(2, len(words)); n >= 1; n-- {
		if p := strings.Join(words[:n], " "); fams[p] {
			fam = p
			break
		}
	}
	nf := len(strings.Fields(fam))
	switch {
	case fam != "" && len(words) > nf && cmdline.IsHelpFlag(words[nf]):
		familyUsage(env.Stdout, fam)
		return ExitOK
	case fam != "" && len(words) == nf:
		fmt.Fprintf(env.Stderr, "rcctl: %s: give a subcommand\n", fam)
		familyUsage(env.Stderr, fam)
		return ExitError
	}
	known := append(commandNames(), sortedKeys(fams)...)
	if fam != "" { // the family is right: the nearest of its own subcommands
		known = known[:0]
		for _, n := range append(commandNames(), sortedKeys(fams)...) {
			if strings.HasPrefix(n, fam+" ") {
				known = append(known, n)
			}
		}
	}
	shown := words[:1] // the rest may be the command's arguments
	if fam != "" {
		shown = words[:nf+1]
	}
	fmt.Fprintf(env.Stderr, "rcctl: unknown command %q%s (rcctl --help lists the commands)\n",
		strings.Join(shown, " "), cmdline.DidYouMean("rcctl", words[:min(3, len(words))], known))
	return ExitError
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: rcctl [--db PATH] COMMAND [ARGS]")
	fmt.Fprintln(w, "       rcctl help COMMAND    (or rcctl COMMAND --help): the command's usage")
	fmt.Fprintln(w, "\nglobal flags:")
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
	fmt.Fprintln(w, "\ncommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
	}
}

// familyUsage lists the commands of a family ("record").
func familyUsage(w io.Writer, fam string) {
	fmt.Fprintf(w, "usage: rcctl [--db PATH] %s SUBCOMMAND [ARGS]\n\nsubcommands:\n", fam)
	for _, n := range commandNames() {
		if strings.HasPrefix(n, fam+" ") {
			fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
		}
	}
	fmt.Fprintf(w, "\nrcctl help %s SUBCOMMAND gives a subcommand's flags.\n", fam)
}

// newFlagSet returns the FlagSet of the command name; parse its arguments
// and hand the error to flagsDone.
func newFlagSet(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("rcctl "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {} // flagsDone prints the usage where it belongs
	return fs
}

// flagsDone completes the parsing of a command's flags (err from fs.Parse
// or parseInterspersed): --help, -h or -help print the command's usage on
// standard output (ExitOK); a bad flag, already named on standard error by
// package flag, adds the usage there (ExitError). done is false when the
// command goes on.
func flagsDone(env *Env, fs *flag.FlagSet, err error) (code int, done bool) {
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		commandUsage(env.Stdout, fs)
		return ExitOK, true
	}
	commandUsage(env.Stderr, fs)
	return ExitError, true
}

// commandUsage writes a command's usage: its synopsis, summary, help text
// and flags.
func commandUsage(w io.Writer, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "rcctl ")
	c := commands[name]
	for i, alt := range strings.Split(c.synopsis, "\n") {
		lead := "usage:"
		if i > 0 {
			lead = "      "
		}
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%s rcctl [--db PATH] %s %s", lead, name, alt), " "))
	}
	fmt.Fprintf(w, "\n%s\n", c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// failf prints "rcctl: ..." to stderr and returns ExitError.
func failf(env *Env, format string, args ...any) int {
	fmt.Fprintf(env.Stderr, "rcctl: "+format+"\n", args...)
	return ExitError
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("verify CODE --json" as well as "verify --json CODE"). A lone
// "-" is a positional argument; "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// noArgs parses the arguments of a command that takes none (but --help).
func noArgs(env *Env, name string, args []string) (code int, done bool) {
	fs := newFlagSet(env, name)
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code, true
	}
	if fs.NArg() != 0 {
		return failf(env, "%s: unexpected argument %q", name, fs.Arg(0)), true
	}
	return 0, false
}
