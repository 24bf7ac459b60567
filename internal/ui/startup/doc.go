// Package startup is the roadcheck GUI's command line: its flags, its
// usage text and its exit codes. app/roadcheck parses os.Args with Parse
// and wires what the Options say; this package opens nothing.
//
// The contract is rcctl's and rchub's (internal/cmdline): --help, -h and
// `roadcheck help` print the usage on standard output and exit 0; a bad
// flag or an argument (the GUI takes flags only) is named on standard
// error, with the nearest flag when one is near, and exits ExitUsage.
package startup
