package statusfile

import (
	"context"
	"encoding/binary"
	"errors"
	"math/bits"
	"os"
	"slices"
)

// compactBatchBytes bounds the bytes one Compact commit rewrites, so that
// an Update waits at most for one batch.
const compactBatchBytes = 64 << 20

// Compact merges every list's delta overlays (and lists made only of
// deltas) into one base file per list, applying the lossless rule, so
// lookups read one run per list and the overlay files go away. It commits
// in batches, each an ordinary atomic commit serialised with Update (the
// writer lock is released between batches), so readers are unaffected and
// a crash at any point leaves the last committed batch. Lists found
// damaged are left as they are and reported as *KeyError (wrapping
// ErrDamaged) joined in the returned error; the others are compacted.
func (s *Store) Compact(ctx context.Context) error {
	skip := map[Key]bool{}
	var errs []error
	for {
		done, err := s.compactBatch(ctx, skip, &errs)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if done {
			return errors.Join(errs...)
		}
	}
}

// needsMerge reports whether a key's runs are more than one base.
func needsMerge(k *keyRec, files map[uint64]fileInfo) bool {
	return len(k.runs) > 1 || (len(k.runs) == 1 && files[k.runs[0].file].kind != kindBase)
}

func (s *Store) compactBatch(ctx context.Context, skip map[Key]bool, errs *[]error) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	unlockW, err := s.lockWriter(ctx)
	if err != nil {
		return false, err
	}
	defer unlockW()
	old, _, _, err := s.readManifest()
	if err != nil {
		return false, err
	}
	s.gc(old)
	var todo []int
	for i := range old.keys {
		if !skip[old.keys[i].key] && needsMerge(&old.keys[i], old.files) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return true, nil
	}
	nm := old.clone()
	m := &merger{dir: s.dir, files: nm.files, readers: map[uint64]*vfile{}}
	defer m.close()
	var created []uint64
	fail := func(err error) (bool, error) {
		for _, id := range created {
			os.Remove(s.path(fileName(id)))
		}
		return false, err
	}
	var written int64
	changed := false
	for _, i := range todo {
		if written >= compactBatchBytes || ctx.Err() != nil {
			break
		}
		kr := &nm.keys[i]
		id := nm.nextID
		res, err := m.merge(kr, id)
		if err != nil {
			if errors.Is(err, ErrDamaged) {
				skip[kr.key] = true
				*errs = append(*errs, &KeyError{Key: kr.key, Err: err})
				continue
			}
			return fail(err)
		}
		changed = true
		kr.runs, kr.count = nil, res.count
		if res.fi != nil {
			nm.nextID++
			created = append(created, id)
			nm.files[id] = *res.fi
			kr.runs = []runRef{{file: id, off: res.ri.off, n: res.ri.n, e: res.ri.entries}}
			written += res.fi.size
		}
	}
	if !changed {
		return false, ctx.Err()
	}
	meta, err := s.loadMeta(old)
	if err != nil {
		return fail(err)
	}
	if err := s.commitLocked(old, nm, meta); err != nil {
		return fail(err)
	}
	return false, nil
}

// merger rewrites lists, reading with pread and verifying every leaf.
type merger struct {
	dir     string
	files   map[uint64]fileInfo
	readers map[uint64]*vfile
	group   []rec
	tops    []uint32
}

func (m *merger) close() {
	for _, vf := range m.readers {
		vf.close()
	}
}

func (m *merger) open(k Key, r runRef) (*cursor, error) {
	vf := m.readers[r.file]
	if vf == nil {
		var err error
		if vf, err = openVFile(m.dir, m.files[r.file], false); err != nil {
			return nil, err
		}
		m.readers[r.file] = vf
	}
	return newCursor(vf, k, r)
}

type mergeResult struct {
	count int64
	ri    *runInfo
	fi    *fileInfo
}

