package statusfile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Tx is one Update's view of the store: changes are collected and become
// visible together when the Update function returns nil. A Tx is not safe
// for concurrent use and must not be used after the function returns.
type Tx struct {
	s       *Store
	ctx     context.Context
	old     *manifest
	oldMeta []byte
	files   map[uint64]fileInfo // the old generation's and the new files
	keys    map[Key]*keyRec
	pending map[Key][]Entry // deltas of this Tx, in apply order
	meta    []byte
	metaSet bool
	changed bool
	nextID  uint64
	created []uint64
	done    bool
	b       *builder
	rd      *priorReader
}

// Update runs fn with the writer lock held (one writer at a time across
// goroutines and processes; it waits until ctx ends, then ErrLocked) and
// commits what fn did when it returns nil. On any error nothing becomes
// visible and the files written so far are removed. Readers are never
// blocked. A full disk gives an error wrapping ErrFull. A damaged manifest
// gives ErrDamaged: use Reset.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	unlockW, err := s.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer unlockW()
	old, _, _, err := s.readManifest()
	if err != nil {
		return err
	}
	s.gc(old)
	tx := &Tx{s: s, ctx: ctx, old: old, files: maps.Clone(old.files), keys: make(map[Key]*keyRec, len(old.keys)),
		pending: map[Key][]Entry{}, nextID: old.nextID, rd: newPriorReader(s.dir)}
	defer tx.rd.close()
	// A damaged meta leaves Meta nil; only a Tx that calls SetMeta commits.
	var metaErr error
	tx.oldMeta, metaErr = s.loadMeta(old)
	for _, k := range old.keys {
		kc := k
		kc.runs = slices.Clone(k.runs)
		tx.keys[k.key] = &kc
	}
	err = fn(tx)
	tx.done = true
	if err == nil {
		err = ctx.Err()
	}
	if err == nil && tx.changed && metaErr != nil && !tx.metaSet {
		err = metaErr
	}
	if err == nil && tx.changed {
		err = tx.commit()
	}
	if err != nil {
		for _, id := range tx.created {
			os.Remove(s.path(fileName(id)))
		}
		return err
	}
	return nil
}

func (tx *Tx) check(k Key) error {
	if tx.done {
		return ErrTxDone
	}
	if len(k.Issuer) > MaxIssuerLen {
		return fmt.Errorf("%w: issuer of %d bytes", ErrBadKey, len(k.Issuer))
	}
	return nil
}

func (tx *Tx) newID() uint64 {
	id := tx.nextID
	tx.nextID++
	tx.created = append(tx.created, id)
	return id
}

// Meta returns the meta blob as this Tx will commit it (the committed one
// until SetMeta). The caller must not modify it.
func (tx *Tx) Meta() []byte {
	if tx.metaSet {
		return tx.meta
	}
	return tx.oldMeta
}

// SetMeta replaces the meta blob committed with this Tx (copied).
func (tx *Tx) SetMeta(b []byte) {
	if tx.done {
		return
	}
	tx.meta, tx.metaSet, tx.changed = bytes.Clone(b), true, true
}

// Has reports whether k has a list as this Tx stands.
func (tx *Tx) Has(k Key) bool { return tx.keys[k] != nil }

// Drop removes list k.
func (tx *Tx) Drop(k Key) {
	if tx.done {
		return
	}
	if _, ok := tx.keys[k]; ok {
		delete(tx.keys, k)
		delete(tx.pending, k)
		tx.changed = true
	}
}

// Replace makes entries (a full list, in any order; apply order is the
// sequence's order) the whole state of k. The entries are streamed into a
// new file; only this list is held in memory (25 bytes an entry). An error
// from the sequence is returned as is; the Tx stays usable.
func (tx *Tx) Replace(k Key, entries iter.Seq2[Entry, error]) error {
	if err := tx.check(k); err != nil {
		return err
	}
	if tx.b == nil {
		tx.b = &builder{}
	}
	b := tx.b
	defer b.reset()
	var i int64
	for e, err := range entries {
		if err != nil {
			return err
		}
		if e.Status > 2 {
			return fmt.Errorf("%w: entry %d has status %d", ErrBadEntry, i, e.Status)
		}
		if i >= math.MaxInt32 {
			return fmt.Errorf("%w: more than %d entries in one list", ErrBadEntry, math.MaxInt32)
		}
		b.add(&e)
		i++
		if i&0xffff == 0 {
			if err := tx.ctx.Err(); err != nil {
				return err
			}
		}
	}
	n := b.prepare()
	kr := &keyRec{key: k, count: b.count}
	if n > 0 {
		id := tx.newID()
		w, err := createFile(tx.s.dir, id, kindBase)
		if err != nil {
			return err
		}
		ri := b.write(w, keyTag(k))
		fi, err := w.finish(kindBase)
		if err != nil {
			return err
		}
		tx.files[id] = fi
		kr.runs = []runRef{{file: id, off: ri.off, n: ri.n, e: ri.entries}}
	}
	tx.keys[k] = kr
	delete(tx.pending, k)
	tx.changed = true
	return nil
}

