package syncclient

import "errors"

// Sentinel errors of the sync client. KindOf sorts them (and the record
// store's) into the ErrorKind that State.LastErrorKind reports.
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
	// ErrUntrustedHub: the hub's TLS certificate does not chain to the CA
	// pinned at enrolment, or does not name the hub's host. It comes
	// wrapped together with ErrUnreachable (nothing reached the hub).
	ErrUntrustedHub = errors.New("syncclient: the hub's TLS certificate is not trusted (it does not chain to the CA pinned at enrolment, or names another host)")
	// ErrClockSkew: the hub refused the request time even after the client
	// signed again with the hub's own time (the device clock jumped, or
	// the hub gave no time): set the device clock.
	ErrClockSkew = errors.New("syncclient: the hub refused the request time: this device's clock is off")
	// ErrReconfigured ends a Sync that was running when Reconfigure
	// switched the client to another enrolment. It is not recorded in State:
	// Run starts a sync with the new hub at once.
	ErrReconfigured = errors.New("syncclient: the terminal was enrolled again: sync restarted with the new hub")
	// ErrTrustIncomplete: the hub's trust manifest lists objects that
	// could not all be received and applied (the hub became unreachable,
	// an object kept failing its digest, a full disk…). What arrived is
	// applied; nothing else is recorded, and the next sync resumes from
	// what the trust store holds. Until then revocations the terminal has
	// not received are not caught: the GUI says trust data is incomplete.
	ErrTrustIncomplete = errors.New("syncclient: trust data incomplete")
	// ErrManifestBackwards: the hub's trust manifest is older than the one
	// applied before from the same epoch of its feed. It is refused (with
	// ErrProtocol) and forgotten: the next sync takes what the hub offers.
	ErrManifestBackwards = errors.New("syncclient: the hub's trust manifest went backwards")
	// ErrPullBusy: another process (rcctl sync, or the GUI) is pulling
	// trust data into this terminal's trust store; this pull did nothing.
	ErrPullBusy = errors.New("syncclient: another process is pulling trust data into this terminal: try again when it is done")
	// ErrObjectDigest: a trust object's bytes did not match the digest the
	// manifest names it by, also when fetched again.
	ErrObjectDigest = errors.New("syncclient: a trust object from the hub does not match its digest")
)
