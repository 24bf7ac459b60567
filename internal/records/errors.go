package records

import (
	"errors"

	"github.com/roadcheck/roadcheck/internal/keys"
)

// Sentinel errors of the record store and the record wire format.
var (
	// ErrStorageFull means the disk (or the file size limit, or the quota)
	// has no room for the record: nothing was stored, nothing stored before
	// was damaged. Free space and retry.
	ErrStorageFull = errors.New("records: storage full: the record was NOT saved (free disk space and retry)")
	// ErrWrongKey means no key slot could be unlocked with the key source
	// given: a wrong PIN or passphrase, or another device's key file.
	ErrWrongKey = keys.ErrWrongKey
	// ErrKeyFile means the key file is unusable (unreadable, malformed or
	// readable by group or others).
	ErrKeyFile = keys.ErrKeyFile
	// ErrNotFound is returned for a record id that is not stored.
	ErrNotFound = errors.New("records: record not found")
	// ErrInvalidCheck is returned by Append for a check that cannot be
	// recorded (unknown action, "other" action without text, bad location,
	// a correction of an unknown record).
	ErrInvalidCheck = errors.New("records: invalid check")
	// ErrMalformed is returned for record bytes that are not a canonical
	// record body of this format.
	ErrMalformed = errors.New("records: malformed record")
	// ErrBadSignature is returned when a record's device signature does not
	// verify over its canonical bytes.
	ErrBadSignature = errors.New("records: device signature does not verify")
	// ErrSlot is returned when removing the last key slot or a slot that
	// does not exist.
	ErrSlot = keys.ErrSlot
	// ErrAudit is returned by commands that refuse to go on because Audit
	// found the chain damaged (the AuditReport says where).
	ErrAudit = errors.New("records: the record chain is damaged (see the audit)")
)
