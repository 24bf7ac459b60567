package hub

import "errors"

// Sentinel errors of the hub and its stores.
var (
	ErrNotFound     = errors.New("hub: not found")
	ErrTokenInvalid = errors.New("hub: token unknown, expired, already used, revoked or of another role")
	ErrDeviceExists = errors.New("hub: device already enrolled")
	// ErrDeviceRevoked: the device was revoked (lost or stolen); it can no
	// longer push, pull or enrol again under its id.
	ErrDeviceRevoked = errors.New("hub: device revoked")
	// ErrAmbiguous: a token id prefix names more than one token.
	ErrAmbiguous    = errors.New("hub: ambiguous token id")
	ErrBadInput     = errors.New("hub: bad input")
	ErrPlainHTTP    = errors.New("hub: refusing plain HTTP on a non-loopback address: give --tls-cert and --tls-key")
	ErrNoAnchors    = errors.New("hub: no trust anchors: add them first (rchub trust anchors --db PATH FILE)")
	ErrNothingValid = errors.New("hub: no block of the bundle verifies against the hub's anchors")
	ErrKeyFile      = errors.New("hub: key file unusable")
	// ErrUnavailable: the store cannot take writes or answer now (the
	// database is down, read-only or refusing connections): the request
	// can be retried later (the server answers 503 with Retry-After).
	ErrUnavailable = errors.New("hub: store unavailable")
	// ErrSchema: the database's schema is not the one this build knows
	// (newer: upgrade rchub; older: run rchub migrate).
	ErrSchema = errors.New("hub: database schema version mismatch")
	// ErrConflict: the state changed meanwhile (another check policy was
	// published while this one was being signed): try again.
	ErrConflict = errors.New("hub: changed meanwhile")
)

// errStaleDevice: a push was authenticated against a device whose stored
// key is not the one its ingestion found (deviceCache).
var errStaleDevice = errors.New("hub: device key changed since it was cached")
