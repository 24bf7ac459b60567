package trust

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust/statusfile"
)

// Store is the trust store. Its state lives in a directory of its own
// (statusfile: immutable status-list files and one manifest that is
// replaced atomically), so importing never blocks the records database,
// and a reader — in this process or another — always sees one complete
// generation.
//
// It is safe for concurrent use. Verification reads go through a lazily
// built view of the current generation: only the certificates of the
// chains actually checked are parsed, so a process that verifies one code
// does not parse thousands of certificates. Import and Summary use the
// full in-memory index, built on first need per generation.
type Store struct {
	dir      string
	files    *statusfile.Store
	readOnly bool

	writeMu sync.Mutex // one Import or AddAnchors at a time in this process

	mu      sync.Mutex
	cur     *state             // the generation last loaded
	views   []*statusfile.View // of every state loaded: released by Close at the latest
	damaged map[listKey]bool   // lists whose entry files were found damaged

	repairErr atomic.Pointer[error] // the last background repair's failure

	compacting atomic.Bool     // a background Compact runs
	bg         sync.WaitGroup  // background work that Close waits for
	bgCtx      context.Context // ends background work on Close
	bgStop     context.CancelFunc
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

// listKey names a stored status list: the identity of the CA that issued
// the list's signer (Cert.Identity: subject and key, so one CA whatever
// certificate of it a chain passes through) and the issuer code.
type listKey struct {
	ca     Hash
	issuer string
}

func (k listKey) file() statusfile.Key { return statusfile.Key{CA: k.ca, Issuer: k.issuer} }

// ListInfo is the header of the status list stored for (CA, issuer).
type ListInfo struct {
	CA         *Cert // nil on the verification path (the caller holds the CA)
	Issuer     string
	Sequence   uint64
	ThisUpdate time.Time
	NextUpdate time.Time
	Entries    int
	Digest     Hash // SM3 of the last applied list's COSE bytes
	// FullSequence is the sequence of the full list the current state was
	// built from (deltas since then are applied on top of it).
	FullSequence uint64
	// Damaged is true when the list's entry file was found damaged: its
	// entries are gone and it gives no status until a full list at or
	// above FullSequence replaces it (the next sync fetches one).
	Damaged bool
	// Floor is the sequence the terminal held before damage: until the
	// list is back at it, the list is Incomplete (verdicts TRUST_STALE),
	// though what it does say still counts. 0: no floor.
	Floor   uint64
	applied [][]byte
}

// Incomplete reports whether the list is damaged or behind the sequence
// this store held before damage: verification then says TRUST_STALE.
func (l *ListInfo) Incomplete() bool { return l.Damaged || l.Sequence < l.Floor }

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

// maxApplied bounds the digests kept of the lists applied since the last
// full list.
const maxApplied = 512

// Options configure Open.
type Options struct {
	// ReadOnly opens the store for reading only: Import and AddAnchors fail
	// with storage.ErrReadOnly.
	ReadOnly bool
}

// Open opens (creating when missing, unless read-only) the trust store in
// directory dir.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files, err := statusfile.Open(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("trust: open %s: %w", dir, filesErr(err))
	}
	s := &Store{dir: dir, files: files, readOnly: opts.ReadOnly}
	s.bgCtx, s.bgStop = context.WithCancel(context.WithoutCancel(ctx))
	if _, err := s.load(ctx); err != nil {
		files.Close()
		return nil, err
	}
	return s, nil
}

