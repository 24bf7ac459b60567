package trust

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust/statusfile"
)

// metaVersion is the version of the metadata blob kept with every
// generation of the trust files.
const metaVersion = 1

// metaFile is the metadata blob (CBOR): every anchor and certificate with
// what the verification path needs without parsing it, every CA's newest
// CRL, and the header of every status list. Certificates come parents
// first.
type metaFile struct {
	Version int           `cbor:"1,keyasint"`
	Certs   []metaCertRec `cbor:"2,keyasint,omitempty"`
	CRLs    []metaCRLRec  `cbor:"3,keyasint,omitempty"`
	Lists   []metaListRec `cbor:"4,keyasint,omitempty"`
}

type metaCertRec struct {
	DER     []byte   `cbor:"1,keyasint"`
	Hash    []byte   `cbor:"2,keyasint"`
	Parents [][]byte `cbor:"3,keyasint,omitempty"`
	Anchor  bool     `cbor:"4,keyasint,omitempty"`
	CA      bool     `cbor:"5,keyasint,omitempty"`
	KID     []byte   `cbor:"6,keyasint,omitempty"` // signers only
}

type metaCRLRec struct {
	CA  []byte `cbor:"1,keyasint"`
	DER []byte `cbor:"2,keyasint"`
}

type metaListRec struct {
	CA         []byte `cbor:"1,keyasint"`
	Issuer     string `cbor:"2,keyasint"`
	Sequence   uint64 `cbor:"3,keyasint"`
	ThisUpdate int64  `cbor:"4,keyasint"`
	NextUpdate int64  `cbor:"5,keyasint"`
	Digest     []byte `cbor:"6,keyasint"`
	// Applied are the SM3 digests of the full list and every delta applied
	// on top of it before the last one (at most maxApplied, newest last):
	// re-importing any of them is "unchanged", not a rollback.
	Applied [][]byte `cbor:"7,keyasint,omitempty"`
	// Damaged: the entry file was found damaged and dropped; Sequence
	// stays as the floor a replacing full list must reach.
	Damaged      bool   `cbor:"8,keyasint,omitempty"`
	Floor        uint64 `cbor:"9,keyasint,omitempty"`
	FullSequence uint64 `cbor:"10,keyasint,omitempty"`
}

// metaIndex is a decoded metadata blob, indexed for the verification path.
type metaIndex struct {
	order []Hash // parents before children
	certs map[Hash]*metaCert
	byKID map[[credential.KIDSize]byte][]Hash
	crls  map[Hash][]byte
	lists map[listKey]*ListInfo
}

type metaCert struct {
	DER     []byte
	Parents []Hash
	Anchor  bool
}

func emptyMeta() *metaIndex {
	return &metaIndex{certs: map[Hash]*metaCert{}, byKID: map[[credential.KIDSize]byte][]Hash{},
		crls: map[Hash][]byte{}, lists: map[listKey]*ListInfo{}}
}

var metaDec = func() cbor.DecMode {
	m, err := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, IndefLength: cbor.IndefLengthForbidden, MaxArrayElements: 1 << 24}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

func hashOf(b []byte) (Hash, bool) {
	if len(b) != len(Hash{}) {
		return Hash{}, false
	}
	return Hash(b), true
}

// decodeMeta decodes a metadata blob; an empty blob is an empty store.
// The blob's integrity is the status files' business (its SM3 digest is in
// their manifest); here only its structure is checked.
func decodeMeta(b []byte) (*metaIndex, error) {
	m := emptyMeta()
	if len(b) == 0 {
		return m, nil
	}
	var f metaFile
	if err := metaDec.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: trust metadata: %v", ErrDamaged, err)
	}
	if f.Version != metaVersion {
		return nil, fmt.Errorf("%w: trust metadata version %d (this program knows %d)", ErrDamaged, f.Version, metaVersion)
	}
	for i := range f.Certs {
		r := &f.Certs[i]
		h, ok := hashOf(r.Hash)
		if !ok || len(r.DER) == 0 {
			return nil, fmt.Errorf("%w: trust metadata: certificate %d", ErrDamaged, i)
		}
		mc := &metaCert{DER: r.DER, Anchor: r.Anchor}
		for _, p := range r.Parents {
			ph, ok := hashOf(p)
			if !ok || m.certs[ph] == nil {
				return nil, fmt.Errorf("%w: trust metadata: certificate %s names a missing parent", ErrDamaged, h)
			}
			mc.Parents = append(mc.Parents, ph)
		}
		if !r.Anchor && len(mc.Parents) == 0 {
			return nil, fmt.Errorf("%w: trust metadata: certificate %s has no parent", ErrDamaged, h)
		}
		m.certs[h] = mc
		m.order = append(m.order, h)
		if !r.CA {
			if len(r.KID) != credential.KIDSize {
				return nil, fmt.Errorf("%w: trust metadata: signer %s without kid", ErrDamaged, h)
			}
			k := [credential.KIDSize]byte(r.KID)
			m.byKID[k] = append(m.byKID[k], h)
		}
	}
	for i, r := range f.CRLs {
		ca, ok := hashOf(r.CA)
		if !ok || m.certs[ca] == nil {
			return nil, fmt.Errorf("%w: trust metadata: CRL %d of an unknown CA", ErrDamaged, i)
		}
		m.crls[ca] = r.DER
	}
	for i, r := range f.Lists {
		ca, ok := hashOf(r.CA) // the CA's identity, not a certificate hash
		d, dok := hashOf(r.Digest)
		if !ok || !dok {
			return nil, fmt.Errorf("%w: trust metadata: status list %d", ErrDamaged, i)
		}
		m.lists[listKey{ca, r.Issuer}] = &ListInfo{Issuer: r.Issuer, Sequence: r.Sequence,
			ThisUpdate: time.Unix(r.ThisUpdate, 0), NextUpdate: time.Unix(r.NextUpdate, 0), Digest: d, Damaged: r.Damaged, Floor: r.Floor, FullSequence: r.FullSequence, applied: r.Applied}
	}
	return m, nil
}

