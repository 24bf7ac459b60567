package storage

import "errors"

var (
	// ErrLocked means another process holds the database open.
	ErrLocked = errors.New("storage: database is locked by another process")
	// ErrDamaged means the file is not a valid database or a page is corrupt.
	ErrDamaged = errors.New("storage: database file is damaged")
	// ErrReadOnly is returned for a write to a database opened read-only.
	ErrReadOnly = errors.New("storage: database is read-only")
	// ErrKeyFile means a key file next to the database is unusable
	// (WriteKeyFile, ReadKeyFile).
	ErrKeyFile = errors.New("storage: key file")
)
