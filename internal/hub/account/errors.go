package account

import "errors"

// Sentinel errors of accounts and sessions.
var (
	ErrNotFound = errors.New("account: not found")
	ErrExists   = errors.New("account: already exists")
	// ErrSignIn: the name, password or code is wrong (which one is not
	// said), or the account is disabled.
	ErrSignIn = errors.New("account: sign-in failed")
	// ErrLocked: too many failed sign-ins; try again later.
	ErrLocked = errors.New("account: locked after failed sign-ins")
	// ErrSession: the session token is unknown, expired or revoked, or its
	// account is disabled.
	ErrSession  = errors.New("account: session unknown, expired or revoked")
	ErrBadInput = errors.New("account: bad input")
	// ErrWeakPassword: the password is shorter than MinPassword.
	ErrWeakPassword = errors.New("account: password too short")
)
