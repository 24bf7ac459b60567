package trust

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/trust/statusfile"
)

// ListRef names a stored status list: the CA it is stored under (RTC1
// section 5: the CA that issued the list's signer) and the issuer code.
type ListRef struct {
	CA     Hash
	Issuer string
}

// String is hex(CA) + "/" + issuer, the list's name in the hub's manifest.
func (r ListRef) String() string { return r.CA.String() + "/" + r.Issuer }

// ListInfoRef says where a verified status-list block belongs and its
// sequence numbers (Base 0: a full list).
type ListInfoRef struct {
	Ref      ListRef
	Sequence uint64
	Base     uint64
}

// Holdings is what the store holds, for deciding what to fetch: every
// stored certificate (anchors included), the digest of each CA's stored
// CRL, and the state of each status list.
type Holdings struct {
	Certs map[Hash]bool
	CRLs  map[Hash]Hash // CA certificate hash → SM3 of its stored CRL's DER
	Lists map[ListRef]ListHolding
}

// ListHolding is the state of one stored status list.
type ListHolding struct {
	Sequence uint64
	Digest   Hash // SM3 of the COSE bytes of the last list applied
}

// Holdings returns what the store holds now.
func (s *Store) Holdings() Holdings {
	idx := s.snapshot()
	h := Holdings{Certs: map[Hash]bool{}, CRLs: map[Hash]Hash{}, Lists: map[ListRef]ListHolding{}}
	for k := range idx.certs {
		h.Certs[k] = true
	}
	for k, c := range idx.crls {
		h.CRLs[k] = HashOf(c.DER)
	}
	for k, l := range idx.lists {
		if l.Damaged || s.isDamaged(k) {
			continue // not held: fetch its full list again
		}
		h.Lists[ListRef{CA: k.ca, Issuer: k.issuer}] = ListHolding{Sequence: l.Sequence, Digest: l.Digest}
	}
	return h
}

// Object is one trust object received on its own (a CERTIFICATE's DER, an
// X509 CRL's DER or an RTC STATUS LIST's COSE bytes), loaded on demand so
// a large set need not be in memory at once.
type Object struct {
	Type   string // BlockCertificate, BlockCRL or BlockStatusList
	Digest Hash   // SM3 of the bytes, as announced
	Load   func() ([]byte, error)
	// Issuer and Sequence, for a status list, are what the sender says the
	// list is. They only order the import (when every list has them, each
	// list is loaded once instead of twice); the list's own signed payload
	// decides everything else.
	Issuer   string
	Sequence uint64
	// Size is the object's length in bytes as announced (0: unknown). It
	// only plans memory: an import whose status lists are all announced
	// and together small prepares lists ahead on the other cores.
	Size int64
}

// smallImport is the most announced status-list bytes an import prepares
// ahead in parallel (a daily delta of the national set is a few MiB). A
// larger import — a full national set — applies its lists one at a time
// on one core, leaving the others to recording and verifying checks.
const smallImport = 64 << 20

// listPrep is the part of importing one status list that depends on
// nothing stored: its bytes loaded and checked against the announced
// digest, the list walked once (validated), and, when prepared ahead, its
// signature checked against each signer its kid names.
type listPrep struct {
	b       []byte
	loadErr error // the object could not be loaded: the import fails
	digest  Hash
	sig     *credential.Sign1
	hdr     *credential.StatusListHeader
	perr    error
	sigOK   map[*Cert]bool
}

func prepareList(idx *index, o Object, ahead bool) listPrep {
	b, err := loadObject(o)
	if err != nil {
		return listPrep{loadErr: err}
	}
	p := listPrep{b: b, digest: HashOf(b)}
	if p.digest != o.Digest {
		return p
	}
	p.sig, p.hdr, p.perr = credential.ParseStatusListFunc(b, func(credential.StatusEntry) error { return nil })
	if ahead && p.perr == nil && p.sig.AlgOK && len(p.sig.KID) == credential.KIDSize {
		signers := idx.byKID[[credential.KIDSize]byte(p.sig.KID)]
		p.sigOK = make(map[*Cert]bool, len(signers))
		for _, signer := range signers {
			ok, err := signer.Pub.Verify(p.sig.SigStructure(), p.sig.Signature)
			p.sigOK[signer] = err == nil && ok
		}
	}
	return p
}

