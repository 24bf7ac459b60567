package statusfile

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
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
			kr.runs = []runRef{{file: id, off: res.ri.off, n: res.ri.n}}
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

// pass merges the runs of k in hash order and calls emit with every
// surviving entry; it returns the count of idHashes whose latest entry
// has a status.
func (m *merger) pass(k *keyRec, emit func(e *rec)) (int64, error) {
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
	for {
		var best *cursor
		for _, c := range cs {
			if c.ok && (best == nil || c.cur.hi < best.cur.hi || (c.cur.hi == best.cur.hi && c.cur.lo < best.cur.lo)) {
				best = c
			}
		}
		if best == nil {
			return count, nil
		}
		hi, lo := best.cur.hi, best.cur.lo
		g := m.group[:0]
		for _, c := range cs { // apply order: the base first
			for c.ok && c.cur.hi == hi && c.cur.lo == lo {
				e := c.cur
				e.ord = uint32(len(g))
				g = append(g, e)
				if err := c.next(); err != nil {
					return 0, err
				}
			}
		}
		m.group = g
		if g[len(g)-1].st != 0 {
			count++
		}
		for _, e := range compactGroup(g, true) {
			emit(&e)
		}
	}
}

// merge writes k's runs as one base run in a new file id (none when no
// entry survives).
func (m *merger) merge(k *keyRec, id uint64) (mergeResult, error) {
	var nUp int64
	for _, r := range k.runs {
		nUp += r.n
	}
	bb, sb, _ := runParams(nUp, 0, 0)
	counts := make([]uint32, max(1, 1<<bb))
	var n int64
	minS, maxS := int64(math.MaxInt64), int64(math.MinInt64)
	count, err := m.pass(k, func(e *rec) {
		n++
		minS, maxS = min(minS, e.since), max(maxS, e.since)
		counts[bucketOf(e.hi, bb)]++
	})
	if err != nil {
		return mergeResult{}, err
	}
	if n == 0 {
		return mergeResult{count: count}, nil
	}
	_, _, tw := runParams(n, minS, maxS)
	w, err := createFile(m.dir, id)
	if err != nil {
		return mergeResult{}, err
	}
	rw := startRun(w, n, bb, sb, tw, minS, keyTag(k.key), counts)
	var n2 int64
	if _, err := m.pass(k, func(e *rec) {
		if n2++; n2 <= n {
			h := e.hash()
			rw.add(&h, e.st, e.since)
		}
	}); err != nil || n2 != n {
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

// cursor walks a run's records in order with pread, verifying every leaf
// and the run's structure (bucket table, order, statuses).
type cursor struct {
	vf           *vfile
	ri           *runInfo
	table        []byte
	idx, bucket  int64
	raw, buf     []byte
	bufLo, bufHi int64
	cur          rec
	ok           bool
	started      bool
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
	c := &cursor{vf: vf, ri: ri, raw: make([]byte, cursorChunk+2<<maxLeafShift)}
	if ri.bb > 0 {
		t, err := vf.read(ri.tableOff, tableLen(ri.bb), true, nil)
		if err != nil {
			return nil, err
		}
		c.table = slices.Clone(t)
		var prev uint32
		for i := 0; i < len(c.table); i += 4 {
			v := binary.LittleEndian.Uint32(c.table[i:])
			if v < prev || (i == 0 && v != 0) {
				return nil, damaged(vf.name, "bucket table out of order")
			}
			prev = v
		}
		if int64(prev) != ri.n {
			return nil, damaged(vf.name, "bucket table does not end at the record count")
		}
	}
	return c, nil
}

func (c *cursor) tbl(b int64) int64 { return int64(binary.LittleEndian.Uint32(c.table[b*4:])) }

// next moves to the next record (c.ok false at the end).
func (c *cursor) next() error {
	ri := c.ri
	if c.idx >= ri.n {
		c.ok = false
		return nil
	}
	if ri.bb > 0 {
		for c.idx >= c.tbl(c.bucket+1) {
			c.bucket++
		}
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
	var h [16]byte
	if ri.s > 0 {
		var p [4]byte
		binary.BigEndian.PutUint32(p[:], uint32(c.bucket)<<(32-ri.bb))
		copy(h[:ri.s], p[:ri.s])
	}
	copy(h[ri.s:], r[:16-ri.s])
	st, since, ok := ri.decodeTail(r[16-ri.s:])
	if !ok {
		return damaged(c.vf.name, "record with status %d", st)
	}
	e := recOf(&h, st, since, 0)
	if bucketOf(e.hi, ri.bb) != c.bucket {
		return damaged(c.vf.name, "record outside its bucket")
	}
	if c.started && (e.hi < c.cur.hi || (e.hi == c.cur.hi && e.lo < c.cur.lo)) {
		return damaged(c.vf.name, "records out of order")
	}
	c.cur, c.ok, c.started = e, true, true
	c.idx++
	return nil
}
