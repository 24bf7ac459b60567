package keys

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of the key hierarchy.
var (
	// ErrWrongKey means no key slot could be unlocked with the source
	// given: a wrong PIN or passphrase, or another device's key file.
	ErrWrongKey = errors.New("keys: cannot unlock the device data key (wrong PIN, passphrase or key file)")
	// ErrKeyFile means the key file is unusable (unreadable, malformed or
	// readable by group or others).
	ErrKeyFile = errors.New("keys: key file unusable")
	// ErrSlot is returned when removing the last key slot or a slot that
	// does not exist.
	ErrSlot = errors.New("keys: key slot")
	// ErrSignIn is a wrong officer ID or PIN (the same error for both).
	ErrSignIn = errors.New("keys: wrong officer ID or PIN")
	// ErrLockedOut is wrapped by *LockedOutError.
	ErrLockedOut = errors.New("keys: officer locked out after too many wrong PINs")
	// ErrDeviceLockout means the TPM refuses PIN attempts for now: its
	// dictionary-attack lock-out counted too many wrong PINs.
	ErrDeviceLockout = errors.New("keys: the TPM is in dictionary-attack lock-out (too many wrong PINs on this device); wait for it to recover")
	// ErrDirectory means the officer directory is damaged, was edited
	// outside RoadCheck, or is below the security floor.
	ErrDirectory = errors.New("keys: officer directory refused")
	// ErrDevice means the device-bound root is unusable: no TPM where the
	// terminal's keys are sealed to one, another TPM or device file, or a
	// TPM error.
	ErrDevice = errors.New("keys: device-bound key unavailable")
	// ErrOfficer is a bad officer ID, name or role, or an ID already taken.
	ErrOfficer = errors.New("keys: officer")
	// ErrWeakPIN: a new PIN must be MinPINLength–MaxPINLength digits.
	ErrWeakPIN = errors.New("keys: PIN must be 6–12 digits")
	// ErrNotSupervisor: the operation needs a signed-in supervisor.
	ErrNotSupervisor = errors.New("keys: only a supervisor may do this")
	// ErrNoOfficers: the vault has no officer yet (provision the first
	// supervisor), or the operation needs the data key and no officer or
	// legacy source can give it.
	ErrNoOfficers = errors.New("keys: no officer on this terminal yet")
	// ErrMalformed is returned by the parsers for bytes that are not a
	// directory or key slot of this format.
	ErrMalformed = errors.New("keys: malformed key data")
)

// LockedOutError is returned by SignIn for an officer who typed
// MaxPINAttempts wrong PINs in a row: until Until even the right PIN is
// refused. It wraps ErrLockedOut.
type LockedOutError struct{ Until time.Time }

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("%v until %s", ErrLockedOut, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrLockedOut.
func (e *LockedOutError) Unwrap() error { return ErrLockedOut }
