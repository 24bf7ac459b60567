package syncclient

import "errors"

// Sentinel errors of the sync client.
var (
	ErrNotEnrolled = errors.New("syncclient: this terminal is not enrolled with a hub (rcctl enroll)")
	ErrInsecureHub = errors.New("syncclient: plain HTTP is allowed only for a hub on a loopback address: use https://")
	ErrBadCA       = errors.New("syncclient: the hub CA file holds no PEM certificate")
	ErrHub         = errors.New("syncclient: the hub refused the request")
	ErrProtocol    = errors.New("syncclient: unexpected answer from the hub")
	ErrUnreachable = errors.New("syncclient: the hub cannot be reached")
	ErrNoProgress  = errors.New("syncclient: the hub answered without taking any record")
	// ErrBadToken: the hub refused the enrolment token (unknown, expired,
	// already used or revoked).
	ErrBadToken = errors.New("syncclient: the hub refused the enrolment token: ask the hub's administrator for a new one (rchub token create)")
	// ErrRevoked: the hub revoked this terminal (reported lost or stolen).
	// It can no longer push or pull; enrol it again as a new device.
	ErrRevoked = errors.New("syncclient: this terminal was revoked at the hub and can no longer sync")
)
