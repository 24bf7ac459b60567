// Package cmdline holds the command-line conventions RoadCheck's three
// programs (rcctl, rchub and the roadcheck GUI) share: which arguments ask
// for help, and which known command is nearest to a mistyped one (by edit
// distance), so that every program answers a typo the same way:
//
//	rcctl: unknown command "record lst": did you mean "rcctl record list"?
//
// The programs themselves decide the rest of the contract, which is the
// same in all three: --help, -h and `help CMD` print that command's usage
// on standard output and exit 0; a usage error goes to standard error with
// the program's usage-error exit code. Pure functions, safe for concurrent
// use.
package cmdline