// New opens the trust store that belongs to the terminal (or hub)
// database db: the directory named db's path + ".trust", beside it. A
// store written by an earlier version inside db itself is moved there
// once (see migrate).
func New(ctx context.Context, db *storage.DB) (*Store, error) {
	s, err := Open(ctx, DirFor(db.Path()), Options{ReadOnly: db.ReadOnly()})
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx, db); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// filesErr makes damage found by the status files an ErrDamaged of this
// package (and so of storage) too.
func filesErr(err error) error {
	if errors.Is(err, statusfile.ErrDamaged) && !errors.Is(err, ErrDamaged) {
		return fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return err
}

// DirFor is the trust directory that belongs to the database at dbPath.
func DirFor(dbPath string) string { return dbPath + ".trust" }

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Close releases the store's files. Lookups after Close fail.
//
// Close waits for a running background compaction to finish (it is
// crash-safe, so a killed process loses only the merge's work).
func (s *Store) Close() error {
	s.bg.Wait()
	s.bgStop()
	s.mu.Lock()
	s.cur = nil
	// Lookups after Close fail: the views of every state go now, so that
	// the status files they held and a commit retired can go with Close.
	for _, v := range s.views {
		v.Release()
	}
	s.views = nil
	s.mu.Unlock()
	return s.files.Close()
}

// state is one loaded generation: the decoded metadata, the status files'
// view, and caches of what was parsed from them.
type state struct {
	gen  uint64
	view *statusfile.View
	meta *metaIndex

	parseMu sync.Mutex
	parsed  map[Hash]*Cert
	crlOf   map[Hash]*CRL
	crlErr  map[Hash]error

	fullOnce sync.Once
	full     *index
	fullErr  error
}

// load returns the current generation's state, reloading when another
// writer (this process or another) committed since.
func (s *Store) load(ctx context.Context) (*state, error) {
	for attempt := 0; ; attempt++ {
		st, err := s.loadOnce(ctx)
		if errors.Is(err, statusfile.ErrStale) && attempt < statusfile.StaleRetries {
			continue // another process committed while the generation was opened
		}
		return st, err
	}
}

func (s *Store) loadOnce(ctx context.Context) (*state, error) {
	// A lazy view: the metadata's index and the certificates a
	// verification parses are read (and their blocks verified) on demand.
	v, err := s.files.ViewLazy(ctx)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", filesErr(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.gen == v.Generation() {
		v.Release()
		return s.cur, nil
	}
	size, err := v.MetaSize()
	if err != nil {
		v.Release()
		return nil, fmt.Errorf("trust: %w", filesErr(err))
	}
	m, err := decodeMeta(v.ReadMeta, size)
	if err != nil {
		v.Release()
		return nil, err
	}
	st := &state{gen: v.Generation(), view: v, meta: m, parsed: map[Hash]*Cert{}, crlOf: map[Hash]*CRL{}, crlErr: map[Hash]error{}}
	// The view (and the files it maps) lives as long as the state does.
	runtime.AddCleanup(st, func(v *statusfile.View) { v.Release() }, v)
	s.views = append(slices.DeleteFunc(s.views, (*statusfile.View).Released), v)
	s.cur = st
	return st, nil
}

// current returns the generation last loaded, loading one when there is
// none. It does not look for a newer generation: Signers, which starts
// every verification, does (refresh), so a verification sees one
// generation throughout and looks for a newer one once (statusfile's
// commit counter: no system call unless another process committed).
func (s *Store) current() *state {
	s.mu.Lock()
	st := s.cur
	s.mu.Unlock()
	if st != nil {
		return st
	}
	return s.refresh()
}

// refresh is load with a background context, for the lookup methods whose
// signatures carry none; a failure gives the last state or an empty one,
// so lookups find nothing and verification reports the trust data as
// missing.
func (s *Store) refresh() *state {
	st, err := s.load(context.Background())
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.cur != nil {
			return s.cur
		}
		return &state{meta: emptyMeta(), parsed: map[Hash]*Cert{}, crlOf: map[Hash]*CRL{}, crlErr: map[Hash]error{}}
	}
	return st
}

// snapshot is the full index of the newest generation.
func (s *Store) snapshot() *index {
	idx, err := s.refresh().index()
	if err != nil {
		return newIndex()
	}
	return idx
}

