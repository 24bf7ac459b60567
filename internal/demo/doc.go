// Package demo owns the demo world: a complete, realistic but fictitious RTC1
// deployment — a national root, provincial and city CAs, signers, CRLs,
// status lists (full and delta), a trust bundle — and sample codes covering a
// valid code of each licence kind, a dynamic code and every INVALID and
// LIMITED reason, with realistic Chinese data. The world is a pure function
// of (seed, reference time): the same inputs give byte-identical output.
//
// WARNING: every key of the demo world is derived from a public seed. Its
// root must never be installed as an anchor outside a demo or a test.
package demo
