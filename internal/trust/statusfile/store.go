package statusfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Key names one status list: the CA certificate that issued the list's
// signer (its SM3 fingerprint or any 32-byte id the caller chooses) and the
// issuer code.
type Key struct {
	CA     [32]byte
	Issuer string
}

// Entry is one status entry: Status 0 active again, 1 revoked, 2 suspended,
// in force from Since (epoch seconds).
type Entry struct {
	IDHash [16]byte
	Status uint8
	Since  int64
}

// Store is a directory of status-list files. It is safe for concurrent use
// by goroutines and by processes: readers never block, writers are
// serialised by an flock on dir/LOCK.
type Store struct {
	dir   string
	lockf *os.File
	wsem  chan struct{} // one writer goroutine in this process

	mu        sync.Mutex
	closed    bool
	committed bool // this Store committed a generation (its retirees may be held here)
	cur       *generation
	curID     identity
	curOn     bool   // a MANIFEST existed when cur was read
	seq       uint64 // installs so far
	files     map[uint64]*mfile
	// changes is the directory's commit counter (nil: stat every time);
	// while it holds curCount (when curCounted), cur is current.
	changes    *changeCounter
	curCount   uint64
	curCounted bool
}

// generation is one loaded manifest, shared by the Views taken on it.
type generation struct {
	man   *manifest
	keys  map[Key]*genKey
	files []*mfile
	refs  int // Views, plus one while current (under Store.mu)

	metaFile *mfile // nil without meta
	metaMu   sync.Mutex
	meta     []byte // once loaded (metaOK)
	metaOK   bool
	metaErr  error // damage found loading it
}

type genKey struct {
	count int64
	runs  []*runHandle // apply order
}

type runHandle struct {
	mf   *mfile
	ref  runRef
	info atomic.Pointer[runInfo]
}

// mfile is a data file mapped lazily and shared by generations.
type mfile struct {
	info fileInfo
	refs int // generations (under Store.mu)
	mu   sync.Mutex
	vf   atomic.Pointer[vfile]
	runs map[int64]*runInfo // under mu
	err  error              // damage found when opening (under mu)
}

// Open opens (creating it if missing) the store in dir. When no other
// writer holds the lock it removes files no manifest refers to (left by a
// crash). Nothing is hashed at open: files are verified as they are read.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("statusfile: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("statusfile: %w", err)
	}
	s := &Store{dir: dir, lockf: lf, wsem: make(chan struct{}, 1), files: map[uint64]*mfile{}, changes: mapChanges(lf)}
	ok, err := tryLock(lf)
	if err != nil {
		lf.Close()
		return nil, err
	}
	if ok {
		if m, id, on, err := s.readManifest(); err == nil {
			s.gc(m)
			// The first View finds it loaded.
			s.mu.Lock()
			s.installLocked(m, nil, false, id, on)
			s.mu.Unlock()
		}
		unlock(lf)
	}
	return s, nil
}

