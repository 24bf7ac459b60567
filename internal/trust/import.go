package trust

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// PEM block types of a trust bundle.
const (
	BlockCertificate = "CERTIFICATE"
	BlockCRL         = "X509 CRL"
	BlockStatusList  = "RTC STATUS LIST"
)

// Outcome of one block.
type Outcome uint8

// Outcomes.
const (
	Skipped   Outcome = iota // refused; Err says why
	Stored                   // new material stored
	Unchanged                // byte-identical to what is stored: nothing to do
)

// String is "stored", "unchanged" or "skipped".
func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Unchanged:
		return "unchanged"
	}
	return "skipped"
}

// BlockResult is what became of one block of a bundle or anchor file.
type BlockResult struct {
	Block   Block
	Label   string // what the block is: a subject CN, "CRL of …", "status list 440300 #3"
	Outcome Outcome
	Err     error // set when Outcome is Skipped
}

// Report lists the blocks of one import in file order.
type Report struct {
	Blocks []BlockResult
}

// Count returns how many blocks had outcome o.
func (r *Report) Count(o Outcome) int {
	n := 0
	for _, b := range r.Blocks {
		if b.Outcome == o {
			n++
		}
	}
	return n
}

// AddAnchors stores every CERTIFICATE block of pemData that is a valid
// self-signed SM2 CA certificate as a trust anchor. Each block is reported;
// valid ones are stored in one transaction even when others are refused. It
// returns ErrNoAnchors when the input holds no CERTIFICATE block at all.
//
// WARNING: anchors are trusted absolutely. Call this only on an explicit
// local action of an administrator, never with data received over a network.
func (s *Store) AddAnchors(ctx context.Context, pemData []byte) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	blocks := SplitPEM(pemData)
	rep := &Report{}
	idx := s.snapshot().clone()
	var add []*Cert
	for _, b := range blocks {
		r := BlockResult{Block: b}
		switch {
		case b.Err != nil:
			r.Err = b.Err
		case b.Type != BlockCertificate:
			r.Err = fmt.Errorf("%w: %q in an anchor file", ErrUnknownBlockType, b.Type)
		default:
			c, err := parseAnchor(b.Bytes)
			if err != nil {
				r.Err = err
				break
			}
			r.Label = c.Label()
			if _, ok := idx.certs[c.Hash]; ok {
				r.Outcome = Unchanged
				break
			}
			idx.add(c)
			add = append(add, c)
			r.Outcome = Stored
		}
		rep.Blocks = append(rep.Blocks, r)
	}
	if !slices.ContainsFunc(blocks, func(b Block) bool { return b.Type == BlockCertificate }) {
		return rep, ErrNoAnchors
	}
	if len(add) == 0 {
		return rep, nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketAnchors)
		for _, c := range add {
			if err := b.Put(c.Hash[:], c.Cert.Raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("trust: store anchors: %w", err)
	}
	return rep, s.reload()
}

func parseAnchor(der []byte) (*Cert, error) {
	c, err := parseCert(der)
	if err != nil {
		return nil, err
	}
	c.Anchor = true
	if !bytes.Equal(c.Cert.RawIssuer, c.Cert.RawSubject) || c.Cert.CheckSignature(c.Cert.SignatureAlgorithm, c.Cert.RawTBSCertificate, c.Cert.Signature) != nil {
		return nil, ErrNotSelfSigned
	}
	if !c.CA {
		return nil, ErrNotCA
	}
	if err := c.checkRole(); err != nil {
		return nil, err
	}
	return c, nil
}

func (idx *index) clone() *index {
	n := &index{
		certs:   maps.Clone(idx.certs),
		anchors: slices.Clone(idx.anchors),
		bySubj:  make(map[string][]*Cert, len(idx.bySubj)),
		byKID:   make(map[[credential.KIDSize]byte][]*Cert, len(idx.byKID)),
		crls:    maps.Clone(idx.crls),
		lists:   maps.Clone(idx.lists),
	}
	for k, v := range idx.bySubj {
		n.bySubj[k] = slices.Clone(v)
	}
	for k, v := range idx.byKID {
		n.byKID[k] = slices.Clone(v)
	}
	return n
}

// parsedList is a status-list block that parsed, waiting for its turn.
type parsedList struct {
	res  *BlockResult
	sig  *credential.Sign1
	list *credential.StatusList
}

