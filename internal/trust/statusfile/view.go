package statusfile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"
)

// View is one committed generation, unchanged for as long as it is held.
// It is safe for concurrent use. Release it when done: a View pins the
// generation's files in this process (another process's commit may still
// remove files of an older generation that this View had not opened yet:
// its methods then return ErrStale, never ErrDamaged, and a new View reads
// the newer generation).
type View struct {
	s        *Store
	g        *generation
	released atomic.Bool
}

// View returns the current committed generation, picking up commits made
// by other processes since the last call (a read of the shared commit
// counter; a stat of the manifest only when it moved). Its
// meta blob is read and verified in full (once per generation in this
// process; SM3 costs about 6 ms per MiB); lists are verified as they are
// read. An error wrapping ErrDamaged means the manifest or the meta blob
// is damaged (see Reset).
func (s *Store) View(ctx context.Context) (*View, error) {
	for attempt := 0; ; attempt++ {
		v, err := s.ViewLazy(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := v.LoadMeta(); err != nil {
			v.Release()
			if errors.Is(err, ErrStale) && attempt < StaleRetries {
				continue // another process committed meanwhile
			}
			return nil, err
		}
		return v, nil
	}
}

// staleErr turns a file of v's generation found missing, when a newer
// generation was committed meanwhile, into ErrStale (removed by that
// commit, not damaged).
func (v *View) staleErr(err error) error {
	if err != nil && errors.Is(err, fs.ErrNotExist) && v.s.isStale(v.g) {
		return fmt.Errorf("%w (%v)", ErrStale, err) // not ErrDamaged
	}
	return err
}

// ViewLazy is View without reading the meta blob: LoadMeta and ReadMeta
// verify it when asked (ReadMeta only the blocks it reads), so a process
// that needs a few bytes of a large blob starts in about a millisecond.
//
// WARNING: on such a View, Meta returns nil for a damaged blob; use
// LoadMeta or ReadMeta, which report ErrDamaged.
func (s *Store) ViewLazy(ctx context.Context) (*View, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, err := s.current()
	if err != nil {
		return nil, err
	}
	return &View{s: s, g: g}, nil
}

// Release gives the generation back; the View must not be used after.
// Releasing twice is harmless.
func (v *View) Release() {
	if v.released.CompareAndSwap(false, true) {
		v.s.release(v.g)
	}
}

// Released reports whether Release was called.
func (v *View) Released() bool { return v.released.Load() }

// Meta returns the blob committed with this generation (verified by View).
// The caller must not modify it.
//
// WARNING: on a View from ViewLazy it returns nil when the blob is damaged
// or cannot be read; use LoadMeta there.
func (v *View) Meta() []byte {
	b, _ := v.LoadMeta()
	return b
}

// LoadMeta returns the blob committed with this generation, read and
// verified in full the first time (SM3 costs about 6 ms per MiB; ReadMeta
// reads parts). The error wraps ErrDamaged when it is damaged (see Reset).
// The caller must not modify the blob.
func (v *View) LoadMeta() ([]byte, error) {
	g := v.g
	g.metaMu.Lock()
	defer g.metaMu.Unlock()
	if g.metaOK {
		return g.meta, nil
	}
	if g.metaErr != nil {
		return nil, g.metaErr
	}
	b, err := readMeta(v.s.dir, g.metaFile.info)
	if err != nil {
		if errors.Is(err, ErrDamaged) && !errors.Is(err, fs.ErrNotExist) {
			g.metaErr = err
		}
		return nil, v.staleErr(err)
	}
	g.meta, g.metaOK = b, true
	return b, nil
}

// MetaSize returns the length of the meta blob.
func (v *View) MetaSize() (int64, error) {
	if v.g.metaFile == nil {
		return 0, nil
	}
	vf, err := v.g.metaFile.mapped(v.s.dir)
	if err != nil {
		return 0, v.staleErr(err)
	}
	return vf.lay.dataLen - int64(len(dataMagic)), nil
}

// ReadMeta returns a copy of n bytes of the meta blob at off, verifying
// only the blocks they lie in: a caller that keeps an index at the start
// of its blob can fetch one certificate without hashing megabytes.
func (v *View) ReadMeta(off, n int64) (b []byte, err error) {
	if v.released.Load() {
		return nil, ErrClosed
	}
	if v.g.metaFile == nil {
		if off == 0 && n == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("statusfile: meta range [%d, %d) beyond its 0 bytes", off, off+n)
	}
	vf, err := v.g.metaFile.mapped(v.s.dir)
	if err != nil {
		return nil, v.staleErr(err)
	}
	if size := vf.lay.dataLen - int64(len(dataMagic)); off < 0 || n < 0 || off > size-n {
		return nil, fmt.Errorf("statusfile: meta range [%d, %d) beyond its %d bytes", off, off+n, size)
	}
	old := faultGuard()
	defer faultRestore(old)
	defer recoverFault(&err)
	if _, err := vf.read(0, int64(len(dataMagic)), true, nil); err != nil {
		return nil, err
	}
	if string(vf.mm[:len(dataMagic)]) != dataMagic {
		return nil, damaged(vf.name, "bad data magic")
	}
	d, err := vf.read(off+int64(len(dataMagic)), n, true, nil)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), d...), nil
}

// Generation is the commit counter of this generation (0: nothing committed).
func (v *View) Generation() uint64 { return v.g.man.gen }

// Has reports whether the generation holds a list for k (possibly empty).
func (v *View) Has(k Key) bool { return v.g.keys[k] != nil }

