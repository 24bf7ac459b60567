package policy

import "errors"

// Errors of package policy; test with errors.Is.
var (
	// ErrMalformed: the text is not a signed policy of this format.
	ErrMalformed = errors.New("policy: malformed signed policy")
	// ErrBadSignature: the signature does not verify with the key of the
	// policy's source.
	ErrBadSignature = errors.New("policy: signature does not verify")
	// ErrNoKey: no key is known for the policy's source (e.g. a hub
	// policy on a terminal that has no hub key).
	ErrNoKey = errors.New("policy: no key for the policy's signer")
	// ErrWrongDevice: a device policy signed for another terminal.
	ErrWrongDevice = errors.New("policy: signed for another device")
	// ErrRollback: a validly signed policy older (lower sequence) than one
	// this terminal has applied from the same signer — put back by hand,
	// or offered by a hub serving an old state.
	ErrRollback = errors.New("policy: older than the policy applied")
	// ErrOutOfBounds: a value lies outside the bounds (wider than the
	// defaults without a supervisor, or beyond the ceilings).
	ErrOutOfBounds = errors.New("policy: value out of bounds")
)
