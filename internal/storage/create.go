package storage

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CreateBuckets creates the named top-level buckets that do not exist yet,
// in one transaction. On a read-only database it returns ErrReadOnly (the
// caller decides whether it can work with the buckets that exist).
func (db *DB) CreateBuckets(ctx context.Context, names ...[]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range names {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// Millis is how stores keep an optional time: Unix milliseconds, 0 for the
// zero time.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis reverses Millis: 0 is the zero time.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