// preparedAhead counts the lists workers prepared (for tests).
var preparedAhead atomic.Int64

// listPreparer hands out the preparation of objs[order[0]], objs[order[1]],
// … in that order: computed on the caller's goroutine, or — for a small
// import on a machine with several cores — by workers a few lists ahead.
// The workers only read idx's certificates and signers, which the status
// list phase of an import does not change. stop must be called.
type listPreparer struct {
	next func() listPrep
	stop func()
}

func newListPreparer(idx *index, objs []Object, order []int, small bool) listPreparer {
	workers := runtime.GOMAXPROCS(0) - 1
	if workers < 1 || len(order) < 2 || !small {
		k := 0
		return listPreparer{
			next: func() listPrep { k++; return prepareList(idx, objs[order[k-1]], false) },
			stop: func() {},
		}
	}
	const ahead = 8
	out := make([]chan listPrep, len(order))
	for k := range out {
		out[k] = make(chan listPrep, 1)
	}
	tokens := make(chan struct{}, ahead)
	quit := make(chan struct{})
	var claim atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-quit:
					return
				default:
				}
				select {
				case tokens <- struct{}{}:
				case <-quit:
					return
				}
				k := int(claim.Add(1)) - 1
				if k >= len(order) {
					return
				}
				out[k] <- prepareList(idx, objs[order[k]], true)
				preparedAhead.Add(1)
			}
		}()
	}
	k := 0
	return listPreparer{
		next: func() listPrep {
			p := <-out[k]
			k++
			<-tokens
			return p
		},
		stop: func() {
			close(quit)
			wg.Wait()
		},
	}
}

// ImportObjects imports objs with the rules of Import — certificates first,
// then CRLs, then the status lists of each issuer in ascending sequence —
// in one transaction, with at most one status list in memory at a time —
// except in a small import (every list's Size announced, together at most
// smallImport bytes), whose lists workers load, validate and check the
// signature of a few ahead while earlier ones are applied; the outcome is
// the same either way. Any other import runs on a thread of its own at a
// lower CPU priority, as merges do, so that it never delays recording or
// verifying checks, with the Go heap held to importHeapLimit (see
// limitHeap).
// Each object is reported at its position in objs; the reports of status
// lists do not keep the list's bytes (Block.Bytes is nil). An object whose
// bytes do not match its Digest is reported Skipped with ErrDigest and
// never applied. It returns an error only when nothing could be stored (a
// storage failure, or an object that could not be loaded).
func (s *Store) ImportObjects(ctx context.Context, objs []Object) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rep *Report
	var replaced []listKey
	var err error
	small := smallImportOf(objs)
	update := func() { err = s.update(ctx, s.importObjectsTx(ctx, objs, small, &rep, &replaced)) }
	if small {
		update()
	} else {
		defer limitHeap()()
		inBackground(update)
	}
	if err != nil {
		return nil, fmt.Errorf("trust: import objects: %w", err)
	}
	s.clearDamaged(replaced)
	return rep, nil
}

// smallImportOf reports whether objs are a small import: every status
// list's size announced, together at most smallImport bytes. A small
// import runs at normal priority with its lists prepared ahead in
// parallel; a large one — a full national set — runs on one core in the
// background (see inBackground).
func smallImportOf(objs []Object) bool {
	var total int64
	for _, o := range objs {
		if o.Type != BlockStatusList {
			continue
		}
		if o.Size <= 0 {
			return false
		}
		total += o.Size
	}
	return total <= smallImport
}