// Count is the number of idHashes of k whose latest applied entry has a
// status other than 0, as computed when the list was written.
func (v *View) Count(k Key) int {
	if gk := v.g.keys[k]; gk != nil {
		return int(gk.count)
	}
	return 0
}

// Keys lists the generation's lists in order (CA bytes, then issuer).
func (v *View) Keys() []Key {
	ks := make([]Key, len(v.g.man.keys))
	for i, k := range v.g.man.keys {
		ks[i] = k.key
	}
	return ks
}

// Lookup returns the status of idHash h in list k at time at (epoch
// seconds): of the entries for h applied since the last full list, the
// last applied one with Since ≤ at. found is false when there is none or
// its status is 0. Every byte it reads is verified by SM3 (once per
// process); damage is reported as a *KeyError wrapping ErrDamaged, never
// as "not found".
func (v *View) Lookup(k Key, h [16]byte, at int64) (e Entry, found bool, err error) {
	if v.released.Load() {
		return Entry{}, false, ErrClosed
	}
	gk := v.g.keys[k]
	if gk == nil {
		return Entry{}, false, nil
	}
	old := faultGuard()
	defer faultRestore(old)
	defer recoverFault(&err)
	for i := len(gk.runs) - 1; i >= 0; i-- {
		st, since, ok, err := gk.runs[i].lookup(v.s.dir, k, &h, at)
		if err != nil {
			return Entry{}, false, &KeyError{Key: k, Err: v.staleErr(err)}
		}
		if ok {
			if st == 0 {
				return Entry{}, false, nil
			}
			return Entry{IDHash: h, Status: st, Since: since}, true, nil
		}
	}
	return Entry{}, false, nil
}

// recoverFault turns a fault while reading a mapped file (truncated under
// us) into ErrDamaged; other panics go on.
func recoverFault(err *error) {
	if r := recover(); r != nil {
		if f, ok := r.(interface{ Addr() uintptr }); ok {
			*err = fmt.Errorf("%w: fault reading a mapped file at %#x", ErrDamaged, f.Addr())
			return
		}
		panic(r)
	}
}

// isStale reports whether g is no longer the committed generation.
func (s *Store) isStale(g *generation) bool {
	cur, err := s.current()
	if err != nil {
		return false
	}
	defer s.release(cur)
	return cur != g
}

// mapped returns the file mapped, mapping it the first time.
func (mf *mfile) mapped(dir string) (*vfile, error) {
	if vf := mf.vf.Load(); vf != nil {
		return vf, nil
	}
	mf.mu.Lock()
	defer mf.mu.Unlock()
	return mf.mappedLocked(dir)
}

func (mf *mfile) mappedLocked(dir string) (*vfile, error) {
	if mf.err != nil {
		return nil, mf.err
	}
	if vf := mf.vf.Load(); vf != nil {
		return vf, nil
	}
	vf, err := openVFile(dir, mf.info, true)
	if err != nil {
		// Files never change: damage stays (a missing file may be a stale
		// View instead, so it is not remembered).
		if errors.Is(err, ErrDamaged) && !errors.Is(err, fs.ErrNotExist) {
			mf.err = err
		}
		return nil, err
	}
	mf.vf.Store(vf)
	return vf, nil
}

// open maps the run's file and reads its run header.
func (rh *runHandle) open(dir string, k Key) (*runInfo, *vfile, error) {
	mf := rh.mf
	mf.mu.Lock()
	defer mf.mu.Unlock()
	vf, err := mf.mappedLocked(dir)
	if err != nil {
		return nil, nil, err
	}
	ri := mf.runs[rh.ref.off]
	if ri == nil {
		b, err := vf.read(rh.ref.off, runHdrLen, true, nil)
		if err != nil {
			return nil, nil, err
		}
		if ri, err = parseRunHeader(vf.name, b, rh.ref.off, vf.lay.dataLen); err != nil {
			return nil, nil, err
		}
		mf.runs[rh.ref.off] = ri
	}
	if ri.n != rh.ref.n || ri.tag != keyTag(k) {
		return nil, nil, damaged(vf.name, "run at %d is not the manifest's", rh.ref.off)
	}
	rh.info.Store(ri)
	return ri, vf, nil
}

func (rh *runHandle) lookup(dir string, k Key, h *[16]byte, at int64) (uint8, int64, bool, error) {
	ri, vf := rh.info.Load(), rh.mf.vf.Load()
	if ri == nil || vf == nil {
		var err error
		if ri, vf, err = rh.open(dir, k); err != nil {
			return 0, 0, false, err
		}
	}
	read := func(off, n int64) ([]byte, error) { return vf.read(off, n, true, nil) }
	hv, lv := binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])
	if may, err := ri.mayHold(hv, lv, read); err != nil || !may {
		return 0, 0, false, err
	}
	lo, hi, err := ri.bucketRange(vf.name, ri.bucket(h), read)
	if err != nil {
		return 0, 0, false, err
	}
	recs, err := vf.read(ri.recOff+lo*ri.recW, (hi-lo)*ri.recW, true, nil)
	if err != nil {
		return 0, 0, false, err
	}
	rc, ok, err := ri.find(vf.name, recs, hv, lv)
	if err != nil || !ok {
		return 0, 0, false, err
	}
	if rc.st != stMulti {
		return rc.st, rc.since, rc.since <= at, nil
	}
	hist, err := vf.read(ri.histOff+rc.p*ri.hw, rc.m*ri.hw, true, nil)
	if err != nil {
		return 0, 0, false, err
	}
	return ri.pick(vf.name, hist, at, false)
}
