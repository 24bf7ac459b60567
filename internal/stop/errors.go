package stop

import "errors"

// Sentinel errors of package stop; test with errors.Is.
var (
	// ErrNoLicence: the verification result carries no licence data (the
	// code failed before the schema step), so it cannot fill a slot.
	// User-visible: the UI shows its own sentence for it.
	ErrNoLicence = errors.New("stop: result carries no verified licence data")
	// ErrUnknownKind: the licence is of none of the three RTC1 kinds.
	ErrUnknownKind = errors.New("stop: unknown licence kind")
)