// pass merges the runs of k in hash order and calls emit with the
// surviving entries of every idHash; it returns the count of idHashes
// whose latest entry has a status.
func (m *merger) pass(k *keyRec, emit func(g []rec)) (int64, error) {
	cs := make([]*cursor, len(k.runs))
	for i, r := range k.runs {
		c, err := m.open(k.key, r)
		if err != nil {
			return 0, err
		}
		if err := c.next(); err != nil {
			return 0, err
		}
		cs[i] = c
	}
	var count int64
	// take appends the entries of (hi, lo) that c holds, in order.
	take := func(g []rec, c *cursor, hi, lo uint64) ([]rec, error) {
		for c.ok && c.cur.hi == hi && c.cur.lo == lo {
			e := c.cur
			e.ord = uint32(len(g))
			g = append(g, e)
			if err := c.next(); err != nil {
				return g, err
			}
		}
		return g, nil
	}
	flush := func(g []rec) {
		m.group = g
		if g[len(g)-1].st != 0 {
			count++
		}
		if g = compactGroup(g, true); len(g) > 0 {
			emit(g)
		}
	}
	base := cs[0]
	for {
		// The smallest idHash of the later runs; the first run's entries
		// below it need no merging.
		var next *cursor
		for _, c := range cs[1:] {
			if c.ok && (next == nil || c.cur.hi < next.cur.hi || (c.cur.hi == next.cur.hi && c.cur.lo < next.cur.lo)) {
				next = c
			}
		}
		for base.ok && (next == nil || base.cur.hi < next.cur.hi || (base.cur.hi == next.cur.hi && base.cur.lo < next.cur.lo)) {
			g, err := take(m.group[:0], base, base.cur.hi, base.cur.lo)
			if err != nil {
				return 0, err
			}
			flush(g)
		}
		if next == nil {
			return count, nil
		}
		hi, lo := next.cur.hi, next.cur.lo
		g := m.group[:0]
		for _, c := range cs { // apply order: the first run first
			var err error
			if g, err = take(g, c, hi, lo); err != nil {
				return 0, err
			}
		}
		flush(g)
	}
}

// merge writes k's runs as one base run in a new file id (none when no
// entry survives). It reads the runs twice: for the shape and the bucket
// counts (from the first 32 bits of every idHash, 4 bytes each), then to
// write.
func (m *merger) merge(k *keyRec, id uint64) (mergeResult, error) {
	sh := newShape()
	tops := m.tops[:0]
	count, err := m.pass(k, func(g []rec) {
		sh.addGroup(g)
		tops = append(tops, uint32(g[0].hi>>32))
	})
	m.tops = tops[:0]
	if err != nil {
		return mergeResult{}, err
	}
	if sh.n == 0 {
		return mergeResult{count: count}, nil
	}
	w, err := createFile(m.dir, id, kindBase)
	if err != nil {
		return mergeResult{}, err
	}
	rw := startRun(w, &sh, keyTag(k.key), func(bb uint) []uint32 {
		counts := make([]uint32, max(1, 1<<bb))
		if bb > 0 {
			for _, t := range tops {
				counts[t>>(32-bb)]++
			}
		}
		return counts
	}, nil)
	var n2 int64
	_, err = m.pass(k, func(g []rec) {
		if n2++; n2 <= sh.n {
			rw.addGroup(g)
		}
	})
	if err != nil || n2 != sh.n {
		w.abort()
		if err == nil {
			err = damaged(fileName(k.runs[0].file), "files changed while compacting")
		}
		return mergeResult{}, err
	}
	ri := rw.finish()
	fi, err := w.finish(kindBase)
	if err != nil {
		return mergeResult{}, err
	}
	return mergeResult{count: count, ri: ri, fi: &fi}, nil
}

// cursor walks a run's entries in order with pread, verifying every leaf
// and the run's structure (bucket table, order, statuses, history).
type cursor struct {
	vf           *vfile
	ri           *runInfo
	filter       []byte // the run's filter, if any (checked to hold every record)
	vec          []byte // the directory's bits (validated)
	vpos         int64
	hist         []byte
	idx, bucket  int64
	raw, buf     []byte
	bufLo, bufHi int64
	pend         []rec // history entries of the current idHash still to give
	cur          rec
	ok           bool
	started      bool
	prevHi       uint64
	prevLo       uint64
}

const cursorChunk = 64 << 10

func newCursor(vf *vfile, k Key, r runRef) (*cursor, error) {
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
	return cursorFor(vf, ri)
}

// cursorFor starts a cursor on a parsed run.
func cursorFor(vf *vfile, ri *runInfo) (*cursor, error) {
	c := &cursor{vf: vf, ri: ri, raw: make([]byte, cursorChunk+2<<maxLeafShift)}
	if ri.fBlocks > 0 {
		f, err := vf.read(ri.filterOff, ri.fBlocks*filterBlk, true, nil)
		if err != nil {
			return nil, err
		}
		c.filter = slices.Clone(f)
	}
	if ri.bb > 0 {
		d, err := vf.read(ri.dirOff, ri.recOff-ri.dirOff, true, nil)
		if err != nil {
			return nil, err
		}
		if err := checkDirectory(vf.name, ri, d); err != nil {
			return nil, err
		}
		c.vec = slices.Clone(d[ri.sampN*4:])
	}
	h, err := vf.read(ri.histOff, ri.end-ri.histOff, true, nil)
	if err != nil {
		return nil, err
	}
	c.hist = slices.Clone(h)
	return c, nil
}

