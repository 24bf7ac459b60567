package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/roadcheck/roadcheck/internal/clock"
)

// Exit codes shared by every command. Commands with a three-way outcome
// (verify: VALID/LIMITED/INVALID) use 0, 1 and 2 for it; ExitError is always 3.
const (
	ExitOK      = 0
	ExitPartial = 1 // some items failed, the rest succeeded
	ExitInvalid = 2 // verify: verdict INVALID
	ExitError   = 3 // bad flags, unreadable input, locked or damaged database
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

type command struct {
	run     func(ctx context.Context, env *Env, args []string) int
	summary string
}

// commands is the dispatch table. Keys may contain a space for two-word
// commands ("trust import").
var commands = map[string]command{}

// register adds a command to the table; called from init functions of the
// files that implement commands.
func register(name, summary string, run func(ctx context.Context, env *Env, args []string) int) {
	if _, dup := commands[name]; dup {
		panic("cli: command registered twice: " + name)
	}
	commands[name] = command{run: run, summary: summary}
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
	fs.Usage = func() { usage(env.Stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return ExitOK
		}
		return ExitError
	}
	env.DBPath = *db
	rest := fs.Args()
	if len(rest) == 0 {
		usage(env.Stderr, fs)
		return ExitError
	}
	// Longest match first: "trust anchor add" before "trust".
	for n := min(3, len(rest)); n >= 1; n-- {
		name := strings.Join(rest[:n], " ")
		if c, ok := commands[name]; ok {
			return c.run(ctx, env, rest[n:])
		}
	}
	fmt.Fprintf(env.Stderr, "rcctl: unknown command %q\n", strings.Join(rest, " "))
	usage(env.Stderr, fs)
	return ExitError
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: rcctl [--db PATH] COMMAND [ARGS]")
	fmt.Fprintln(w, "\nglobal flags:")
	fs.PrintDefaults()
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
	}
}

// newFlagSet returns a FlagSet for a subcommand that reports errors on env.Stderr.
func newFlagSet(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("rcctl "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
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
