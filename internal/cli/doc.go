// Package cli owns the rcctl command line: argument parsing, output formats
// and exit codes. Each command lives in its own file as a function of the form
//
//	func cmdX(ctx context.Context, env *Env, args []string) int
//
// and is registered in the commands table in cli.go. Commands only wire domain
// packages together; the logic lives in those packages.
package cli