// Close releases the store. Views taken before stay usable until released.
// When this Store committed, the files its last commit retired that no
// View of this process holds any more are removed now rather than with the
// next commit (perhaps a day later).
func (s *Store) Close() error {
	s.wsem <- struct{}{}
	defer func() { <-s.wsem }()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.changes.unmap() // no commit runs (wsem) and no reader reads it once closed
	s.changes = nil
	if s.cur != nil {
		s.unrefLocked(s.cur)
		s.cur = nil
	}
	committed := s.committed
	s.mu.Unlock()
	if committed {
		if m, _, _, err := s.readManifest(); err == nil {
			ref := m.referenced()
			for _, id := range m.retired {
				if !ref[id] && !s.inUse(id) {
					os.Remove(s.path(fileName(id)))
				}
			}
		}
	}
	return s.lockf.Close()
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

func emptyManifest() *manifest { return &manifest{nextID: 1, files: map[uint64]fileInfo{}} }

// readManifest reads and parses the committed manifest (an empty one when
// there is none yet) and returns the identity of what it read.
func (s *Store) readManifest() (*manifest, identity, bool, error) {
	f, err := os.Open(s.path(manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return emptyManifest(), identity{}, false, nil
	}
	if err != nil {
		return nil, identity{}, false, fmt.Errorf("statusfile: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, identity{}, false, fmt.Errorf("statusfile: %w", err)
	}
	id := identityOf(st)
	s.mu.Lock()
	if s.cur != nil && s.curOn && s.curID == id {
		m := s.cur.man
		s.mu.Unlock()
		return m, id, true, nil
	}
	s.mu.Unlock()
	if st.Size() > 1<<30 {
		return nil, identity{}, false, damaged(manifestName, "impossible size")
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, identity{}, false, readErr(manifestName, err)
	}
	m, err := parseManifest(b)
	if err != nil {
		return nil, identity{}, false, err
	}
	return m, id, true, nil
}

// loadMeta returns the meta blob of m, verified in full.
func (s *Store) loadMeta(m *manifest) ([]byte, error) {
	if m.meta == 0 {
		return nil, nil
	}
	s.mu.Lock()
	g := s.cur
	s.mu.Unlock()
	if g != nil && g.man.meta == m.meta {
		g.metaMu.Lock()
		b, ok := g.meta, g.metaOK
		g.metaMu.Unlock()
		if ok {
			return b, nil
		}
	}
	return readMeta(s.dir, m.files[m.meta])
}

// readMeta reads and verifies a meta file.
func readMeta(dir string, fi fileInfo) ([]byte, error) {
	vf, err := openVFile(dir, fi, false)
	if err != nil {
		return nil, err
	}
	defer vf.close()
	b, err := vf.read(0, vf.lay.dataLen, true, nil)
	if err != nil {
		return nil, err
	}
	if string(b[:len(dataMagic)]) != dataMagic {
		return nil, damaged(vf.name, "bad data magic")
	}
	return slices.Clone(b[len(dataMagic):]), nil
}

// current returns the committed generation with a reference taken,
// loading it when another process committed since. It reads the commit
// counter (see changeCounter) and, only when the counter moved since the
// generation was found current, stats the manifest.
func (s *Store) current() (*generation, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	count, counted := s.changes.load()
	counted = counted && count%2 == 0 // no commit in progress
	if g := s.cur; g != nil && counted && s.curCounted && s.curCount == count {
		g.refs++
		s.mu.Unlock()
		return g, nil
	}
	s.mu.Unlock()
	// The counter was read before the stat: see changeCounter.
	st, err := os.Stat(s.path(manifestName))
	on := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("statusfile: %w", err)
	}
	var id identity
	if on {
		id = identityOf(st)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if g := s.cur; g != nil && s.curOn == on && s.curID == id {
		g.refs++
		s.curCount, s.curCounted = count, counted
		s.mu.Unlock()
		return g, nil
	}
	seq := s.seq
	s.mu.Unlock()
	m, id, on, err := s.readManifest()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	// Another goroutine installed meanwhile (maybe a commit of ours, newer
	// than what we read): keep it; the next call stats again.
	if s.seq == seq {
		s.installLocked(m, nil, false, id, on)
		// readManifest opened a manifest at least as new as the stat's.
		s.curCount, s.curCounted = count, counted
	}
	s.cur.refs++
	return s.cur, nil
}

// installLocked makes m the current generation; meta is its meta blob
// when the caller knows it (a commit of this process), else it is loaded
// when first asked for.
func (s *Store) installLocked(m *manifest, meta []byte, metaKnown bool, id identity, on bool) {
	s.seq++
	s.curCounted = false // the next current() stats once
	if s.cur != nil && s.cur.man == m {
		s.curID, s.curOn = id, on
		return
	}
	g := &generation{man: m, keys: make(map[Key]*genKey, len(m.keys)), refs: 1, meta: meta, metaOK: metaKnown}
	if old := s.cur; !metaKnown && old != nil && old.man.meta == m.meta {
		old.metaMu.Lock()
		g.meta, g.metaOK = old.meta, old.metaOK
		old.metaMu.Unlock()
	}
	if m.meta == 0 {
		g.meta, g.metaOK = nil, true
	}
	for id, fi := range m.files {
		mf := s.files[id]
		if mf == nil {
			mf = &mfile{info: fi, runs: map[int64]*runInfo{}}
			s.files[id] = mf
		}
		mf.refs++
		g.files = append(g.files, mf)
		if fi.kind == kindMeta {
			g.metaFile = mf
		}
	}
	for _, k := range m.keys {
		gk := &genKey{count: k.count, runs: make([]*runHandle, len(k.runs))}
		for i, r := range k.runs {
			mf := s.files[r.file]
			rh := &runHandle{mf: mf, ref: r}
			mf.mu.Lock()
			if ri := mf.runs[r.off]; ri != nil {
				rh.info.Store(ri)
			}
			mf.mu.Unlock()
			gk.runs[i] = rh
		}
		g.keys[k.key] = gk
	}
	old := s.cur
	s.cur, s.curID, s.curOn = g, id, on
	if old != nil {
		s.unrefLocked(old)
	}
}

func (s *Store) unrefLocked(g *generation) {
	g.refs--
	if g.refs > 0 {
		return
	}
	for _, mf := range g.files {
		mf.refs--
		if mf.refs == 0 {
			delete(s.files, mf.info.id)
			if vf := mf.vf.Swap(nil); vf != nil {
				vf.close()
			}
		}
	}
}

func (s *Store) release(g *generation) {
	s.mu.Lock()
	s.unrefLocked(g)
	s.mu.Unlock()
}

// lockWriter takes the in-process writer slot and the flock on dir/LOCK,
// waiting until ctx ends (then ErrLocked).
func (s *Store) lockWriter(ctx context.Context) (func(), error) {
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrLocked, ctx.Err())
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		<-s.wsem
		return nil, ErrClosed
	}
	wait := time.Millisecond
	for {
		ok, err := tryLock(s.lockf)
		if err != nil {
			<-s.wsem
			return nil, err
		}
		if ok {
			return func() { unlock(s.lockf); <-s.wsem }, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			<-s.wsem
			return nil, fmt.Errorf("%w: %w", ErrLocked, ctx.Err())
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// gc removes, with the writer lock held, data files that neither m nor the
// generation before it (m.retired) refers to and that no View in this
// process still uses, and a left-over temporary manifest.
func (s *Store) gc(m *manifest) {
	keep := m.referenced()
	for _, id := range m.retired {
		keep[id] = true
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if name == manifestTmp {
			os.Remove(s.path(name))
			continue
		}
		id, ok := parseFileName(name)
		if !ok || keep[id] || s.inUse(id) {
			continue
		}
		os.Remove(s.path(name))
	}
}

func (s *Store) inUse(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[id] != nil
}

// commitLocked makes nm the committed generation after old: every file nm
// refers to is already written and synced. The commit point is the rename
// of the synced temporary manifest over MANIFEST.
func (s *Store) commitLocked(old, nm *manifest, meta []byte) error {
	nm.gen = old.gen + 1
	ref := nm.referenced()
	for id := range nm.files {
		if !ref[id] {
			delete(nm.files, id)
		}
	}
	nm.retired = nil
	for id := range old.referenced() {
		if !ref[id] {
			nm.retired = append(nm.retired, id)
		}
	}
	slices.Sort(nm.retired)
	enc := nm.encode()
	tmp := s.path(manifestTmp)
	id, err := writeSynced(tmp, enc)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(s.dir); err != nil {
		os.Remove(tmp)
		return err
	}
	// Readers of other processes stat the manifest again once the counter
	// has moved (see changeCounter): it moves before the rename and after.
	s.changes.begin()
	err = os.Rename(tmp, s.path(manifestName))
	s.changes.end()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("statusfile: %w", err)
	}
	// Committed: readers see nm from here on.
	s.mu.Lock()
	s.committed = true
	s.installLocked(nm, meta, true, id, true)
	s.mu.Unlock()
	dirErr := syncDir(s.dir)
	// The files the previous generation used and this one does not go now
	// unless a View of this process still holds them (then the next
	// commit removes them): a tablet keeps no second copy of its trust
	// data. A reader in another process that had not opened one yet gets
	// ErrStale and takes a new View.
	for _, ids := range [][]uint64{old.retired, nm.retired} {
		for _, id := range ids {
			if !ref[id] && !s.inUse(id) {
				os.Remove(s.path(fileName(id)))
			}
		}
	}
	return dirErr
}

func writeSynced(path string, b []byte) (identity, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return identity{}, writeErr(manifestTmp, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	var st os.FileInfo
	if err == nil {
		st, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return identity{}, writeErr(manifestTmp, err)
	}
	return identityOf(st), nil
}

// Reset commits an empty generation (no lists, no meta), also when the
// manifest is damaged: the way back after ErrDamaged on the manifest or the
// meta. Every list must then be fetched again.
func (s *Store) Reset(ctx context.Context) error {
	unlockW, err := s.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer unlockW()
	old, _, _, err := s.readManifest()
	if err != nil {
		old = emptyManifest()
	}
	nm := emptyManifest()
	nm.nextID = old.nextID
	if ents, err := os.ReadDir(s.dir); err == nil {
		for _, e := range ents {
			if id, ok := parseFileName(e.Name()); ok && id >= nm.nextID {
				nm.nextID = id + 1
			}
		}
	}
	if err := s.commitLocked(old, nm, nil); err != nil {
		return err
	}
	s.gc(nm)
	return nil
}
