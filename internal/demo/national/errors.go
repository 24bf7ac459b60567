package national

import "errors"

// Sentinel errors; every error the package returns wraps one of them (or a
// context error, or the underlying I/O error).
var (
	// ErrConfig is a Config the generator cannot honour.
	ErrConfig = errors.New("national: bad config")
	// ErrExists is a Generate into a directory that is not empty.
	ErrExists = errors.New("national: output directory is not empty")
	// ErrManifest is a manifest that cannot be read or does not describe
	// a world this package wrote.
	ErrManifest = errors.New("national: bad manifest")
	// ErrDamaged is an object whose size or SM3 digest differs from the
	// manifest.
	ErrDamaged = errors.New("national: damaged object")
	// ErrUnknownIssuer is an authority code that is not one of the world's issuers.
	ErrUnknownIssuer = errors.New("national: unknown issuer")
	// ErrIndex is a licence index out of range.
	ErrIndex = errors.New("national: licence index out of range")
	// ErrDayOrder is a delta for a day not after the newest delta's day,
	// or a second delta for a day with another fraction.
	ErrDayOrder = errors.New("national: delta day out of order")
)