// Append applies a delta to k: entries in apply order, after everything
// applied before. A key without a list gets one made of the delta. The
// entries are copied; they are written when the Update commits, in one
// file for every key the Tx appends to.
func (tx *Tx) Append(k Key, entries []Entry) error {
	if err := tx.check(k); err != nil {
		return err
	}
	for i, e := range entries {
		if e.Status > 2 {
			return fmt.Errorf("%w: entry %d has status %d", ErrBadEntry, i, e.Status)
		}
	}
	if len(tx.pending[k])+len(entries) >= math.MaxInt32 {
		return fmt.Errorf("%w: delta too large", ErrBadEntry)
	}
	if tx.keys[k] == nil {
		tx.keys[k] = &keyRec{key: k}
	}
	tx.pending[k] = append(tx.pending[k], entries...)
	tx.changed = true
	return nil
}

func (tx *Tx) commit() error {
	nm := &manifest{meta: tx.old.meta, files: tx.files}
	if len(tx.pending) > 0 {
		if err := tx.writeSegment(nm); err != nil {
			return err
		}
	}
	meta := tx.oldMeta
	if tx.metaSet {
		meta = tx.meta
		switch {
		case len(tx.meta) == 0:
			nm.meta = 0
		case tx.old.meta != 0 && bytes.Equal(tx.meta, tx.oldMeta):
		default:
			id := tx.newID()
			w, err := createFile(tx.s.dir, id, kindMeta)
			if err != nil {
				return err
			}
			w.write(tx.meta)
			fi, err := w.finish(kindMeta)
			if err != nil {
				return err
			}
			nm.files[id] = fi
			nm.meta = id
		}
	}
	nm.keys = make([]keyRec, 0, len(tx.keys))
	for _, kr := range tx.keys {
		nm.keys = append(nm.keys, *kr)
	}
	slices.SortFunc(nm.keys, func(a, b keyRec) int { return compareKeys(a.key, b.key) })
	nm.nextID = tx.nextID
	if err := tx.s.commitLocked(tx.old, nm, meta); err != nil {
		return err
	}
	// Files this Tx wrote and then superseded (a list replaced twice).
	ref := nm.referenced()
	for _, id := range tx.created {
		if !ref[id] {
			os.Remove(tx.s.path(fileName(id)))
		}
	}
	tx.created = nil
	return nil
}

// writeSegment writes one file with a run for every key with a delta. The
// keys' deltas are planned (compacted against what each idHash had) by
// up to GOMAXPROCS workers, each with its own reader; the runs are then
// written in key order.
func (tx *Tx) writeSegment(nm *manifest) error {
	keys := slices.SortedFunc(maps.Keys(tx.pending), compareKeys)
	plans, err := tx.planDeltas(keys)
	if err != nil {
		return err
	}
	id := tx.newID()
	w, err := createFile(tx.s.dir, id, kindSegment)
	if err != nil {
		return err
	}
	wrote := false
	for i, k := range keys {
		if err := tx.ctx.Err(); err != nil {
			w.abort()
			return err
		}
		kr := tx.keys[k]
		kr.count = plans[i].count
		if ri := plans[i].write(w, kr.key); ri != nil {
			kr.runs = append(kr.runs, runRef{file: id, off: ri.off, n: ri.n, e: ri.entries})
			wrote = true
		}
	}
	if !wrote {
		w.abort()
		return nil
	}
	fi, err := w.finish(kindSegment)
	if err != nil {
		return err
	}
	nm.files[id] = fi
	return nil
}

// deltaPlan is one key's delta, compacted: the groups of records its run
// holds, their shape, and the key's entry count after it.
type deltaPlan struct {
	groups [][]rec
	sh     shape
	count  int64
}