// index builds (once) the full in-memory index of the state.
func (st *state) index() (*index, error) {
	st.fullOnce.Do(func() {
		if err := st.parseAll(); err != nil {
			st.fullErr = err
			return
		}
		idx := newIndex()
		for _, h := range st.meta.order {
			c, err := st.cert(h)
			if err != nil {
				st.fullErr = err
				return
			}
			idx.add(c)
		}
		for ca := range st.meta.crls {
			crl, err := st.crl(ca)
			if err != nil {
				st.fullErr = err
				return
			}
			if crl != nil {
				idx.crls[ca] = crl
			}
		}
		byIdentity := map[Hash]*Cert{}
		for _, c := range idx.certs {
			if c.CA {
				byIdentity[c.Identity()] = c
			}
		}
		for k, l := range st.meta.lists {
			info := *l
			info.CA = byIdentity[k.ca]
			if st.view != nil {
				info.Entries = st.view.Count(k.file())
			}
			idx.lists[k] = &info
		}
		st.full = idx
	})
	return st.full, st.fullErr
}

// parseAll parses every stored certificate not parsed yet, on every core,
// and links each to its parents (already parsed ones keep their identity).
func (st *state) parseAll() error {
	order := st.meta.order
	st.parseMu.Lock()
	todo := make([]Hash, 0, len(order))
	for _, h := range order {
		if st.parsed[h] == nil {
			todo = append(todo, h)
		}
	}
	st.parseMu.Unlock()
	out := make([]*Cert, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(todo)/64+1)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(todo); i += workers {
				out[i], errs[i] = st.parseOne(todo[i])
			}
		}()
	}
	wg.Wait()
	st.parseMu.Lock()
	defer st.parseMu.Unlock()
	for i, h := range todo { // parents first: meta.order is
		if errs[i] != nil {
			return errs[i]
		}
		if st.parsed[h] != nil {
			continue
		}
		c := out[i]
		for _, ph := range st.meta.certs[h].Parents {
			p := st.parsed[ph]
			if p == nil {
				return fmt.Errorf("%w: certificate %s stored before its parent %s", ErrDamaged, h, ph)
			}
			c.Parents = append(c.Parents, p)
		}
		st.parsed[h] = c
	}
	return nil
}

// parseOne parses the stored certificate h without linking its parents.
func (st *state) parseOne(h Hash) (*Cert, error) {
	rec := st.meta.certs[h]
	if rec == nil {
		return nil, fmt.Errorf("%w: missing certificate %s", ErrDamaged, h)
	}
	der, err := st.meta.der(rec.span)
	if err != nil {
		return nil, err
	}
	c, err := parseCert(der)
	if err != nil {
		return nil, fmt.Errorf("%w: stored certificate %s: %v", ErrDamaged, h, err)
	}
	if c.Hash != h {
		return nil, fmt.Errorf("%w: certificate stored as %s hashes to %s", ErrDamaged, h, c.Hash)
	}
	c.Anchor = rec.Anchor
	if err := c.checkRole(); err != nil {
		return nil, fmt.Errorf("%w: stored certificate %s: %v", ErrDamaged, h, err)
	}
	return c, nil
}

// cert parses (once) the stored certificate h and, recursively, its parents.
func (st *state) cert(h Hash) (*Cert, error) {
	st.parseMu.Lock()
	defer st.parseMu.Unlock()
	return st.certLocked(h, 0)
}

func (st *state) certLocked(h Hash, depth int) (*Cert, error) {
	if c := st.parsed[h]; c != nil {
		return c, nil
	}
	if depth > 32 {
		return nil, fmt.Errorf("%w: certificate chain deeper than 32", ErrDamaged)
	}
	c, err := st.parseOne(h)
	if err != nil {
		return nil, err
	}
	for _, ph := range st.meta.certs[h].Parents {
		p, err := st.certLocked(ph, depth+1)
		if err != nil {
			return nil, err
		}
		c.Parents = append(c.Parents, p)
	}
	st.parsed[h] = c
	return c, nil
}

