package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/trust/statusfile"
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
	// List is set for a status-list block that verified (Stored or
	// Unchanged): where it is stored and its sequence numbers.
	List *ListInfoRef
	// CRLOf is set for a CRL block that verified: the hash of its CA.
	CRLOf *Hash
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
	if !slices.ContainsFunc(blocks, func(b Block) bool { return b.Type == BlockCertificate }) {
		rep := &Report{}
		for _, b := range blocks {
			r := BlockResult{Block: b, Err: b.Err}
			if r.Err == nil {
				r.Err = fmt.Errorf("%w: %q in an anchor file", ErrUnknownBlockType, b.Type)
			}
			rep.Blocks = append(rep.Blocks, r)
		}
		return rep, ErrNoAnchors
	}
	var rep *Report
	err := s.update(ctx, func(idx *index, _ *statusfile.Tx) (bool, error) {
		rep = &Report{}
		added := false
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
				added = true
				r.Outcome = Stored
			}
			rep.Blocks = append(rep.Blocks, r)
		}
		return added, nil
	})
	if err != nil {
		return nil, fmt.Errorf("trust: store anchors: %w", err)
	}
	return rep, nil
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
	if err := c.checkProfile(); err != nil {
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
	// each, when set, streams the list's entries (list.Entries is then
	// nil): a large list is parsed twice rather than held in memory.
	each func(yield func(credential.StatusEntry) error) error
	// digest, when set, is HashOf(res.Block.Bytes), already computed.
	digest *Hash
	// sigOK, when set, holds the signature checked ahead against each
	// candidate signer (by a worker, while earlier lists were applied).
	sigOK map[*Cert]bool
}

// digestOf returns the SM3 of the list's bytes.
func (pl *parsedList) digestOf() Hash {
	if pl.digest != nil {
		return *pl.digest
	}
	return HashOf(pl.res.Block.Bytes)
}

// verify reports whether signer's key verifies the list's signature.
func (pl *parsedList) verify(signer *Cert) bool {
	if ok, done := pl.sigOK[signer]; done {
		return ok
	}
	ok, err := signer.Pub.Verify(pl.sig.SigStructure(), pl.sig.Signature)
	return err == nil && ok
}

// Import checks every block of a trust bundle against the anchors and the
// material already stored, and stores the valid ones in one transaction.
// Certificates are processed first (parents before children, whatever the
// block order), then CRLs, then status lists per issuer in ascending
// sequence, so a delta may follow its full list in any order. Blocks that do
// not verify are reported as Skipped with the reason and do not stop the
// others. A byte-identical block already stored is Unchanged.
//
// Certificates follow the RTC1 1.1 profile: SM2 keys and SM2-with-SM3
// signatures, no critical extension but basicConstraints and keyUsage
// (ErrCriticalExtension), CA certificates allowed by every
// pathLenConstraint above them (ErrPathLen). A CRL belongs to the CA whose
// key verifies it, needs cRLSign where that CA's certificates have a
// keyUsage (ErrCRLSign), and applies through every certificate of the CA
// (same Subject and key: Cert.Identity).
//
// Import returns an error only when nothing could be stored (a database
// failure); the Report is then nil.
//
// Import is idempotent: importing the same bundle twice stores nothing new.
func (s *Store) Import(ctx context.Context, bundle []byte) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.importBlocks(ctx, SplitPEM(bundle))
}

// importBlocks is Import on blocks already split.
func (s *Store) importBlocks(ctx context.Context, blocks []Block) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rep *Report
	var replaced []listKey
	err := s.update(ctx, func(idx *index, tx *statusfile.Tx) (bool, error) {
		rep = &Report{Blocks: make([]BlockResult, len(blocks))}
		w := &writes{tx: tx}
		s.importInto(idx, w, rep, blocks)
		replaced = w.replaced
		return w.changed, w.err
	})
	if err != nil {
		// Nothing was stored: the store stays as it was.
		return nil, fmt.Errorf("trust: store bundle: %w", err)
	}
	s.clearDamaged(replaced)
	return rep, nil
}

// importInto checks blocks against idx and records every change in idx
// (certificates, CRLs, list headers) and w (status-list entries).
func (s *Store) importInto(idx *index, w *writes, rep *Report, blocks []Block) {

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
		if w.err != nil {
			return
		}
		importList(idx, w, pl)
	}
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
		if err := c.checkProfile(); err != nil {
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
			c.Parents = nil
			for _, p := range idx.bySubj[string(c.Cert.RawIssuer)] {
				if err := c.issuedBy(p); err != nil {
					lastErr = err
					continue
				}
				c.Parents = append(c.Parents, p)
			}
			if len(c.Parents) > 0 {
				// Keep the parents through which a chain meets every
				// pathLenConstraint (clarification 11).
				if c.Parents = c.allowedParents(); len(c.Parents) == 0 {
					lastErr = ErrPathLen
				}
			}
			if len(c.Parents) == 0 {
				r.Err = fmt.Errorf("%w (issuer %s)", lastErr, c.Issuer())
				continue
			}
			r.Err = nil
			r.Outcome = Stored
			idx.add(c)
			if c.CA {
				idx.inheritCRL(c)
			}
			w.changed = true
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
	// The CRL belongs to the CA whose key verifies it (clarification 12);
	// every certificate of that CA must allow cRLSign where it has a
	// keyUsage (clarification 14).
	var ca *Cert
	lastErr := ErrUnknownIssuer
	for _, c := range idx.bySubj[string(rl.RawIssuer)] {
		// The signature alone (x509's CheckSignatureFrom would also judge
		// the keyUsage, which is reported below with its own error).
		if !c.Pub.VerifyDER(rl.RawTBSRevocationList, rl.Signature) {
			if ca == nil {
				lastErr = ErrBadSignature
			}
			continue
		}
		if c.Cert.KeyUsage != 0 && c.Cert.KeyUsage&x509.KeyUsageCRLSign == 0 {
			r.Err = fmt.Errorf("%w (%s)", ErrCRLSign, c.Label())
			return
		}
		if ca == nil {
			ca = c
		}
	}
	if ca == nil {
		r.Err = lastErr
		return
	}
	r.Label = "CRL of " + ca.Label()
	r.CRLOf = &ca.Hash
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
	idx.setCRL(ca, crl)
	w.changed = true
	r.Outcome = Stored
}

// sameCA returns the stored CA certificates that are certificates of ca's
// CA: same Subject, same public key (clarification 12).
func (idx *index) sameCA(ca *Cert) []*Cert {
	var out []*Cert
	for _, c := range idx.bySubj[string(ca.Cert.RawSubject)] {
		if c.Identity() == ca.Identity() {
			out = append(out, c)
		}
	}
	return out
}

// setCRL makes crl the newest CRL of ca's CA. The index keys CRLs by CA
// certificate, so the CRL is entered under every certificate of the CA:
// whichever of them a chain passes through finds it.
func (idx *index) setCRL(ca *Cert, crl *CRL) {
	for _, c := range idx.sameCA(ca) {
		idx.crls[c.Hash] = crl
	}
	idx.crls[ca.Hash] = crl
}

// inheritCRL gives a newly stored certificate of a CA the CA's newest CRL.
func (idx *index) inheritCRL(c *Cert) {
	for _, o := range idx.sameCA(c) {
		if crl := idx.crls[o.Hash]; crl != nil && o != c {
			idx.crls[c.Hash] = crl
			return
		}
	}
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