// Import checks every block of a trust bundle against the anchors and the
// material already stored, and stores the valid ones in one transaction.
// Certificates are processed first (parents before children, whatever the
// block order), then CRLs, then status lists per issuer in ascending
// sequence, so a delta may follow its full list in any order. Blocks that do
// not verify are reported as Skipped with the reason and do not stop the
// others. A byte-identical block already stored is Unchanged.
//
// Import returns an error only when nothing could be stored (a database
// failure); the Report is then nil.
//
// Import is idempotent: importing the same bundle twice stores nothing new.
func (s *Store) Import(ctx context.Context, bundle []byte) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	blocks := SplitPEM(bundle)
	rep := &Report{Blocks: make([]BlockResult, len(blocks))}
	idx := s.snapshot().clone()
	w := &writes{entries: map[listKey]*listWrite{}}

	var certs, crls []int
	var lists []parsedList
	for i, b := range blocks {
		rep.Blocks[i] = BlockResult{Block: b}
		r := &rep.Blocks[i]
		if b.Err != nil {
			r.Err = b.Err
			continue
		}
		switch b.Type {
		case BlockCertificate:
			certs = append(certs, i)
		case BlockCRL:
			crls = append(crls, i)
		case BlockStatusList:
			sig, l, err := credential.ParseStatusList(b.Bytes)
			if err != nil {
				r.Err = fmt.Errorf("%w: %v", ErrStatusList, err)
				continue
			}
			r.Label = fmt.Sprintf("status list %s #%d", l.Issuer, l.Sequence)
			lists = append(lists, parsedList{res: r, sig: sig, list: l})
		default:
			r.Err = fmt.Errorf("%w: %q", ErrUnknownBlockType, b.Type)
		}
	}
	s.importCerts(idx, w, rep, certs)
	for _, i := range crls {
		importCRL(idx, w, &rep.Blocks[i])
	}
	slices.SortStableFunc(lists, func(a, b parsedList) int {
		if c := cmpString(a.list.Issuer, b.list.Issuer); c != 0 {
			return c
		}
		return cmpUint(a.list.Sequence, b.list.Sequence)
	})
	for _, pl := range lists {
		importList(idx, w, pl)
	}
	if w.empty() {
		return rep, nil
	}
	if err := s.db.Update(w.apply); err != nil {
		// Nothing was stored: the index stays as it was.
		return nil, fmt.Errorf("trust: store bundle: %w", err)
	}
	s.mu.Lock()
	s.idx = idx
	s.mu.Unlock()
	return rep, nil
}

