package account

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// BoltStore is the Store in the hub's bbolt file (storage.BucketHubAccounts,
// BucketHubSessions, BucketHubScopes).
type BoltStore struct {
	db *storage.DB
}

// NewBoltStore creates the buckets in db if needed.
func NewBoltStore(ctx context.Context, db *storage.DB) (*BoltStore, error) {
	err := db.CreateBuckets(ctx, storage.BucketHubAccounts, storage.BucketHubSessions, storage.BucketHubScopes)
	if err != nil && !errors.Is(err, storage.ErrReadOnly) {
		return nil, fmt.Errorf("account: init buckets: %w", err)
	}
	return &BoltStore{db: db}, nil
}

type boltAccount struct {
	Role         string `cbor:"1,keyasint"`
	Jurisdiction string `cbor:"2,keyasint"`
	PasswordHash string `cbor:"3,keyasint"`
	TOTPSealed   []byte `cbor:"4,keyasint"`
	TOTPStep     uint64 `cbor:"5,keyasint,omitempty"`
	Failures     int    `cbor:"6,keyasint,omitempty"`
	LockedUntil  int64  `cbor:"7,keyasint,omitempty"`
	Created      int64  `cbor:"8,keyasint"`
	Disabled     int64  `cbor:"9,keyasint,omitempty"`
}

type boltSession struct {
	Account string `cbor:"1,keyasint"`
	Created int64  `cbor:"2,keyasint"`
	Expires int64  `cbor:"3,keyasint"`
	Revoked int64  `cbor:"4,keyasint,omitempty"`
	Source  string `cbor:"5,keyasint,omitempty"`
	Key     []byte `cbor:"6,keyasint,omitempty"`
}

type boltScope struct {
	Role         string `cbor:"1,keyasint,omitempty"`
	Jurisdiction string `cbor:"2,keyasint"`
}

func ms(t time.Time) int64  { return storage.Millis(t) }
func tm(ms int64) time.Time { return storage.FromMillis(ms) }

func damaged(what string, err error) error {
	return fmt.Errorf("%w: account %s: %v", storage.ErrDamaged, what, err)
}

func encodeAccount(a *Account) ([]byte, error) {
	return cbor.Marshal(boltAccount{Role: string(a.Role), Jurisdiction: a.Jurisdiction, PasswordHash: a.PasswordHash, TOTPSealed: a.TOTPSealed,
		TOTPStep: a.TOTPStep, Failures: a.Failures, LockedUntil: ms(a.LockedUntil), Created: ms(a.Created), Disabled: ms(a.Disabled)})
}

func decodeAccount(name string, v []byte) (Account, error) {
	var b boltAccount
	if err := cbor.Unmarshal(v, &b); err != nil {
		return Account{}, damaged(name, err)
	}
	return Account{Name: name, Role: Role(b.Role), Jurisdiction: b.Jurisdiction, PasswordHash: b.PasswordHash, TOTPSealed: bytes.Clone(b.TOTPSealed),
		TOTPStep: b.TOTPStep, Failures: b.Failures, LockedUntil: tm(b.LockedUntil), Created: tm(b.Created), Disabled: tm(b.Disabled)}, nil
}

// CreateAccount implements Store.
func (s *BoltStore) CreateAccount(ctx context.Context, a Account) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := encodeAccount(&a)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubAccounts)
		if b.Get([]byte(a.Name)) != nil {
			return fmt.Errorf("%w: %s", ErrExists, a.Name)
		}
		return b.Put([]byte(a.Name), v)
	})
}

// Account implements Store.
func (s *BoltStore) Account(ctx context.Context, name string) (Account, error) {
	return storage.GetDecoded(ctx, s.db, storage.BucketHubAccounts, name, "account", ErrNotFound, decodeAccount)
}

// Accounts implements Store.
func (s *BoltStore) Accounts(ctx context.Context) ([]Account, error) {
	return storage.AllDecoded(ctx, s.db, storage.BucketHubAccounts, decodeAccount)
}