// importObjectsTx is ImportObjects' transaction.
func (s *Store) importObjectsTx(ctx context.Context, objs []Object, ahead bool, repOut **Report, replacedOut *[]listKey) func(idx *index, tx *statusfile.Tx) (bool, error) {
	return func(idx *index, tx *statusfile.Tx) (bool, error) {
		rep := &Report{Blocks: make([]BlockResult, len(objs))}
		*repOut = rep
		w := &writes{tx: tx}
		var small []Block
		var smallAt []int
		type listObj struct {
			i        int
			issuer   string
			sequence uint64
		}
		var lists []listObj
		hinted := true
		for i, o := range objs {
			rep.Blocks[i] = BlockResult{Block: Block{Index: i + 1, Type: o.Type}}
			switch o.Type {
			case BlockCertificate, BlockCRL:
				b, err := loadObject(o)
				if err != nil {
					return false, err
				}
				blk := Block{Index: i + 1, Type: o.Type, Bytes: b}
				if HashOf(b) != o.Digest {
					blk.Bytes, blk.Err = nil, fmt.Errorf("%w: object %s", ErrDigest, o.Digest)
				}
				small = append(small, blk)
				smallAt = append(smallAt, i)
			case BlockStatusList:
				lists = append(lists, listObj{i: i, issuer: o.Issuer, sequence: o.Sequence})
				hinted = hinted && o.Issuer != "" && o.Sequence > 0
			default:
				rep.Blocks[i].Err = fmt.Errorf("%w: %q", ErrUnknownBlockType, o.Type)
			}
		}
		sub := &Report{Blocks: make([]BlockResult, len(small))}
		s.importInto(idx, w, sub, small)
		for j, r := range sub.Blocks {
			r.Block.Index = smallAt[j] + 1
			rep.Blocks[smallAt[j]] = r
		}
		if w.err != nil {
			return false, w.err
		}
		// Order the lists: by the senders' hints, or by a first pass that
		// parses each list once for its issuer and sequence.
		if !hinted {
			for k := range lists {
				b, err := loadObject(objs[lists[k].i])
				if err != nil {
					return false, err
				}
				if _, h, err := credential.ParseStatusListFunc(b, func(credential.StatusEntry) error { return nil }); err == nil {
					lists[k].issuer, lists[k].sequence = h.Issuer, h.Sequence
				}
			}
		}
		slices.SortStableFunc(lists, func(a, b listObj) int {
			if c := cmpString(a.issuer, b.issuer); c != 0 {
				return c
			}
			return cmpUint(a.sequence, b.sequence)
		})
		order := make([]int, len(lists))
		for k, lo := range lists {
			order[k] = lo.i
		}
		prep := newListPreparer(idx, objs, order, ahead)
		defer prep.stop()
		for _, lo := range lists {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			o := objs[lo.i]
			r := &rep.Blocks[lo.i]
			p := prep.next()
			if p.loadErr != nil {
				return false, p.loadErr
			}
			if p.digest != o.Digest {
				r.Err = fmt.Errorf("%w: object %s", ErrDigest, o.Digest)
				continue
			}
			b := p.b
			r.Block.Bytes = b
			// The first walk (in prepareList) validated the whole list and
			// yielded nothing; the entries are streamed by a second walk
			// straight into the status files, so no list is ever held as
			// entries in memory.
			if p.perr != nil {
				r.Err = fmt.Errorf("%w: %v", ErrStatusList, p.perr)
			} else {
				h := p.hdr
				l := &credential.StatusList{Issuer: h.Issuer, Sequence: h.Sequence, Base: h.Base, ThisUpdate: h.ThisUpdate, NextUpdate: h.NextUpdate}
				r.Label = fmt.Sprintf("status list %s #%d", l.Issuer, l.Sequence)
				each := func(y func(credential.StatusEntry) error) error {
					_, _, err := credential.ParseStatusListFunc(b, y)
					return err
				}
				importList(idx, w, parsedList{res: r, sig: p.sig, list: l, each: each, digest: &p.digest, sigOK: p.sigOK})
			}
			r.Block.Bytes = nil
			if w.err != nil {
				return false, w.err
			}
		}
		*replacedOut = w.replaced
		return w.changed, nil
	}
}

func loadObject(o Object) ([]byte, error) {
	b, err := o.Load()
	if err != nil {
		return nil, fmt.Errorf("trust: load object %s: %w", o.Digest, err)
	}
	return b, nil
}

// IncomingDir is a directory beside the store's files for partial
// downloads; it is created on demand.
func (s *Store) IncomingDir() string {
	d := filepath.Join(s.dir, "incoming")
	_ = os.MkdirAll(d, 0o700)
	return d
}