// planDeltas plans the delta of each key (in keys' order), in parallel
// when there are several keys and cores. Planning only reads: the keys'
// records and runs as they were before this commit.
func (tx *Tx) planDeltas(keys []Key) ([]deltaPlan, error) {
	plans := make([]deltaPlan, len(keys))
	workers := min(runtime.GOMAXPROCS(0), len(keys)/8+1)
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for wk := range workers {
		rd := tx.rd
		if wk > 0 {
			rd = newPriorReader(tx.s.dir)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if wk > 0 {
				defer rd.close()
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(keys) || tx.ctx.Err() != nil {
					return
				}
				k := keys[i]
				p, err := planDelta(rd, tx.keys[k], tx.pending[k], tx.files)
				if err != nil {
					errs[wk] = err
					next.Store(int64(len(keys))) // stop the others
					return
				}
				plans[i] = p
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := tx.ctx.Err(); err != nil {
		return nil, err
	}
	return plans, nil
}

// planDelta compacts one key's delta. Entries made dead by later ones in
// the delta go; leading status-0 entries of an idHash the list never had
// go too. The count is updated from the latest entry each idHash had
// before.
func planDelta(rd *priorReader, kr *keyRec, entries []Entry, files map[uint64]fileInfo) (deltaPlan, error) {
	recs := make([]rec, len(entries))
	for i := range entries {
		recs[i] = recOf(&entries[i].IDHash, entries[i].Status, entries[i].Since, uint32(i))
	}
	slices.SortFunc(recs, cmpRec)
	if err := rd.expect(kr, len(recs), files); err != nil {
		return deltaPlan{}, &KeyError{Key: kr.key, Err: err}
	}
	p := deltaPlan{sh: newShape(), count: kr.count}
	p.sh.filter = true
	for a := 0; a < len(recs); {
		z := a + 1
		for z < len(recs) && recs[z].hi == recs[a].hi && recs[z].lo == recs[a].lo {
			z++
		}
		exists, pst, err := rd.latest(recs[a].hi, recs[a].lo)
		if err != nil {
			return deltaPlan{}, &KeyError{Key: kr.key, Err: err}
		}
		if exists && pst != 0 {
			p.count--
		}
		if recs[z-1].st != 0 {
			p.count++
		}
		if g := compactGroup(recs[a:z], !exists); len(g) > 0 {
			p.sh.addGroup(g)
			p.groups = append(p.groups, g)
		}
		a = z
	}
	return p, nil
}

// write writes the plan's run for key to w (nil: the delta left nothing).
func (p *deltaPlan) write(w *fileWriter, key Key) *runInfo {
	if len(p.groups) == 0 {
		return nil
	}
	groups := p.groups
	rw := startRun(w, &p.sh, keyTag(key), func(bb uint) []uint32 {
		counts := make([]uint32, max(1, 1<<bb))
		for _, g := range groups {
			counts[bucketOf(g[0].hi, bb)]++
		}
		return counts
	}, func(fn func(hi, lo uint64)) {
		for _, g := range groups {
			fn(g[0].hi, g[0].lo)
		}
	})
	for _, g := range groups {
		rw.addGroup(g)
	}
	return rw.finish()
}

// priorReader answers "latest entry applied so far" for a writer, with
// pread (no mapping, so the writer's memory stays small). Run headers and
// bucket tables are verified; records of large runs are read without
// verification: a damaged record can only make a count wrong, never a
// lookup (Lookup, Compact and Check verify everything they use).
type priorReader struct {
	dir   string
	files map[uint64]*vfile
	runs  map[runRef]*priorRun
	cur   []*priorRun // the runs of the key being written
	buf   []byte
}

type priorRun struct {
	vf     *vfile
	ri     *runInfo
	dir    []byte // the bucket directory
	filter []byte
	recs   []byte // the whole records area of a small run
	hist   []byte // the history area
	dense  bool
	win    []byte // records read ahead, from winOff
	winOff int64
}

const smallRun = 16 << 10

func newPriorReader(dir string) *priorReader {
	return &priorReader{dir: dir, files: map[uint64]*vfile{}, runs: map[runRef]*priorRun{}}
}

func (p *priorReader) close() {
	for _, vf := range p.files {
		vf.close()
	}
}

func (p *priorReader) run(k Key, r runRef, files map[uint64]fileInfo) (*priorRun, error) {
	if pr := p.runs[r]; pr != nil {
		return pr, nil
	}
	vf := p.files[r.file]
	if vf == nil {
		var err error
		if vf, err = openVFile(p.dir, files[r.file], false); err != nil {
			return nil, err
		}
		p.files[r.file] = vf
	}
	hb, err := vf.read(r.off, runHdrLen, true, nil)
	if err != nil {
		return nil, err
	}
	ri, err := parseRunHeader(vf.name, hb, r.off, vf.lay.dataLen)
	if err != nil {
		return nil, err
	}
	if ri.n != r.n || ri.tag != keyTag(k) {
		return nil, damaged(vf.name, "run at %d is not the manifest's", r.off)
	}
	pr := &priorRun{vf: vf, ri: ri}
	if pr.dir, err = vf.read(ri.dirOff, ri.recOff-ri.dirOff, true, nil); err != nil {
		return nil, err
	}
	if pr.filter, err = vf.read(ri.filterOff, ri.fBlocks*filterBlk, true, nil); err != nil {
		return nil, err
	}
	if pr.hist, err = vf.read(ri.histOff, ri.end-ri.histOff, true, nil); err != nil {
		return nil, err
	}
	if ri.histOff-ri.recOff <= smallRun {
		if pr.recs, err = vf.read(ri.recOff, ri.histOff-ri.recOff, true, nil); err != nil {
			return nil, err
		}
	}
	p.runs[r] = pr
	return pr, nil
}

// latest returns whether the idHash (hi, lo) has an entry in the runs
// given to expect, and the status of the last one.
func (p *priorReader) latest(hi, lo uint64) (bool, uint8, error) {
	var h [16]byte
	binary.BigEndian.PutUint64(h[:8], hi)
	binary.BigEndian.PutUint64(h[8:], lo)
	for i := len(p.cur) - 1; i >= 0; i-- {
		pr := p.cur[i]
		ri := pr.ri
		if may, err := ri.mayHold(hi, lo, pr.readFilter); err != nil {
			return false, 0, err
		} else if !may {
			continue
		}
		a, z, err := ri.bucketRange(pr.vf.name, ri.bucket(&h), pr.readDir)
		if err != nil {
			return false, 0, err
		}
		recs, err := pr.records(ri.recOff+a*ri.recW, (z-a)*ri.recW, &p.buf)
		if err != nil {
			return false, 0, err
		}
		rc, ok, err := ri.find(pr.vf.name, recs, hi, lo)
		if err != nil {
			return false, 0, err
		}
		if !ok {
			continue
		}
		if rc.st != stMulti {
			return true, rc.st, nil
		}
		st, _, _, err := ri.pick(pr.vf.name, pr.hist[rc.p*ri.hw:(rc.p+rc.m)*ri.hw], 0, true)
		return true, st, err
	}
	return false, 0, nil
}

// expect tells the reader how many lookups in increasing hash order the
// key's runs are about to get: when they are dense (a lookup every few
// KiB), records are read in 64 KiB windows instead of one pread each.
func (p *priorReader) expect(kr *keyRec, lookups int, files map[uint64]fileInfo) error {
	p.cur = p.cur[:0]
	for _, r := range kr.runs {
		pr, err := p.run(kr.key, r, files)
		if err != nil {
			return err
		}
		p.cur = append(p.cur, pr)
		pr.dense = int64(lookups)*denseGap >= pr.ri.histOff-pr.ri.recOff
		pr.win, pr.winOff = pr.win[:0], 0
	}
	return nil
}

const (
	denseGap  = 8 << 10 // a pread costs about as much as copying this
	winLength = 64 << 10
)

func (pr *priorRun) readFilter(off, n int64) ([]byte, error) {
	o := off - pr.ri.filterOff
	return pr.filter[o : o+n], nil
}

func (pr *priorRun) readDir(off, n int64) ([]byte, error) {
	o := off - pr.ri.dirOff
	if o < 0 || o+n > int64(len(pr.dir)) {
		return nil, damaged(pr.vf.name, "directory reference out of range")
	}
	return pr.dir[o : o+n], nil
}

// records returns n record bytes at off, from the whole records area of a
// small run, from the current window, or read (unverified).
func (pr *priorRun) records(off, n int64, buf *[]byte) ([]byte, error) {
	ri := pr.ri
	if pr.recs != nil {
		return pr.recs[off-ri.recOff : off-ri.recOff+n], nil
	}
	if !pr.dense {
		b, err := pr.vf.read(off, n, false, *buf)
		if err == nil && cap(b) > cap(*buf) {
			*buf = b[:0]
		}
		return b, err
	}
	if off < pr.winOff || off+n > pr.winOff+int64(len(pr.win)) {
		l := min(max(winLength, n), ri.histOff-off)
		b, err := pr.vf.read(off, l, false, pr.win)
		if err != nil {
			return nil, err
		}
		pr.win, pr.winOff = b, off
	}
	return pr.win[off-pr.winOff : off-pr.winOff+n], nil
}
