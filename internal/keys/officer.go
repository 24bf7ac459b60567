package keys

import (
	"fmt"
	"strings"
	"time"
)

// Role is what an officer may do. The values are stored in the directory.
type Role uint8

// Roles.
const (
	RoleInspector  Role = 1 // roadside inspector
	RoleStation    Role = 2 // station staff
	RoleSupervisor Role = 3 // audits, adds officers, re-wraps forgotten PINs
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r >= RoleInspector && r <= RoleSupervisor }

// String is the role's stable code: inspector, station or supervisor.
func (r Role) String() string {
	switch r {
	case RoleInspector:
		return "inspector"
	case RoleStation:
		return "station"
	case RoleSupervisor:
		return "supervisor"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// ParseRole parses a role's code.
func ParseRole(s string) (Role, error) {
	for r := RoleInspector; r <= RoleSupervisor; r++ {
		if r.String() == strings.TrimSpace(s) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown role %q (inspector, station or supervisor)", ErrOfficer, s)
}

// Limits of officers and PINs.
const (
	// MaxOfficerIDLength bounds an officer ID.
	MaxOfficerIDLength = 32
	// MinPINLength and MaxPINLength bound a PIN (digits only). A directory
	// entry recording a shorter PIN is refused on load.
	MinPINLength = 6
	MaxPINLength = 12
	// MaxNameLength bounds an officer's name (bytes).
	MaxNameLength = 128
	// MaxPINAttempts wrong PINs in a row lock an officer out for Lockout.
	MaxPINAttempts = 5
	// Lockout is how long an officer stays locked out.
	Lockout = 15 * time.Minute
)

// ValidOfficerID is THE rule for officer IDs, shared by the GUI, rcctl and
// the record store: 1–32 ASCII letters, digits or '-'. It keeps escape
// sequences, spaces and look-alike characters out of records and screens.
func ValidOfficerID(id string) bool {
	if id == "" || len(id) > MaxOfficerIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// ValidPIN reports whether pin is acceptable for a new PIN:
// MinPINLength–MaxPINLength ASCII digits.
func ValidPIN(pin string) bool {
	if len(pin) < MinPINLength || len(pin) > MaxPINLength {
		return false
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false
		}
	}
	return true
}

// Officer is a directory entry as callers see it.
type Officer struct {
	ID   string
	Name string
	Role Role
	// Failures is the count of wrong PINs in a row; LockedUntil is the end
	// of a lock-out (zero: none).
	Failures    int
	LockedUntil time.Time
	// Legacy: imported from an officers.json of an earlier version; the
	// officer's first sign-in moves them to a sealed slot.
	Legacy bool
}

func validName(name string) bool {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxNameLength {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x1b {
			return false
		}
	}
	return true
}
