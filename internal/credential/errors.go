package credential

import "errors"

// Sentinel errors. Decoding errors wrap one of the first three, so
// errors.Is tells the verifier which reason code applies; the one exception
// is a text both too long and of another version, which wraps ErrMalformed
// and ErrUnsupportedVersion (both reasons apply).
var (
	// ErrMalformed covers every structural failure of an RTC1 code or its claims.
	ErrMalformed = errors.New("credential: malformed")
	// ErrUnsupportedVersion is a prefix "RTC<n>:" with n other than 1.
	ErrUnsupportedVersion = errors.New("credential: unsupported version")
	// ErrUnsupportedAlg is a protected alg other than AlgSM2SM3.
	ErrUnsupportedAlg = errors.New("credential: unsupported algorithm")
	// ErrInvalidClaims is returned by Encode for claims that Decode would refuse.
	ErrInvalidClaims = errors.New("credential: invalid claims")
)
