package trust

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust/statusfile"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// legacyCert and legacyList are the records an earlier version kept in the
// terminal database itself (buckets trust.*).
type legacyCert struct {
	DER     []byte   `cbor:"1,keyasint"`
	Parents [][]byte `cbor:"2,keyasint,omitempty"`
}

type legacyList struct {
	Sequence   uint64   `cbor:"1,keyasint"`
	ThisUpdate int64    `cbor:"2,keyasint"`
	NextUpdate int64    `cbor:"3,keyasint"`
	Entries    int      `cbor:"4,keyasint"`
	Digest     []byte   `cbor:"5,keyasint"`
	Applied    [][]byte `cbor:"6,keyasint,omitempty"`
}

var legacyBuckets = [][]byte{storage.BucketAnchors, storage.BucketCerts, storage.BucketCRLs, storage.BucketStatusMeta, storage.BucketStatusEntries}

// migrate moves trust data that an earlier version kept inside db into the
// trust files, once: when db still holds the old buckets. The trust files
// are committed first and the buckets deleted after, so a crash in between
// only repeats the (idempotent) move. A read-only db is left as it is.
func (s *Store) migrate(ctx context.Context, db *storage.DB) error {
	if db.ReadOnly() || s.readOnly {
		return nil
	}
	var present bool
	if err := db.View(func(tx *bolt.Tx) error {
		for _, b := range legacyBuckets {
			if tx.Bucket(b) != nil {
				present = true
			}
		}
		return nil
	}); err != nil || !present {
		return err
	}
	err := s.update(ctx, func(idx *index, tx *statusfile.Tx) (bool, error) {
		changed := false
		return changed, db.View(func(btx *bolt.Tx) error {
			var err error
			changed, err = migrateInto(idx, tx, btx)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("trust: move trust data out of %s: %w", db.Path(), err)
	}
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range legacyBuckets {
			if err := tx.DeleteBucket(b); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
		}
		return nil
	})
}

// migrateInto copies the legacy buckets of btx into idx and tx. Values are
// copied before they outlive btx.
func migrateInto(idx *index, tx *statusfile.Tx, btx *bolt.Tx) (bool, error) {
	changed := false
	if b := btx.Bucket(storage.BucketAnchors); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			c, err := parseAnchor(bytes.Clone(v))
			if err != nil {
				return fmt.Errorf("%w: stored anchor %x: %v", storage.ErrDamaged, k, err)
			}
			if idx.certs[c.Hash] == nil {
				idx.add(c)
				changed = true
			}
			return nil
		}); err != nil {
			return false, err
		}
	}
	type pending struct {
		c       *Cert
		parents [][]byte
	}
	var all []pending
	if b := btx.Bucket(storage.BucketCerts); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			var rec legacyCert
			if err := cbor.Unmarshal(bytes.Clone(v), &rec); err != nil {
				return fmt.Errorf("%w: certificate record %x: %v", storage.ErrDamaged, k, err)
			}
			c, err := parseCert(rec.DER)
			if err != nil {
				return fmt.Errorf("%w: stored certificate %x: %v", storage.ErrDamaged, k, err)
			}
			if err := c.checkRole(); err != nil {
				return fmt.Errorf("%w: stored certificate %x: %v", storage.ErrDamaged, k, err)
			}
			all = append(all, pending{c, rec.Parents})
			return nil
		}); err != nil {
			return false, err
		}
	}
	// Parents may come after their children in key order: link in passes.
	for progress := true; progress && len(all) > 0; {
		progress = false
		rest := all[:0]
		for _, p := range all {
			if idx.certs[p.c.Hash] != nil {
				progress = true
				continue
			}
			ok := true
			for _, ph := range p.parents {
				if len(ph) != len(Hash{}) || idx.certs[Hash(ph)] == nil {
					ok = false
				}
			}
			if !ok {
				rest = append(rest, p)
				continue
			}
			for _, ph := range p.parents {
				p.c.Parents = append(p.c.Parents, idx.certs[Hash(ph)])
			}
			idx.add(p.c)
			changed, progress = true, true
		}
		all = rest
	}
	if len(all) > 0 {
		return false, fmt.Errorf("%w: %d stored certificates name missing parents", storage.ErrDamaged, len(all))
	}
	if b := btx.Bucket(storage.BucketCRLs); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			ca := idx.certs[Hash(k)]
			if len(k) != len(Hash{}) || ca == nil {
				return fmt.Errorf("%w: CRL of unknown CA %x", storage.ErrDamaged, k)
			}
			crl, err := parseCRL(bytes.Clone(v), ca)
			if err != nil {
				return fmt.Errorf("%w: stored CRL: %v", storage.ErrDamaged, err)
			}
			if idx.crls[ca.Hash] == nil {
				idx.crls[ca.Hash] = crl
				changed = true
			}
			return nil
		}); err != nil {
			return false, err
		}
	}
	meta, root := btx.Bucket(storage.BucketStatusMeta), btx.Bucket(storage.BucketStatusEntries)
	if meta == nil {
		return changed, nil
	}
	err := meta.ForEach(func(k, v []byte) error {
		if len(k) <= len(Hash{}) {
			return fmt.Errorf("%w: status list key %x", storage.ErrDamaged, k)
		}
		caCert := idx.certs[Hash(k[:len(Hash{})])]
		if caCert == nil {
			return fmt.Errorf("%w: status list of unknown CA %x", storage.ErrDamaged, k[:len(Hash{})])
		}
		key := listKey{ca: caCert.Identity(), issuer: string(k[len(Hash{}):])}
		if idx.lists[key] != nil {
			return nil
		}
		var rec legacyList
		if err := cbor.Unmarshal(bytes.Clone(v), &rec); err != nil || len(rec.Digest) != len(Hash{}) {
			return fmt.Errorf("%w: status list record: %v", storage.ErrDamaged, err)
		}
		var es []statusfile.Entry
		if root != nil {
			if b := root.Bucket(k); b != nil {
				if err := b.ForEach(func(h, e []byte) error {
					if len(h) != 16 || len(e) != 9 {
						return fmt.Errorf("%w: status entry of %d bytes", storage.ErrDamaged, len(e))
					}
					es = append(es, statusfile.Entry{IDHash: [16]byte(h), Status: e[0], Since: int64(beUint64(e[1:]))})
					return nil
				}); err != nil {
					return err
				}
			}
		}
		if err := tx.Replace(key.file(), func(yield func(statusfile.Entry, error) bool) {
			for _, e := range es {
				if !yield(e, nil) {
					return
				}
			}
		}); err != nil {
			return err
		}
		idx.lists[key] = &ListInfo{CA: caCert, Issuer: key.issuer, Sequence: rec.Sequence,
			ThisUpdate: time.Unix(rec.ThisUpdate, 0), NextUpdate: time.Unix(rec.NextUpdate, 0), Digest: Hash(rec.Digest), FullSequence: rec.Sequence, applied: rec.Applied}
		changed = true
		return nil
	})
	return changed, err
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b[:8] {
		v = v<<8 | uint64(x)
	}
	return v
}