// UpdateAccount implements Store.
func (s *BoltStore) UpdateAccount(ctx context.Context, name string, fn func(a *Account) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubAccounts)
		v := b.Get([]byte(name))
		if v == nil {
			return fmt.Errorf("%w: account %q", ErrNotFound, name)
		}
		a, err := decodeAccount(name, v)
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		a.Name = name
		nv, err := encodeAccount(&a)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), nv)
	})
}

func encodeSession(s *Session) ([]byte, error) {
	return cbor.Marshal(boltSession{Account: s.Account, Created: ms(s.Created), Expires: ms(s.Expires), Revoked: ms(s.Revoked), Source: s.Source, Key: s.Key})
}

func decodeSession(k, v []byte) (Session, error) {
	var b boltSession
	if err := cbor.Unmarshal(v, &b); err != nil || len(k) != gm.SM3Size {
		return Session{}, damaged("session", err)
	}
	return Session{Hash: [gm.SM3Size]byte(k), Account: b.Account, Created: tm(b.Created), Expires: tm(b.Expires), Revoked: tm(b.Revoked),
		Source: b.Source, Key: bytes.Clone(b.Key)}, nil
}

// PutSession implements Store.
func (s *BoltStore) PutSession(ctx context.Context, sess Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := encodeSession(&sess)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(storage.BucketHubSessions).Put(sess.Hash[:], v) })
}

// Session implements Store.
func (s *BoltStore) Session(ctx context.Context, hash [gm.SM3Size]byte) (Session, error) {
	if err := ctx.Err(); err != nil {
		return Session{}, err
	}
	var sess Session
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(storage.BucketHubSessions).Get(hash[:])
		if v == nil {
			return ErrNotFound
		}
		var err error
		sess, err = decodeSession(hash[:], v)
		return err
	})
	return sess, err
}

// RevokeSessions implements Store.
func (s *BoltStore) RevokeSessions(ctx context.Context, account string, only [gm.SM3Size]byte, at time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubSessions)
		revoke := func(k, v []byte) error {
			sess, err := decodeSession(k, v)
			if err != nil || sess.Account != account || !sess.Revoked.IsZero() {
				return err
			}
			sess.Revoked = at
			nv, err := encodeSession(&sess)
			if err != nil {
				return err
			}
			n++
			return b.Put(bytes.Clone(k), nv)
		}
		if only != ([gm.SM3Size]byte{}) {
			v := b.Get(only[:])
			if v == nil {
				return fmt.Errorf("%w: session", ErrNotFound)
			}
			sess, err := decodeSession(only[:], v)
			if err != nil {
				return err
			}
			if sess.Account != account {
				return fmt.Errorf("%w: session of %s", ErrNotFound, account)
			}
			return revoke(only[:], v)
		}
		// Collect first: a bucket must not change under ForEach.
		type kv struct{ k, v []byte }
		var all []kv
		if err := b.ForEach(func(k, v []byte) error {
			all = append(all, kv{bytes.Clone(k), bytes.Clone(v)})
			return nil
		}); err != nil {
			return err
		}
		for _, e := range all {
			if err := revoke(e.k, e.v); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// PruneSessions implements Store.
func (s *BoltStore) PruneSessions(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubSessions)
		var dead [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			sess, err := decodeSession(k, v)
			if err != nil {
				return err
			}
			if sess.Expires.Before(before) {
				dead = append(dead, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range dead {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}

// PutScope implements Store.
func (s *BoltStore) PutScope(ctx context.Context, key string, sc Scope) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := cbor.Marshal(boltScope{Role: string(sc.Role), Jurisdiction: sc.Jurisdiction})
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(storage.BucketHubScopes).Put([]byte(key), v) })
}

// Scope implements Store.
func (s *BoltStore) Scope(ctx context.Context, key string) (Scope, bool, error) {
	if err := ctx.Err(); err != nil {
		return Scope{}, false, err
	}
	var (
		sc    Scope
		found bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubScopes)
		if b == nil {
			return nil // a read-only database from before scopes
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		var bs boltScope
		if err := cbor.Unmarshal(v, &bs); err != nil {
			return damaged("scope "+key, err)
		}
		sc, found = Scope{Role: Role(bs.Role), Jurisdiction: bs.Jurisdiction}, true
		return nil
	})
	return sc, found, err
}

var _ Store = (*BoltStore)(nil)
