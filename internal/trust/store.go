package trust

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// Store is the trust store. It is safe for concurrent use: lookups read an
// immutable in-memory index that Import and AddAnchors replace atomically.
type Store struct {
	db *storage.DB

	mu  sync.RWMutex
	idx *index
}

// index is an immutable snapshot of everything but status-list entries.
type index struct {
	certs   map[Hash]*Cert
	anchors []*Cert
	bySubj  map[string][]*Cert // CAs and anchors by RawSubject
	byKID   map[[credential.KIDSize]byte][]*Cert
	crls    map[Hash]*CRL // by issuing CA
	lists   map[listKey]*ListInfo
}

// CRL is the newest stored CRL of one CA.
type CRL struct {
	CA         *Cert
	DER        []byte
	Number     *big.Int // nil when the CRL has no CRL number
	ThisUpdate time.Time
	NextUpdate time.Time // zero when absent
	revoked    map[string]struct{}
}

// Revokes reports whether the CRL lists serial.
func (c *CRL) Revokes(serial *big.Int) bool {
	if c == nil {
		return false
	}
	_, ok := c.revoked[string(serial.Bytes())]
	return ok
}

// Count is the number of revoked serials.
func (c *CRL) Count() int { return len(c.revoked) }

type listKey struct {
	ca     Hash
	issuer string
}

func (k listKey) bytes() []byte { return append(k.ca[:], k.issuer...) }

// ListInfo is the header of the status list stored for (CA, issuer).
type ListInfo struct {
	CA         *Cert
	Issuer     string
	Sequence   uint64
	ThisUpdate time.Time
	NextUpdate time.Time
	Entries    int
	Digest     Hash // SM3 of the last applied list's COSE bytes
	applied    [][]byte
}

// appliedBefore reports whether the list with COSE digest d was applied
// since (and including) the stored full list.
func (l *ListInfo) appliedBefore(d Hash) bool {
	if l.Digest == d {
		return true
	}
	for _, a := range l.applied {
		if bytes.Equal(a, d[:]) {
			return true
		}
	}
	return false
}

// certRecord is a certificate as persisted in BucketCerts.
type certRecord struct {
	DER     []byte   `cbor:"1,keyasint"`
	Parents [][]byte `cbor:"2,keyasint,omitempty"`
}

// listRecord is a status-list header as persisted in BucketStatusMeta.
type listRecord struct {
	Sequence   uint64 `cbor:"1,keyasint"`
	ThisUpdate int64  `cbor:"2,keyasint"`
	NextUpdate int64  `cbor:"3,keyasint"`
	Entries    int    `cbor:"4,keyasint"`
	Digest     []byte `cbor:"5,keyasint"` // SM3 of the last applied list's COSE bytes
	// Applied are the SM3 digests of the full list and every delta applied
	// on top of it (at most maxApplied, newest last): re-importing any of
	// them is "unchanged", not a rollback.
	Applied [][]byte `cbor:"6,keyasint,omitempty"`
}

// maxApplied bounds listRecord.Applied.
const maxApplied = 512

// New returns the trust store kept in db, creating its buckets if needed and
// loading its index.
func New(ctx context.Context, db *storage.DB) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Store{db: db}
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{storage.BucketAnchors, storage.BucketCerts, storage.BucketCRLs, storage.BucketStatusMeta, storage.BucketStatusEntries} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err == storage.ErrReadOnly {
		err = nil // a read-only database must already have them
	}
	if err != nil {
		return nil, fmt.Errorf("trust: init buckets: %w", err)
	}
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) snapshot() *index {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx
}

func (s *Store) reload() error {
	var idx *index
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		idx, err = loadIndex(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("trust: load: %w", err)
	}
	s.mu.Lock()
	s.idx = idx
	s.mu.Unlock()
	return nil
}

func newIndex() *index {
	return &index{
		certs:  map[Hash]*Cert{},
		bySubj: map[string][]*Cert{},
		byKID:  map[[credential.KIDSize]byte][]*Cert{},
		crls:   map[Hash]*CRL{},
		lists:  map[listKey]*ListInfo{},
	}
}

