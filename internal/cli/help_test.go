package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
)

// rcctl runs Main with nothing on standard input and no environment.
func rcctl(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Clock: clock.NewFake(demo.ReferenceTime),
		Getenv: func(string) string { return "" }, PINIterations: testIterations}
	code := Main(context.Background(), env, args)
	return result{code, out.String(), errb.String()}
}

// TestHelpEverywhere walks rcctl's command table: --help, -h and `help
// CMD` on the program, every command family and every command print usage
// on standard output, nothing on standard error, and exit 0 — touching no
// database.
func TestHelpEverywhere(t *testing.T) {
	db := filepath.Join(t.TempDir(), "terminal.db")
	var cases [][]string
	cases = append(cases, []string{"--help"}, []string{"-h"}, []string{"help"}, []string{"--db", db, "--help"})
	for _, name := range append(commandNames(), sortedKeys(families())...) {
		w := strings.Fields(name)
		cases = append(cases,
			append(append([]string{"--db", db}, w...), "--help"),
			append(append([]string{"--db", db}, w...), "-h"),
			append([]string{"--db", db, "help"}, w...))
	}
	if len(cases) < 4+3*20 {
		t.Fatalf("only %d cases: the command table is smaller than expected", len(cases))
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := rcctl(t, args...)
			if r.code != ExitOK || r.stdout == "" || r.stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "usage: rcctl") {
				t.Errorf("stdout does not start with the usage: %q", r.stdout)
			}
		})
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("--help touched the database: %v", err)
	}
	if _, err := os.Stat(db + ".trust"); !os.IsNotExist(err) {
		t.Errorf("--help touched the trust store: %v", err)
	}
	// A command's usage names its flags; sync's documents its exit codes.
	if r := rcctl(t, "sync", "--help"); !strings.Contains(r.stdout, "-batch N") || !strings.Contains(r.stdout, "2  every record delivered, but the trust pull failed") {
		t.Errorf("sync --help: %q", r.stdout)
	}
}

// TestUnknownCommands: an unknown command or subcommand is named on
// standard error with the nearest known one, and exits with the usage
// error code; a family without a subcommand lists its subcommands there.
func TestUnknownCommands(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"verfy", "RTC1:X"}, `unknown command "verfy": did you mean "rcctl verify"?`},
		{[]string{"snyc"}, `did you mean "rcctl sync"?`},
		{[]string{"record", "lst"}, `unknown command "record lst": did you mean "rcctl record list"?`},
		{[]string{"recrod", "add"}, `did you mean "rcctl record add"?`},
		{[]string{"trust", "anchr", "add", "a.pem"}, `did you mean "rcctl trust anchor add"?`},
		{[]string{"trust", "stats"}, `did you mean "rcctl trust status"?`},
		{[]string{"officer", "reset"}, `did you mean "rcctl officer reset-pin"?`},
		{[]string{"help", "verfy"}, `did you mean "rcctl verify"?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" (rcctl --help`},
		{[]string{"record"}, "record: give a subcommand"},
		{[]string{"trust", "anchor"}, "usage: rcctl [--db PATH] trust anchor SUBCOMMAND"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"sync", "--bogus"}, "usage: rcctl [--db PATH] sync"},
		{nil, "usage: rcctl"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := rcctl(t, tt.args...)
			if r.code != ExitError || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", r.code, r.stdout, r.stderr, ExitError, tt.want)
			}
		})
	}
}
