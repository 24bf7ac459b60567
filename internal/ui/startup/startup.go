package startup

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/roadcheck/roadcheck/internal/cmdline"
)

// Exit codes of roadcheck.
const (
	ExitOK    = 0
	ExitError = 1 // the terminal could not be opened or run
	ExitUsage = 2 // bad flags or arguments
)

// Options are what the command line asks for.
type Options struct {
	// Demo runs on the demo world (a temporary database), signed in as a
	// demo inspector.
	Demo bool
	// Measure prints the start-up and verdict timings, then exits.
	Measure bool
	// Dir is the directory of the terminal database ("": the default).
	Dir string
	// AddOfficer, Name and Role: add this officer (PINs on standard
	// input) and exit, without a window.
	AddOfficer, Name, Role string
}

const synopsis = `usage: roadcheck [--demo [--measure]] [--data DIR]
       roadcheck [--data DIR] --add-officer ID --name NAME [--role inspector|station|supervisor]
       roadcheck help

The RoadCheck terminal: verify licences from the camera, a scanner, a file
or the clipboard, and record the checks.

  roadcheck --demo    the demo world in a temporary database, signed in as
                      a demo inspector
  roadcheck           the terminal database in --data DIR (default: the
                      user config directory + /roadcheck); a terminal
                      without officers asks for its first supervisor
  --add-officer       adds an officer without opening a window: on a
                      terminal that has officers a supervisor's ID and PIN
                      come first on standard input (they unlock the device
                      keys), then the new PIN (6–12 digits) twice

Outside demo mode the check records stay locked until an officer signs in:
the officer's PIN and the device root — the TPM named by $RC_TPM (default
/dev/tpmrm0 when present), else the device file — unlock them. SIGTERM and
SIGINT close the window and exit 0. Exit codes: 0 closed normally, 1 error,
2 bad flags or arguments.
`

// flagSet is the GUI's flag set, writing into o.
func flagSet(o *Options) *flag.FlagSet {
	fs := flag.NewFlagSet("roadcheck", flag.ContinueOnError)
	fs.BoolVar(&o.Demo, "demo", false, "run on the demo world (a temporary database), signed in as a demo inspector")
	fs.StringVar(&o.Dir, "data", "", "`directory` of the terminal database (default: the user config directory + /roadcheck)")
	fs.BoolVar(&o.Measure, "measure", false, "print the start-up and verdict timings, then exit (with --demo)")
	fs.StringVar(&o.AddOfficer, "add-officer", "", "add the officer with this `ID` (PIN twice on standard input) and exit")
	fs.StringVar(&o.Name, "name", "", "the `name` of the officer --add-officer adds")
	fs.StringVar(&o.Role, "role", "inspector", "the role of the officer --add-officer adds: inspector, station or supervisor")
	fs.Usage = func() {}
	return fs
}

// Usage writes the GUI's usage: synopsis, description and flags.
func Usage(w io.Writer) {
	var o Options
	fs := flagSet(&o)
	fmt.Fprint(w, synopsis)
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// Flags are the names of the GUI's flags.
func Flags() []string {
	var o Options
	var names []string
	flagSet(&o).VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// Parse reads the command line args (without the program name). When done
// is true the program exits with code at once: the usage was printed on
// stdout (--help, -h, help: ExitOK), or a usage error on stderr
// (ExitUsage).
func Parse(args []string, stdout, stderr io.Writer) (o Options, code int, done bool) {
	fs := flagSet(&o)
	var msg strings.Builder
	fs.SetOutput(&msg)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		Usage(stdout)
		return o, ExitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "roadcheck: %v%s\n", err, nearestFlag(err))
		fmt.Fprintln(stderr, "roadcheck --help lists the flags")
		return o, ExitUsage, true
	case fs.NArg() == 1 && fs.Arg(0) == "help":
		Usage(stdout)
		return o, ExitOK, true
	case fs.NArg() > 0:
		typed := fs.Args()[:1]
		if typed[0] == "help" { // help CMD: there are no commands
			typed = fs.Args()[1:2]
		}
		fmt.Fprintf(stderr, "roadcheck: unknown command %q: roadcheck takes flags only%s\n", typed[0],
			cmdline.DidYouMean("roadcheck", typed, dashed(Flags())))
		fmt.Fprintln(stderr, "roadcheck --help lists the flags")
		return o, ExitUsage, true
	}
	return o, ExitOK, false
}

// nearestFlag suggests the flag nearest to an undefined one named in
// package flag's error ("flag provided but not defined: -dmeo").
func nearestFlag(err error) string {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return ""
	}
	name = "--" + strings.TrimLeft(name, "-")
	return cmdline.DidYouMean("roadcheck", []string{name}, dashed(Flags()))
}

func dashed(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "--" + n
	}
	return out
}