// loadIndex reads the whole store but the status-list entries. Certificates
// were validated at import; here they are only parsed and linked.
func loadIndex(tx *bolt.Tx) (*index, error) {
	idx := newIndex()
	if b := tx.Bucket(storage.BucketAnchors); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			c, err := parseCert(v)
			if err != nil {
				return fmt.Errorf("%w: stored anchor %x: %v", storage.ErrDamaged, k, err)
			}
			c.Anchor = true
			if err := c.checkRole(); err != nil {
				return fmt.Errorf("%w: stored anchor %x: %v", storage.ErrDamaged, k, err)
			}
			idx.add(c)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	// Certificates: link parents, which may be stored after their children
	// in key order, so collect first and link after.
	type pending struct {
		c       *Cert
		parents [][]byte
	}
	var all []pending
	if b := tx.Bucket(storage.BucketCerts); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			var rec certRecord
			if err := cbor.Unmarshal(v, &rec); err != nil {
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
			idx.certs[c.Hash] = c
			return nil
		}); err != nil {
			return nil, err
		}
	}
	for _, p := range all {
		for _, ph := range p.parents {
			parent := idx.certs[Hash(ph)]
			if parent == nil {
				return nil, fmt.Errorf("%w: certificate %s names missing parent %x", storage.ErrDamaged, p.c.Hash, ph)
			}
			p.c.Parents = append(p.c.Parents, parent)
		}
		idx.add(p.c)
	}
	if b := tx.Bucket(storage.BucketCRLs); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			ca := idx.certs[Hash(k)]
			if ca == nil {
				return fmt.Errorf("%w: CRL of unknown CA %x", storage.ErrDamaged, k)
			}
			crl, err := parseCRL(v, ca)
			if err != nil {
				return fmt.Errorf("%w: stored CRL: %v", storage.ErrDamaged, err)
			}
			idx.crls[ca.Hash] = crl
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if b := tx.Bucket(storage.BucketStatusMeta); b != nil {
		if err := b.ForEach(func(k, v []byte) error {
			if len(k) <= len(Hash{}) {
				return fmt.Errorf("%w: status list key %x", storage.ErrDamaged, k)
			}
			var rec listRecord
			if err := cbor.Unmarshal(v, &rec); err != nil || len(rec.Digest) != len(Hash{}) {
				return fmt.Errorf("%w: status list record: %v", storage.ErrDamaged, err)
			}
			key := listKey{ca: Hash(k[:len(Hash{})]), issuer: string(k[len(Hash{}):])}
			idx.lists[key] = &ListInfo{
				CA: idx.certs[key.ca], Issuer: key.issuer, Sequence: rec.Sequence,
				ThisUpdate: time.Unix(rec.ThisUpdate, 0), NextUpdate: time.Unix(rec.NextUpdate, 0), Entries: rec.Entries,
				Digest: Hash(rec.Digest), applied: rec.Applied,
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return idx, nil
}

func (idx *index) add(c *Cert) {
	idx.certs[c.Hash] = c
	if c.Anchor {
		idx.anchors = append(idx.anchors, c)
	}
	if c.CA {
		k := string(c.Cert.RawSubject)
		idx.bySubj[k] = append(idx.bySubj[k], c)
	} else {
		idx.byKID[c.KID] = append(idx.byKID[c.KID], c)
	}
}

func parseCRL(der []byte, ca *Cert) (*CRL, error) {
	rl, err := smx509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("%w: CRL: %v", ErrParse, err)
	}
	out := &CRL{CA: ca, DER: der, Number: rl.Number, ThisUpdate: rl.ThisUpdate, NextUpdate: rl.NextUpdate,
		revoked: make(map[string]struct{}, len(rl.RevokedCertificateEntries))}
	for _, e := range rl.RevokedCertificateEntries {
		out.revoked[string(e.SerialNumber.Bytes())] = struct{}{}
	}
	return out, nil
}

// Signers returns the stored signer certificates whose kid is kid (normally
// one; a 64-bit kid can collide).
func (s *Store) Signers(kid []byte) []*Cert {
	if len(kid) != credential.KIDSize {
		return nil
	}
	return s.snapshot().byKID[[credential.KIDSize]byte(kid)]
}

// Chains returns every path from the signer c to an anchor.
func (s *Store) Chains(c *Cert) []Chain { return c.chains() }

// CRLOf returns the newest stored CRL issued by ca, or nil.
func (s *Store) CRLOf(ca *Cert) *CRL { return s.snapshot().crls[ca.Hash] }

// Revoked reports whether any certificate of the chain below the anchor is
// listed on the newest stored CRL of its issuer.
func (s *Store) Revoked(ch Chain) bool { return s.snapshot().revoked(ch) }

func (idx *index) revoked(ch Chain) bool {
	for i := 0; i+1 < len(ch); i++ {
		if idx.crls[ch[i+1].Hash].Revokes(ch[i].Cert.SerialNumber) {
			return true
		}
	}
	return false
}

// List returns the header of the status list stored for (ca, issuer).
func (s *Store) List(ca *Cert, issuer string) (*ListInfo, bool) {
	l, ok := s.snapshot().lists[listKey{ca.Hash, issuer}]
	return l, ok
}

// LicenceStatus looks idHash up in the list stored for (ca, issuer). found is
// false when the list holds no entry for it. Entries whose since is after at
// are ignored (an entry takes effect at since).
func (s *Store) LicenceStatus(ctx context.Context, ca *Cert, issuer string, idHash [credential.IDHashSize]byte, at time.Time) (e credential.StatusEntry, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return e, false, err
	}
	key := listKey{ca.Hash, issuer}.bytes()
	err = s.db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(storage.BucketStatusEntries)
		if root == nil {
			return nil
		}
		b := root.Bucket(key)
		if b == nil {
			return nil
		}
		v := b.Get(idHash[:])
		if v == nil {
			return nil
		}
		if len(v) != 9 {
			return fmt.Errorf("%w: status entry of %d bytes", storage.ErrDamaged, len(v))
		}
		e = credential.StatusEntry{IDHash: idHash, Status: credential.Status(v[0]), Since: int64(binary.BigEndian.Uint64(v[1:]))}
		found = !time.Unix(e.Since, 0).After(at)
		return nil
	})
	if err != nil {
		return credential.StatusEntry{}, false, fmt.Errorf("trust: status lookup: %w", err)
	}
	return e, found, nil
}

func encodeEntry(e credential.StatusEntry) []byte {
	v := make([]byte, 9)
	v[0] = byte(e.Status)
	binary.BigEndian.PutUint64(v[1:], uint64(e.Since))
	return v
}
