// Package verify owns the verification of one RTC1 code: the ten steps of
// section 7 of the format, in order, against a trust store, at a check time
// and under a policy (clock skew, maximum trust age) given by the caller. It
// returns a Result with a Verdict and the Reasons in step order, each at most
// once. It never reads the wall clock itself: a zero check time means "now"
// from the injected clock.Clock.
package verify
