// Package clock owns the notion of "now" for domain code.
//
// Domain packages never call time.Now directly: they take a Clock, and a zero
// time.Time passed as a check time means "ask the clock", mirroring
// crypto/x509.VerifyOptions.CurrentTime. Tests use Fake to pin or move time.
package clock
