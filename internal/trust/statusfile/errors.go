package statusfile

import (
	"errors"
	"fmt"
)

// Errors returned by the store. Callers test them with errors.Is; an error
// that concerns one status list is also a *KeyError naming it.
var (
	// ErrDamaged: a file or the manifest does not match its SM3 digest, is
	// truncated, missing or has a bad magic or an impossible structure.
	ErrDamaged = errors.New("statusfile: damaged file")
	// ErrLocked: the writer lock could not be taken before ctx ended.
	ErrLocked = errors.New("statusfile: store is locked by another writer")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("statusfile: store is closed")
	// ErrStale: a View outlived the files of its generation (another process
	// committed twice since and removed them); take a new View.
	ErrStale = errors.New("statusfile: view is stale, its files were removed")
	// ErrTxDone: a Tx was used after its Update function returned.
	ErrTxDone = errors.New("statusfile: transaction already finished")
	// ErrBadEntry: an entry with a status other than 0, 1 or 2.
	ErrBadEntry = errors.New("statusfile: invalid status entry")
	// ErrBadKey: a key whose issuer is longer than MaxIssuerLen bytes.
	ErrBadKey = errors.New("statusfile: invalid key")
	// ErrFull: the file system is full or a file size limit was reached
	// while writing; the previous generation stays in force.
	ErrFull = errors.New("statusfile: no space left for trust files")
	// ErrUnsupported: the platform lacks mmap or flock.
	ErrUnsupported = errors.New("statusfile: platform not supported")
)

// KeyError reports an error (normally ErrDamaged) that concerns the files
// of one status list only: the caller can Drop that key and fetch the list
// again while the other lists stay usable.
type KeyError struct {
	Key Key
	Err error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("status list %x/%s: %v", e.Key.CA[:6], e.Key.Issuer, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// damaged returns an error wrapping ErrDamaged with the file and reason.
func damaged(file string, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrDamaged, file, fmt.Sprintf(format, args...))
}

// StaleRetries is how many times an operation that met ErrStale starts
// again on the newest generation before it returns the error: each retry
// needs another commit to land in the moment between reading the manifest
// and opening a file.
const StaleRetries = 8