func cmpString(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// importCerts accepts certificates whose issuer is known, repeating until no
// more can be accepted, so block order does not matter.
func (s *Store) importCerts(idx *index, w *writes, rep *Report, pending []int) {
	parsed := map[int]*Cert{}
	for _, i := range pending {
		r := &rep.Blocks[i]
		c, err := parseCert(r.Block.Bytes)
		if err != nil {
			r.Err = err
			continue
		}
		r.Label = c.Label()
		if _, ok := idx.certs[c.Hash]; ok {
			r.Outcome = Unchanged
			continue
		}
		if bytes.Equal(c.Cert.RawIssuer, c.Cert.RawSubject) && c.Cert.CheckSignatureFrom(c.Cert) == nil {
			r.Err = ErrAnchorInBundle
			continue
		}
		if err := c.checkRole(); err != nil {
			r.Err = err
			continue
		}
		parsed[i] = c
	}
	for progress := true; progress && len(parsed) > 0; {
		progress = false
		// CAs first within each pass, in block order, for stable reports.
		order := slices.Sorted(maps.Keys(parsed))
		slices.SortStableFunc(order, func(a, b int) int {
			return boolRank(parsed[b].CA) - boolRank(parsed[a].CA)
		})
		for _, i := range order {
			c := parsed[i]
			r := &rep.Blocks[i]
			var lastErr error = ErrUnknownIssuer
			for _, p := range idx.bySubj[string(c.Cert.RawIssuer)] {
				if err := c.issuedBy(p); err != nil {
					lastErr = err
					continue
				}
				c.Parents = append(c.Parents, p)
			}
			if len(c.Parents) == 0 {
				r.Err = fmt.Errorf("%w (issuer %s)", lastErr, c.Issuer())
				continue
			}
			r.Err = nil
			r.Outcome = Stored
			idx.add(c)
			w.certs = append(w.certs, c)
			delete(parsed, i)
			progress = true
		}
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func importCRL(idx *index, w *writes, r *BlockResult) {
	rl, err := smx509.ParseRevocationList(r.Block.Bytes)
	if err != nil {
		r.Err = fmt.Errorf("%w: CRL: %v", ErrParse, err)
		return
	}
	r.Label = "CRL of " + rl.Issuer.String()
	if rl.SignatureAlgorithm != smx509.SM2WithSM3 {
		r.Err = fmt.Errorf("%w: CRL signature algorithm %v", ErrNotSM2, rl.SignatureAlgorithm)
		return
	}
	var ca *Cert
	lastErr := ErrUnknownIssuer
	for _, c := range idx.bySubj[string(rl.RawIssuer)] {
		if err := rl.CheckSignatureFrom(c.Cert); err != nil {
			lastErr = fmt.Errorf("%w: %v", ErrBadSignature, err)
			continue
		}
		ca = c
		break
	}
	if ca == nil {
		r.Err = lastErr
		return
	}
	r.Label = "CRL of " + ca.Label()
	crl, err := parseCRL(r.Block.Bytes, ca)
	if err != nil {
		r.Err = err
		return
	}
	if old := idx.crls[ca.Hash]; old != nil {
		if bytes.Equal(old.DER, crl.DER) {
			r.Outcome = Unchanged
			return
		}
		if !newerCRL(crl, old) {
			r.Err = ErrNotNewer
			return
		}
	}
	idx.crls[ca.Hash] = crl
	w.crls = append(w.crls, crl)
	r.Outcome = Stored
}

// newerCRL: a higher CRL number wins; with equal (or missing) numbers, a
// later thisUpdate.
func newerCRL(n, old *CRL) bool {
	if n.Number != nil && old.Number != nil {
		if c := n.Number.Cmp(old.Number); c != 0 {
			return c > 0
		}
	}
	return n.ThisUpdate.After(old.ThisUpdate)
}

func importList(idx *index, w *writes, pl parsedList) {
	r, l := pl.res, pl.list
	if !pl.sig.AlgOK {
		r.Err = fmt.Errorf("%w: alg %v", ErrStatusList, pl.sig.Alg)
		return
	}
	at := time.Unix(l.ThisUpdate, 0)
	var ca *Cert
	lastErr := fmt.Errorf("%w: kid %x", ErrUnknownIssuer, pl.sig.KID)
	for _, signer := range idx.byKID[[credential.KIDSize]byte(pl.sig.KID)] {
		ch, err := idx.usableChain(signer, at)
		if err != nil {
			lastErr = err
			continue
		}
		ok, err := signer.Pub.Verify(pl.sig.SigStructure(), pl.sig.Signature)
		if err != nil || !ok {
			lastErr = ErrBadSignature
			continue
		}
		if !Covers(ch.IssuingCA().Prefix, l.Issuer) {
			lastErr = fmt.Errorf("%w: list for %s signed under %s", ErrJurisdiction, l.Issuer, ch.IssuingCA().Prefix)
			continue
		}
		ca = ch.IssuingCA()
		break
	}
	if ca == nil {
		r.Err = lastErr
		return
	}
	key := listKey{ca.Hash, l.Issuer}
	cur := idx.lists[key]
	switch {
	case cur != nil && cur.appliedBefore(HashOf(pl.res.Block.Bytes)):
		r.Outcome = Unchanged
		return
	case cur != nil && l.Sequence <= cur.Sequence:
		r.Err = fmt.Errorf("%w: %d, stored %d", ErrRollback, l.Sequence, cur.Sequence)
		return
	case !l.Full() && (cur == nil || cur.Sequence != l.Base):
		stored := "none"
		if cur != nil {
			stored = fmt.Sprint(cur.Sequence)
		}
		r.Err = fmt.Errorf("%w: base %d, stored %s", ErrDeltaBase, l.Base, stored)
		return
	}
	lw := w.list(key, l.Full())
	for _, e := range l.Entries {
		lw.changes[e.IDHash] = e
	}
	digest := HashOf(pl.res.Block.Bytes)
	var applied [][]byte
	if !l.Full() && cur != nil {
		applied = append(slices.Clone(cur.applied), slices.Clone(cur.Digest[:]))
		if len(applied) > maxApplied {
			applied = applied[len(applied)-maxApplied:]
		}
	}
	lw.header = &listRecord{Sequence: l.Sequence, ThisUpdate: l.ThisUpdate, NextUpdate: l.NextUpdate, Digest: digest[:], Applied: applied}
	lw.info = &ListInfo{CA: ca, Issuer: l.Issuer, Sequence: l.Sequence, ThisUpdate: at, NextUpdate: time.Unix(l.NextUpdate, 0), Digest: digest, applied: applied}
	idx.lists[key] = lw.info
	r.Outcome = Stored
}

// usableChain returns a chain of signer valid at t and not revoked, or why
// none is.
func (idx *index) usableChain(signer *Cert, t time.Time) (Chain, error) {
	err := ErrSignerInvalid
	for _, ch := range signer.chains() {
		if !ch.ValidAt(t) {
			continue
		}
		if idx.revoked(ch) {
			err = ErrSignerRevoked
			continue
		}
		return ch, nil
	}
	return nil, err
}

// writes collects what one Import stores, applied in one transaction.
type writes struct {
	certs   []*Cert
	crls    []*CRL
	entries map[listKey]*listWrite
	order   []listKey
}

type listWrite struct {
	replace bool // a full list: drop what is stored first
	header  *listRecord
	// changes since the stored state: idHash → entry (status 0 deletes).
	changes map[[credential.IDHashSize]byte]credential.StatusEntry
	// info is the index entry, whose Entries apply fills in.
	info *ListInfo
}

func (w *writes) empty() bool { return len(w.certs) == 0 && len(w.crls) == 0 && len(w.entries) == 0 }

func (w *writes) list(k listKey, full bool) *listWrite {
	lw := w.entries[k]
	if lw == nil {
		lw = &listWrite{changes: map[[credential.IDHashSize]byte]credential.StatusEntry{}}
		w.entries[k] = lw
		w.order = append(w.order, k)
	}
	if full {
		lw.replace = true
		clear(lw.changes)
	}
	return lw
}

func (w *writes) apply(tx *bolt.Tx) error {
	certs := tx.Bucket(storage.BucketCerts)
	for _, c := range w.certs {
		rec := certRecord{DER: c.Cert.Raw}
		for _, p := range c.Parents {
			rec.Parents = append(rec.Parents, slices.Clone(p.Hash[:]))
		}
		v, err := cbor.Marshal(rec)
		if err != nil {
			return err
		}
		if err := certs.Put(c.Hash[:], v); err != nil {
			return err
		}
	}
	crls := tx.Bucket(storage.BucketCRLs)
	for _, c := range w.crls {
		if err := crls.Put(c.CA.Hash[:], c.DER); err != nil {
			return err
		}
	}
	meta := tx.Bucket(storage.BucketStatusMeta)
	root := tx.Bucket(storage.BucketStatusEntries)
	for _, k := range w.order {
		lw := w.entries[k]
		kb := k.bytes()
		if lw.replace {
			if err := root.DeleteBucket(kb); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
		}
		b, err := root.CreateBucketIfNotExists(kb)
		if err != nil {
			return err
		}
		b.FillPercent = 0.9
		n := 0
		if !lw.replace {
			if v := meta.Get(kb); v != nil {
				var prev listRecord
				if err := cbor.Unmarshal(v, &prev); err != nil {
					return fmt.Errorf("%w: status list record: %v", storage.ErrDamaged, err)
				}
				n = prev.Entries
			}
		}
		for _, h := range sortedHashes(lw.changes) {
			e := lw.changes[h]
			exists := b.Get(h[:]) != nil
			if e.Status == credential.StatusActive {
				if exists {
					if err := b.Delete(h[:]); err != nil {
						return err
					}
					n--
				}
				continue
			}
			if !exists {
				n++
			}
			if err := b.Put(h[:], encodeEntry(e)); err != nil {
				return err
			}
		}
		lw.header.Entries = n
		lw.info.Entries = n
		v, err := cbor.Marshal(lw.header)
		if err != nil {
			return err
		}
		if err := meta.Put(kb, v); err != nil {
			return err
		}
	}
	return nil
}

func sortedHashes(m map[[credential.IDHashSize]byte]credential.StatusEntry) [][credential.IDHashSize]byte {
	out := slices.Collect(maps.Keys(m))
	slices.SortFunc(out, func(a, b [credential.IDHashSize]byte) int { return bytes.Compare(a[:], b[:]) })
	return out
}