// checkDirectory checks that a directory has n 1 bits and 2^bb 0 bits
// (then only 0 padding) and that every sample names its 0.
func checkDirectory(name string, ri *runInfo, d []byte) error {
	vec := d[ri.sampN*4:]
	total := ri.n + int64(1)<<ri.bb
	var zeros int64 // zeros before word w
	for w := int64(0); w < ri.vecWords; w++ {
		x := binary.LittleEndian.Uint64(vec[w*8:])
		valid := min(64, max(0, total-w*64)) // bits of this word inside the vector
		if valid < 64 && x>>valid != 0 {
			return damaged(name, "bucket directory padding")
		}
		z := ^x
		if valid < 64 {
			z &= 1<<valid - 1
		}
		c := int64(bits.OnesCount64(z))
		// Samples name zeros number k·selStep for k with zeros ≤ k·selStep < zeros+c.
		for k := (zeros + selStep - 1) / selStep; k*selStep < zeros+c; k++ {
			y := z
			for r := k*selStep - zeros; r > 0; r-- {
				y &= y - 1
			}
			if int64(binary.LittleEndian.Uint32(d[k*4:])) != w*64+int64(bits.TrailingZeros64(y)) {
				return damaged(name, "bucket directory sample %d", k)
			}
		}
		zeros += c
	}
	if zeros != int64(1)<<ri.bb || total-zeros != ri.n {
		return damaged(name, "bucket directory counts")
	}
	return nil
}

// bit reports bit p of the cursor's directory.
func (c *cursor) bit(p int64) bool { return c.vec[p/8]>>(p%8)&1 != 0 }

// next moves to the next entry (c.ok false at the end).
func (c *cursor) next() error {
	if len(c.pend) > 0 {
		c.cur, c.pend = c.pend[0], c.pend[1:]
		return nil
	}
	ri := c.ri
	if c.idx >= ri.n {
		c.ok = false
		return nil
	}
	if ri.bb > 0 {
		// The record's 1 bit: every 0 before it closes a bucket.
		for !c.bit(c.vpos) {
			c.bucket++
			c.vpos++
		}
		c.vpos++
	}
	if c.idx >= c.bufHi {
		cnt := min(ri.n-c.idx, max(1, cursorChunk/ri.recW))
		b, err := c.vf.read(ri.recOff+c.idx*ri.recW, cnt*ri.recW, true, c.raw)
		if err != nil {
			return err
		}
		c.bufLo, c.bufHi = c.idx, c.idx+cnt
		c.buf = b
	}
	r := c.buf[(c.idx-c.bufLo)*ri.recW:][:ri.recW]
	hi, lo := ri.getRem(r)
	if ri.bb > 0 {
		hi |= uint64(c.bucket) << (64 - ri.bb)
	}
	if c.started && (hi < c.prevHi || (hi == c.prevHi && lo <= c.prevLo)) {
		return damaged(c.vf.name, "records out of order")
	}
	c.prevHi, c.prevLo, c.started = hi, lo, true
	if c.filter != nil {
		blk, p := filterPos(hi, lo, ri.fBlocks)
		if !filterHas(c.filter[blk*filterBlk:(blk+1)*filterBlk], &p) {
			return damaged(c.vf.name, "filter lacks a record")
		}
	}
	rc, err := ri.decodeRecord(c.vf.name, r)
	if err != nil {
		return err
	}
	c.idx++
	if rc.st != stMulti {
		c.cur, c.ok = rec{hi: hi, lo: lo, st: rc.st, since: rc.since}, true
		return nil
	}
	c.pend = c.pend[:0]
	for i := rc.p; i < rc.p+rc.m; i++ {
		st, since, err := ri.decodeHist(c.vf.name, c.hist[i*ri.hw:(i+1)*ri.hw])
		if err != nil {
			return err
		}
		c.pend = append(c.pend, rec{hi: hi, lo: lo, st: st, since: since})
	}
	c.cur, c.pend, c.ok = c.pend[0], c.pend[1:], true
	return nil
}
