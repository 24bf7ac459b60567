package storage

import (
	"context"
	"fmt"
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

// GetDecoded reads key in the top-level bucket and decodes it in the same
// read transaction (decode must copy what it keeps). A missing key gives
// notFound wrapped with what and the key ("account \"ana\"").
func GetDecoded[T any](ctx context.Context, db *DB, bucket []byte, key, what string, notFound error, decode func(key string, v []byte) (T, error)) (T, error) {
	var out T
	if err := ctx.Err(); err != nil {
		return out, err
	}
	err := db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get([]byte(key))
		if v == nil {
			return fmt.Errorf("%w: %s %q", notFound, what, key)
		}
		var err error
		out, err = decode(key, v)
		return err
	})
	return out, err
}

// AllDecoded decodes every pair of the top-level bucket, in key order, in
// one read transaction (decode must copy what it keeps).
func AllDecoded[T any](ctx context.Context, db *DB, bucket []byte, decode func(key string, v []byte) (T, error)) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []T
	err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			x, err := decode(string(k), v)
			out = append(out, x)
			return err
		})
	})
	return out, err
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
