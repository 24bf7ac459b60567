package issuer

import "errors"

var (
	// ErrBadTemplate is returned for certificate requests that break the
	// RTC1 rules the issuer enforces (e.g. a CA without a valid prefix).
	ErrBadTemplate = errors.New("issuer: invalid certificate request")
)