// encodeMeta writes idx as a metadata blob.
func encodeMeta(idx *index) ([]byte, error) {
	f := metaFile{Version: metaVersion}
	done := map[Hash]bool{}
	var visit func(c *Cert)
	visit = func(c *Cert) {
		if done[c.Hash] {
			return
		}
		done[c.Hash] = true
		rec := metaCertRec{DER: c.Cert.Raw, Hash: slices.Clone(c.Hash[:]), Anchor: c.Anchor, CA: c.CA}
		for _, p := range c.Parents {
			visit(p)
			rec.Parents = append(rec.Parents, slices.Clone(p.Hash[:]))
		}
		if !c.CA {
			rec.KID = slices.Clone(c.KID[:])
		}
		f.Certs = append(f.Certs, rec)
	}
	keys := make([]Hash, 0, len(idx.certs))
	for h := range idx.certs {
		keys = append(keys, h)
	}
	slices.SortFunc(keys, func(a, b Hash) int { return cmpString(string(a[:]), string(b[:])) })
	for _, h := range keys {
		visit(idx.certs[h])
	}
	cas := make([]Hash, 0, len(idx.crls))
	for h := range idx.crls {
		cas = append(cas, h)
	}
	slices.SortFunc(cas, func(a, b Hash) int { return cmpString(string(a[:]), string(b[:])) })
	for _, h := range cas {
		f.CRLs = append(f.CRLs, metaCRLRec{CA: slices.Clone(h[:]), DER: idx.crls[h].DER})
	}
	lk := make([]listKey, 0, len(idx.lists))
	for k := range idx.lists {
		lk = append(lk, k)
	}
	slices.SortFunc(lk, func(a, b listKey) int {
		if c := cmpString(string(a.ca[:]), string(b.ca[:])); c != 0 {
			return c
		}
		return cmpString(a.issuer, b.issuer)
	})
	for _, k := range lk {
		l := idx.lists[k]
		f.Lists = append(f.Lists, metaListRec{CA: slices.Clone(k.ca[:]), Issuer: k.issuer, Sequence: l.Sequence,
			ThisUpdate: l.ThisUpdate.Unix(), NextUpdate: l.NextUpdate.Unix(), Digest: slices.Clone(l.Digest[:]), Applied: l.applied, Damaged: l.Damaged, Floor: l.Floor, FullSequence: l.FullSequence})
	}
	return cbor.Marshal(f)
}

// errNoChange ends an update that has nothing to store.
var errNoChange = errors.New("trust: nothing to store")

// update runs fn on the full index of the newest committed generation,
// under the writer lock of the trust files (one writer across processes),
// and commits what fn wrote through tx together with the index fn leaves,
// atomically. fn reports whether it changed anything; when it did not,
// nothing is committed. After a commit the store serves the new generation.
func (s *Store) update(ctx context.Context, fn func(idx *index, tx *statusfile.Tx) (bool, error)) error {
	if s.readOnly {
		return storage.ErrReadOnly
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var written []byte
	var result *index
	err := s.files.Update(ctx, func(tx *statusfile.Tx) error {
		idx, err := s.indexFor(tx.Meta())
		if err != nil {
			return err
		}
		changed, err := fn(idx, tx)
		if err != nil {
			return err
		}
		if !changed {
			return errNoChange
		}
		b, err := encodeMeta(idx)
		if err != nil {
			return err
		}
		tx.SetMeta(b)
		written, result = b, idx
		return nil
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := s.load(ctx)
	if err == nil && st.view != nil && bytes.Equal(st.view.Meta(), written) {
		// The generation just committed is the index fn left: keep it
		// instead of parsing every certificate again.
		st.fullOnce.Do(func() { st.full = result })
	}
	s.compactInBackground()
	return err
}

// indexFor returns a private full index of the generation whose metadata
// is meta: a clone of the loaded generation's when it is that one (so a
// long-running process parses its certificates once), else built afresh.
func (s *Store) indexFor(meta []byte) (*index, error) {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur != nil && cur.view != nil && bytes.Equal(cur.view.Meta(), meta) {
		idx, err := cur.index()
		if err != nil {
			return nil, err
		}
		return idx.clone(), nil
	}
	m, err := decodeMeta(meta)
	if err != nil {
		return nil, err
	}
	st := &state{meta: m, parsed: map[Hash]*Cert{}, crlOf: map[Hash]*CRL{}, crlErr: map[Hash]error{}}
	return st.index()
}

// fileEntries adapts status-list entries to the status files.
func fileEntries(es []credential.StatusEntry) []statusfile.Entry {
	out := make([]statusfile.Entry, len(es))
	for i, e := range es {
		out[i] = statusfile.Entry{IDHash: e.IDHash, Status: uint8(e.Status), Since: e.Since}
	}
	return out
}
