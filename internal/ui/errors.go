package ui

import "errors"

// Sentinel errors of package ui; test with errors.Is. Only errors wrapped in
// a UserError are shown verbatim in the GUI; every other error is shown as a
// generic sentence and logged.
var (
	// ErrSignIn: the officer ID or PIN is wrong (user-visible).
	ErrSignIn = &UserError{Key: "signin.wrong", Msg: "ui: officer ID or PIN is wrong"}
	// ErrNotAllowed: the signed-in officer's role may not open the screen (user-visible).
	ErrNotAllowed = &UserError{Key: "signin.notAllowed", Msg: "ui: not allowed for this role"}
	// ErrLocked: the record store is not unlocked (no officer signed in)
	// (user-visible).
	ErrLocked = &UserError{Key: "records.locked", Msg: "ui: the record store is locked"}
	// ErrNoDecoder: no image decoder is wired, so images cannot be read.
	ErrNoDecoder = errors.New("ui: no image decoder")
	// ErrNoCamera: no camera is wired or present.
	ErrNoCamera = errors.New("ui: no camera")
)

// UserError is an error whose message may be shown to the officer: Key names
// its sentence in the translation catalog; Msg is the log text.
type UserError struct {
	Key  string
	Msg  string
	Args []any // formatting arguments of the sentence (may be nil)
	Err  error // the error it wraps, for errors.Is (may be nil)
}

// Error returns the log text.
func (e *UserError) Error() string { return e.Msg }

// Unwrap returns the wrapped error.
func (e *UserError) Unwrap() error { return e.Err }

// userMessage returns the sentence shown for err in the current language:
// its own for a UserError, a generic one otherwise.
func userMessage(tr func(string, ...any) string, err error) string {
	var ue *UserError
	if errors.As(err, &ue) {
		return tr(ue.Key, ue.Args...)
	}
	return tr("error.generic")
}
