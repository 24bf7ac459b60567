package trust

import (
	"bytes"
	"context"
	"encoding/binary"
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
const metaVersion = 2

// The metadata blob is metaMagic, the index's length (4 bytes, big
// endian), the index (CBOR metaFile), then the region of certificate and
// CRL DER bytes that the index points into. A verifying process reads (and
// the status files verify) the index and only the DER it parses: a few
// hundred kilobytes instead of every certificate.
const (
	metaMagic  = "RTCMETA2"
	metaHeader = len(metaMagic) + 4
)

// metaReader reads n bytes of the blob at off (verified by the status
// files when it comes from a view).
type metaReader func(off, n int64) ([]byte, error)

func bytesReader(b []byte) metaReader {
	return func(off, n int64) ([]byte, error) {
		if off < 0 || n < 0 || off+n > int64(len(b)) {
			return nil, fmt.Errorf("%w: trust metadata: read %d+%d of %d bytes", ErrDamaged, off, n, len(b))
		}
		return b[off : off+n], nil
	}
}

// metaIndexBytes is the index part of a blob (nil when it has none): equal
// index bytes mean equal metadata, since the index names every
// certificate by hash and every CRL by digest.
func metaIndexBytes(b []byte) []byte {
	if len(b) < metaHeader || string(b[:len(metaMagic)]) != metaMagic {
		return nil
	}
	n := int(binary.BigEndian.Uint32(b[len(metaMagic):]))
	if metaHeader+n > len(b) {
		return nil
	}
	return b[metaHeader : metaHeader+n]
}

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
	Off     int64    `cbor:"1,keyasint"` // DER in the region, from its start
	Len     int64    `cbor:"8,keyasint"`
	Hash    []byte   `cbor:"2,keyasint"`
	Parents [][]byte `cbor:"3,keyasint,omitempty"`
	Anchor  bool     `cbor:"4,keyasint,omitempty"`
	CA      bool     `cbor:"5,keyasint,omitempty"`
	KID     []byte   `cbor:"6,keyasint,omitempty"` // signers only
}

type metaCRLRec struct {
	CA     []byte `cbor:"1,keyasint"`
	Off    int64  `cbor:"2,keyasint"`
	Len    int64  `cbor:"3,keyasint"`
	Digest []byte `cbor:"4,keyasint"` // SM3 of the DER
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
	crls  map[Hash]metaSpan
	lists map[listKey]*ListInfo
	raw   []byte     // the index bytes
	read  metaReader // reads the blob
	base  int64      // where the DER region starts
	size  int64      // the blob's length
}

// metaSpan is a DER in the region.
type metaSpan struct{ off, n int64 }

type metaCert struct {
	span    metaSpan
	Parents []Hash
	Anchor  bool
}

func emptyMeta() *metaIndex {
	return &metaIndex{certs: map[Hash]*metaCert{}, byKID: map[[credential.KIDSize]byte][]Hash{},
		crls: map[Hash]metaSpan{}, lists: map[listKey]*ListInfo{}}
}

// der reads the DER at sp.
func (m *metaIndex) der(sp metaSpan) ([]byte, error) {
	if m.read == nil {
		return nil, fmt.Errorf("%w: trust metadata: no region", ErrDamaged)
	}
	b, err := m.read(m.base+sp.off, sp.n)
	if err != nil {
		return nil, fmt.Errorf("%w: trust metadata: %v", ErrDamaged, filesErr(err))
	}
	return bytes.Clone(b), nil
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

// decodeMeta decodes the index of a metadata blob of size bytes read
// through read; an empty blob is an empty store. The blob's integrity is the
// status files' business (they verify every block read); here only its
// structure is checked.
func decodeMeta(read metaReader, size int64) (*metaIndex, error) {
	m := emptyMeta()
	if size == 0 {
		return m, nil
	}
	if size < int64(metaHeader) {
		return nil, fmt.Errorf("%w: trust metadata of %d bytes", ErrDamaged, size)
	}
	hdr, err := read(0, int64(metaHeader))
	if err != nil {
		return nil, fmt.Errorf("%w: trust metadata: %v", ErrDamaged, filesErr(err))
	}
	if string(hdr[:len(metaMagic)]) != metaMagic {
		return nil, fmt.Errorf("%w: trust metadata is not version %d (this program knows only it)", ErrDamaged, metaVersion)
	}
	n := int64(binary.BigEndian.Uint32(hdr[len(metaMagic):]))
	if int64(metaHeader)+n > size {
		return nil, fmt.Errorf("%w: trust metadata index of %d bytes in a blob of %d", ErrDamaged, n, size)
	}
	raw, err := read(int64(metaHeader), n)
	if err != nil {
		return nil, fmt.Errorf("%w: trust metadata: %v", ErrDamaged, filesErr(err))
	}
	m.raw, m.read, m.base, m.size = bytes.Clone(raw), read, int64(metaHeader)+n, size
	region := size - m.base
	span := func(off, l int64) (metaSpan, bool) {
		return metaSpan{off, l}, off >= 0 && l > 0 && off+l <= region
	}
	var f metaFile
	if err := metaDec.Unmarshal(m.raw, &f); err != nil {
		return nil, fmt.Errorf("%w: trust metadata: %v", ErrDamaged, err)
	}
	if f.Version != metaVersion {
		return nil, fmt.Errorf("%w: trust metadata version %d (this program knows %d)", ErrDamaged, f.Version, metaVersion)
	}
	for i := range f.Certs {
		r := &f.Certs[i]
		h, ok := hashOf(r.Hash)
		sp, sok := span(r.Off, r.Len)
		if !ok || !sok {
			return nil, fmt.Errorf("%w: trust metadata: certificate %d", ErrDamaged, i)
		}
		mc := &metaCert{span: sp, Anchor: r.Anchor}
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
		sp, sok := span(r.Off, r.Len)
		if !ok || !sok || m.certs[ca] == nil {
			return nil, fmt.Errorf("%w: trust metadata: CRL %d of an unknown CA", ErrDamaged, i)
		}
		m.crls[ca] = sp
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
	var region []byte
	put := func(der []byte) (int64, int64) {
		off := int64(len(region))
		region = append(region, der...)
		return off, int64(len(der))
	}
	done := map[Hash]bool{}
	var visit func(c *Cert)
	visit = func(c *Cert) {
		if done[c.Hash] {
			return
		}
		done[c.Hash] = true
		off, n := put(c.Cert.Raw)
		rec := metaCertRec{Off: off, Len: n, Hash: slices.Clone(c.Hash[:]), Anchor: c.Anchor, CA: c.CA}
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
		off, n := put(idx.crls[h].DER)
		d := HashOf(idx.crls[h].DER)
		f.CRLs = append(f.CRLs, metaCRLRec{CA: slices.Clone(h[:]), Off: off, Len: n, Digest: d[:]})
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
	ib, err := cbor.Marshal(f)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, metaHeader+len(ib)+len(region))
	out = append(out, metaMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(ib)))
	out = append(out, ib...)
	return append(out, region...), nil
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
	if err == nil && st.meta.raw != nil && bytes.Equal(st.meta.raw, metaIndexBytes(written)) {
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
	if cur != nil && cur.meta.raw != nil && bytes.Equal(cur.meta.raw, metaIndexBytes(meta)) {
		idx, err := cur.index()
		if err != nil {
			return nil, err
		}
		return idx.clone(), nil
	}
	m, err := decodeMeta(bytesReader(meta), int64(len(meta)))
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
