package ui

import (
	"context"
	"errors"
	"time"
)

// Officer management on the directory, for the supervisors' screen: reset
// an officer's PIN (clearing a lock-out) and remove (停用) an officer.
// OfficerDirectory implements them on the key vault (officerdir.go:
// Officers, ResetPIN, Remove).

// Errors of officer management (user-visible).
var (
	// ErrNoOfficer: no officer has that ID.
	ErrNoOfficer = &UserError{Key: "officers.none", Msg: "ui: no such officer"}
	// ErrLastSupervisor: the terminal would be left without a supervisor,
	// or a supervisor would remove themself.
	ErrLastSupervisor = &UserError{Key: "officers.lastSupervisor", Msg: "ui: the last supervisor, or oneself, cannot be removed"}
)

// OfficerInfo is an officer as the management screen lists them.
type OfficerInfo struct {
	Officer
	// LockedUntil is the end of a PIN lock-out (zero: none).
	LockedUntil time.Time
}

// officerManager is what the management screen needs of the directory
// (*OfficerDirectory satisfies it).
type officerManager interface {
	OfficerAdmin
	Officers(ctx context.Context) ([]OfficerInfo, error)
	ResetPIN(ctx context.Context, id, pin string) error
	Remove(ctx context.Context, id, by string) error
}

// errIsUser reports whether err is one to show as it is.
func errIsUser(err error) bool {
	var ue *UserError
	return errors.As(err, &ue)
}