// crl parses (once) the stored CRL of CA ca; nil when there is none.
func (st *state) crl(ca Hash) (*CRL, error) {
	sp, ok := st.meta.crls[ca]
	if !ok {
		return nil, nil
	}
	c, err := st.cert(ca)
	if err != nil {
		return nil, err
	}
	st.parseMu.Lock()
	defer st.parseMu.Unlock()
	if crl, ok := st.crlOf[ca]; ok {
		return crl, st.crlErr[ca]
	}
	der, err := st.meta.der(sp)
	var crl *CRL
	if err == nil {
		if crl, err = parseCRL(der, c); err != nil {
			err = fmt.Errorf("%w: stored CRL of %s: %v", ErrDamaged, ca, err)
			crl = nil
		}
	}
	st.crlOf[ca], st.crlErr[ca] = crl, err
	return crl, err
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
// one; a 64-bit kid can collide). A signer whose stored certificate cannot
// be read is left out (Check reports it).
func (s *Store) Signers(kid []byte) []*Cert {
	if len(kid) != credential.KIDSize {
		return nil
	}
	st := s.refresh()
	var out []*Cert
	for _, h := range st.meta.byKID[[credential.KIDSize]byte(kid)] {
		if c, err := st.cert(h); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// Chains returns every path from the signer c to an anchor. The chains are
// shared: the caller must not modify them.
func (s *Store) Chains(c *Cert) []Chain { return c.chains() }

// CRLOf returns the newest stored CRL issued by ca, or nil.
func (s *Store) CRLOf(ca *Cert) *CRL {
	crl, _ := s.current().crl(ca.Hash)
	return crl
}

// Revoked reports whether any certificate of the chain below the anchor is
// listed on the newest stored CRL of its issuer.
func (s *Store) Revoked(ch Chain) bool {
	st := s.current()
	for i := 0; i+1 < len(ch); i++ {
		crl, _ := st.crl(ch[i+1].Hash)
		if crl.Revokes(ch[i].Cert.SerialNumber) {
			return true
		}
	}
	return false
}

func (idx *index) revoked(ch Chain) bool {
	for i := 0; i+1 < len(ch); i++ {
		if idx.crls[ch[i+1].Hash].Revokes(ch[i].Cert.SerialNumber) {
			return true
		}
	}
	return false
}

// List returns the header of the status list stored for (ca, issuer). A
// list whose entry file is damaged is returned with Damaged set: it gives
// no status (verification says TRUST_STALE, never "not revoked"), and the
// next sync fetches it again.
func (s *Store) List(ca *Cert, issuer string) (*ListInfo, bool) {
	st := s.current()
	k := listKey{ca.Identity(), issuer}
	l, ok := st.meta.lists[k]
	if !ok {
		return nil, false
	}
	info := *l
	info.CA = ca
	if st.view == nil || !st.view.Has(k.file()) || s.isDamaged(k) {
		info.Damaged = true
	} else {
		info.Entries = st.view.Count(k.file())
	}
	return &info, true
}

// LicenceStatus looks idHash up in the list stored for (ca, issuer). found is
// false when the list gives the licence no status at `at`: of the entries
// for idHash applied since the last full list, the last one applied whose
// since is not after at decides (RTC1 clarification 19); status 0 means none.
func (s *Store) LicenceStatus(ctx context.Context, ca *Cert, issuer string, idHash [credential.IDHashSize]byte, at time.Time) (e credential.StatusEntry, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return e, false, err
	}
	st := s.current()
	if st.view == nil {
		return e, false, nil
	}
	k := listKey{ca.Identity(), issuer}
	if s.isDamaged(k) {
		return credential.StatusEntry{}, false, fmt.Errorf("trust: status list %s: %w", ListRef{k.ca, k.issuer}, ErrDamaged)
	}
	fe, found, err := st.view.Lookup(k.file(), idHash, at.Unix())
	for retry := 0; errors.Is(err, statusfile.ErrStale) && retry < statusfile.StaleRetries; retry++ {
		// Another writer committed twice since this state was loaded and
		// removed a file it had not opened yet: look up in the newest.
		if st = s.refresh(); st.view == nil {
			return e, false, nil
		}
		fe, found, err = st.view.Lookup(k.file(), idHash, at.Unix())
	}
	if err != nil {
		if errors.Is(err, statusfile.ErrDamaged) {
			s.damagedList(k)
			err = filesErr(err)
		}
		return credential.StatusEntry{}, false, fmt.Errorf("trust: status lookup: %w", err)
	}
	if !found {
		return e, false, nil
	}
	return credential.StatusEntry{IDHash: idHash, Status: credential.Status(fe.Status), Since: fe.Since}, true, nil
}

// Check verifies every trust file against its digest and returns the
// status lists whose files are damaged (they are then treated as absent).
//
// Damaged lists are dropped (the header stays, marked Damaged, as the floor
// against rollback), so Holdings no longer names them and the next sync
// fetches their full lists. A read-only store only reports them.
func (s *Store) Check(ctx context.Context) ([]ListRef, error) {
	bad, err := s.files.Check(ctx)
	out := make([]ListRef, 0, len(bad))
	for _, k := range bad {
		out = append(out, ListRef{CA: k.CA, Issuer: k.Issuer})
		s.markDamaged(listKey{k.CA, k.Issuer})
	}
	if err == nil && len(bad) > 0 && !s.readOnly {
		err = s.repair(ctx)
	}
	return out, err
}

// markDamaged remembers that the entry file of k is damaged.
func (s *Store) markDamaged(k listKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.damaged == nil {
		s.damaged = map[listKey]bool{}
	}
	s.damaged[k] = true
}

// clearDamaged forgets the damage of lists that full lists replaced.
func (s *Store) clearDamaged(keys []listKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.damaged, k)
	}
}

