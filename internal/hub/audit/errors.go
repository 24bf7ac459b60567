package audit

import "errors"

// Sentinel errors of the audit log.
var (
	// ErrConflict: an append did not continue the stored chain (another
	// writer appended first); the Log reloads the head and retries.
	ErrConflict = errors.New("audit: append does not continue the stored chain")
	// ErrClosed: the Log was closed.
	ErrClosed = errors.New("audit: log closed")
	// ErrNoCheckpoint: retention found no signed checkpoint old enough to
	// rotate up to.
	ErrNoCheckpoint = errors.New("audit: no checkpoint old enough to rotate to")
	// ErrBadInput: a query or an entry that is not one.
	ErrBadInput = errors.New("audit: bad input")
	// ErrForeignKey: the log's newest checkpoint is signed by a key the
	// opener does not hold (Options.Key and PreviousKeys): it was written
	// by a hub with another keyring, or a newer version of this one.
	ErrForeignKey = errors.New("audit: the newest checkpoint is signed by a key this hub does not hold")
)
