// Package cli owns the rcctl command line: argument parsing, output formats
// and exit codes. Each command lives in its own file as a function of the form
//
//	func cmdX(ctx context.Context, env *Env, args []string) int
//
// and is registered in the commands table in cli.go with its synopsis and
// summary. Every command parses its flags through newFlagSet and flagsDone,
// so `--help`, `-h` and `rcctl help CMD` print its usage on standard output
// and exit 0, and a bad flag prints the usage on standard error and exits
// ExitError (see Main for unknown commands). Commands only wire domain
// packages together; the logic lives in those packages.
package cli