func (s *Store) isDamaged(k listKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.damaged[k]
}

// damagedList is called when a lookup finds k's file damaged: it is marked
// at once and dropped from the files in the background.
func (s *Store) damagedList(k listKey) {
	s.markDamaged(k)
	if s.readOnly {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := s.repair(s.bgCtx); err != nil && s.bgCtx.Err() == nil {
			s.repairErr.Store(&err)
		}
	}()
}

// repair drops the entry files of every list marked damaged and marks
// their headers, in one commit.
func (s *Store) repair(ctx context.Context) error {
	s.mu.Lock()
	keys := make([]listKey, 0, len(s.damaged))
	for k := range s.damaged {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	return s.update(ctx, func(idx *index, tx *statusfile.Tx) (bool, error) {
		changed := false
		for _, k := range keys {
			l := idx.lists[k]
			if l == nil || l.Damaged {
				continue
			}
			tx.Drop(k.file())
			c := *l
			c.Damaged = true
			idx.lists[k] = &c
			changed = true
		}
		return changed, nil
	})
}

// Compact merges status-list deltas into their base files. It is safe to
// call at any time (in the background); lookups are unaffected.
func (s *Store) Compact(ctx context.Context) error {
	if s.readOnly || !s.files.NeedsCompaction() {
		return nil
	}
	return s.files.Compact(ctx)
}

// compactInBackground starts Compact in the background when the files need
// it and none runs yet.
func (s *Store) compactInBackground() {
	if s.readOnly || !s.files.NeedsCompaction() || !s.compacting.CompareAndSwap(false, true) {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer s.compacting.Store(false)
		inBackground(func() {
			if err := s.files.Compact(s.bgCtx); err != nil && s.bgCtx.Err() == nil {
				s.repairErr.Store(&err)
			}
		})
	}()
}

// Stats describes the trust files on disk.
func (s *Store) Stats() statusfile.Stats { return s.files.Stats() }
