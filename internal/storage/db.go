package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// DB is an open terminal database.
type DB struct {
	bolt *bolt.DB
	path string
}

// Options tune Open.
type Options struct {
	// ReadOnly opens the file with a shared lock and refuses writes.
	ReadOnly bool
	// LockTimeout is how long Open waits for another process to let go
	// (default 1 s).
	LockTimeout time.Duration
	// NoSync skips fsync on commit. WARNING: only for benchmarks and tests
	// that do not simulate crashes; a power cut can then lose commits.
	NoSync bool
}

// Open opens (creating if needed, with its directory) the database at path.
// A file held by another process gives ErrLocked after LockTimeout; a file
// that is not a valid database gives ErrDamaged.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("storage: create directory: %w", err)
		}
	}
	var b *bolt.DB
	err := catch(func() error {
		var err error
		b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly, NoSync: opts.NoSync})
		return err
	})
	if err != nil {
		return nil, classify(path, err)
	}
	db := &DB{bolt: b, path: path}
	if !opts.ReadOnly {
		if err := db.Update(func(tx *bolt.Tx) error {
			m, err := tx.CreateBucketIfNotExists(BucketMeta)
			if err != nil {
				return err
			}
			if v := m.Get([]byte("schema")); v == nil {
				return m.Put([]byte("schema"), []byte{schemaVersion})
			} else if len(v) != 1 || v[0] != schemaVersion {
				return fmt.Errorf("%w: schema version %v, this build reads %d", ErrDamaged, v, schemaVersion)
			}
			return nil
		}); err != nil {
			b.Close()
			return nil, err
		}
	}
	return db, nil
}

func classify(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("%w: %s", ErrLocked, path)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
		errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, ErrDamaged):
		return fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	case errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return fmt.Errorf("storage: open %s: %w", path, err)
	}
	// bbolt reports other damage (short files, bad page ids) with ad-hoc errors.
	return fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
}

// catch runs fn and turns a panic (bbolt panics on some corrupted pages) into
// ErrDamaged.
func catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrDamaged, r)
		}
	}()
	return fn()
}

// Path is the file's path.
func (db *DB) Path() string { return db.path }

// ReadOnly reports whether the database was opened read-only.
func (db *DB) ReadOnly() bool { return db.bolt.IsReadOnly() }

// Close releases the file.
func (db *DB) Close() error { return db.bolt.Close() }

// View runs fn in a read-only transaction; a panic inside becomes ErrDamaged.
func (db *DB) View(fn func(tx *bolt.Tx) error) error {
	return catch(func() error { return db.bolt.View(fn) })
}

// Update runs fn in a read-write transaction, committed (and fsynced) when fn
// returns nil and rolled back otherwise; a panic inside becomes ErrDamaged.
func (db *DB) Update(fn func(tx *bolt.Tx) error) error {
	err := catch(func() error { return db.bolt.Update(fn) })
	if errors.Is(err, bolterrors.ErrDatabaseReadOnly) {
		return ErrReadOnly
	}
	return err
}

// Batch is Update coalesced with concurrent Batch calls (bbolt's Batch):
// fn may run more than once and must be idempotent.
func (db *DB) Batch(fn func(tx *bolt.Tx) error) error {
	return catch(func() error { return db.bolt.Batch(fn) })
}
