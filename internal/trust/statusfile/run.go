package statusfile

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// A run is the sorted entries of one key inside a file (see doc.go): a
// 40-byte header, a filter (overlay runs), a bucket directory, one
// bit-packed record per idHash, and a history area for idHashes with
// several surviving entries.
const (
	runMagic  = "RUN2"
	runHdrLen = 40
	filterBlk = 64  // bytes of a filter block (one cache line)
	filterK   = 6   // bits set per idHash, all in one block
	maxBB     = 24  // at most 2^24 buckets
	selStep   = 256 // zeros between select samples of a directory
	stMulti   = 3   // record status: the entries are in the history area
)

type runInfo struct {
	off       int64 // of the run header in the data area
	n         int64 // records (distinct idHashes)
	histN     int64 // history entries
	entries   int64 // all entries (known to writers only)
	bb        uint  // bucket bits: the table has 2^bb+1 entries (none when 0)
	sinceBits uint
	ptrBits   uint
	cntBits   uint
	remBits   uint // 128-bb hash bits a record stores
	payBits   uint // since offset or history pointer|count
	recW      int64
	hw        int64 // bytes of a history entry
	sinceBase int64
	tag       [8]byte
	fBlocks   int64 // filter blocks (0: no filter)
	sampN     int64 // select samples
	vecWords  int64 // 64-bit words of the unary bucket sizes
	filterOff int64
	dirOff    int64
	vecOff    int64
	recOff    int64
	histOff   int64
	end       int64
}

// dirSizes gives the select samples and the words of the directory of a
// run of n records in 2^bb buckets (none when bb is 0).
func dirSizes(n int64, bb uint) (sampN, vecWords int64) {
	if bb == 0 {
		return 0, 0
	}
	b := int64(1) << bb
	return (b-1)/selStep + 1, (n + b + 63) / 64
}

func dirLen(n int64, bb uint) int64 {
	sn, vw := dirSizes(n, bb)
	return sn*4 + vw*8
}

// keyTag binds a run to its key (checked when a run is first opened).
func keyTag(k Key) [8]byte {
	b := make([]byte, 0, 32+2+len(k.Issuer))
	b = append(b, k.CA[:]...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(k.Issuer)))
	b = append(b, k.Issuer...)
	sum := gm.SM3(b)
	var t [8]byte
	copy(t[:], sum[:])
	return t
}

// shape is what a writer must know before it starts a run.
type shape struct {
	n, histN   int64 // idHashes; entries of idHashes with several
	maxM       int   // most entries of one idHash
	minS, maxS int64
	filter     bool // give the run a filter (overlays: most lookups miss them)
}

func (sh *shape) addGroup(g []rec) {
	sh.n++
	if len(g) > 1 {
		sh.histN += int64(len(g))
		sh.maxM = max(sh.maxM, len(g))
	}
	for i := range g {
		sh.minS, sh.maxS = min(sh.minS, g[i].since), max(sh.maxS, g[i].since)
	}
}

func newShape() shape { return shape{minS: math.MaxInt64, maxS: math.MinInt64} }

// layout chooses the widths and the bucket bits that make the run
// smallest while keeping buckets at about 64 records or fewer.
func (sh *shape) layout(off int64, tag [8]byte) *runInfo {
	var sinceBits, ptrBits, cntBits uint
	base := int64(0)
	if sh.minS <= sh.maxS {
		base = sh.minS
		sinceBits = uint(bits.Len64(uint64(sh.maxS) - uint64(sh.minS)))
	}
	if sh.histN > 0 {
		ptrBits = uint(bits.Len64(uint64(sh.histN - 1)))
		cntBits = uint(bits.Len64(uint64(sh.maxM - 2)))
	}
	lo := uint(0)
	if sh.n > 64 {
		lo = min(uint(bits.Len64(uint64(sh.n-1)/64)), maxBB)
	}
	var bb uint
	best := int64(math.MaxInt64)
	pay := max(sinceBits, ptrBits+cntBits)
	for b := lo; b <= maxBB && (b == 0 || int64(1)<<b <= 4*sh.n); b++ {
		cost := sh.n*int64((128-b+2+pay+7)/8) + dirLen(sh.n, b)
		if cost < best {
			best, bb = cost, b
		}
	}
	var fb int64
	if sh.filter {
		fb = (sh.n*10 + filterBlk*8 - 1) / (filterBlk * 8) // about 10 bits an idHash
	}
	return newRunInfo(off, sh.n, sh.histN, bb, sinceBits, ptrBits, cntBits, base, tag, fb)
}

func newRunInfo(off, n, histN int64, bb, sinceBits, ptrBits, cntBits uint, base int64, tag [8]byte, fb int64) *runInfo {
	r := &runInfo{off: off, n: n, histN: histN, bb: bb, sinceBits: sinceBits, ptrBits: ptrBits, cntBits: cntBits,
		sinceBase: base, tag: tag, fBlocks: fb}
	r.remBits = 128 - bb
	r.payBits = max(sinceBits, ptrBits+cntBits)
	r.recW = int64(r.remBits+2+r.payBits+7) / 8
	r.hw = int64(2+sinceBits+7) / 8
	r.sampN, r.vecWords = dirSizes(n, bb)
	r.filterOff = off + runHdrLen
	r.dirOff = r.filterOff + fb*filterBlk
	r.vecOff = r.dirOff + r.sampN*4
	r.recOff = r.vecOff + r.vecWords*8
	r.histOff = r.recOff + n*r.recW
	r.end = r.histOff + histN*r.hw
	return r
}

func (r *runInfo) header() []byte {
	b := make([]byte, runHdrLen)
	copy(b, runMagic)
	b[4], b[5], b[6], b[7] = byte(r.bb), byte(r.sinceBits), byte(r.ptrBits), byte(r.cntBits)
	binary.LittleEndian.PutUint32(b[8:], uint32(r.n))
	binary.LittleEndian.PutUint32(b[12:], uint32(r.histN))
	binary.LittleEndian.PutUint64(b[16:], uint64(r.sinceBase))
	copy(b[24:], r.tag[:])
	binary.LittleEndian.PutUint32(b[32:], uint32(r.fBlocks))
	return b
}

// parseRunHeader validates a run header read at off of a data area of
// length dataLen.
func parseRunHeader(name string, b []byte, off, dataLen int64) (*runInfo, error) {
	if len(b) < runHdrLen || string(b[:4]) != runMagic {
		return nil, damaged(name, "bad run header at %d", off)
	}
	bb, sb, pb, cb := uint(b[4]), uint(b[5]), uint(b[6]), uint(b[7])
	n, hn := int64(binary.LittleEndian.Uint32(b[8:])), int64(binary.LittleEndian.Uint32(b[12:]))
	if bb > maxBB || sb > 64 || pb > 32 || cb > 31 || (hn == 0) != (pb == 0 && cb == 0) ||
		(hn > 0 && uint(bits.Len64(uint64(hn-1))) > pb) {
		return nil, damaged(name, "impossible run header at %d", off)
	}
	fb := int64(binary.LittleEndian.Uint32(b[32:]))
	if binary.LittleEndian.Uint32(b[36:]) != 0 || (fb > 0 && (n == 0 || fb > n)) {
		return nil, damaged(name, "impossible run header at %d", off)
	}
	var tag [8]byte
	copy(tag[:], b[24:32])
	r := newRunInfo(off, n, hn, bb, sb, pb, cb, int64(binary.LittleEndian.Uint64(b[16:])), tag, fb)
	if r.end > dataLen || r.end < r.off {
		return nil, damaged(name, "run at %d overruns the data area", off)
	}
	return r, nil
}

func (r *runInfo) bucket(h *[16]byte) int64 {
	if r.bb == 0 {
		return 0
	}
	return int64(binary.BigEndian.Uint32(h[:4]) >> (32 - r.bb))
}

// directory encodes the records per bucket: for each bucket as many 1
// bits as it has records, then a 0 (bit i is bit i%64 of little-endian
// word i/64), preceded by the position of every 256th 0.
func (r *runInfo) directory(counts []uint32) []byte {
	samp := make([]byte, r.sampN*4)
	vec := make([]uint64, r.vecWords)
	var pos int64
	for j, c := range counts {
		for k := int64(0); k < int64(c); k++ {
			vec[(pos+k)/64] |= 1 << ((pos + k) % 64)
		}
		pos += int64(c)
		if j%selStep == 0 {
			binary.LittleEndian.PutUint32(samp[j/selStep*4:], uint32(pos))
		}
		pos++
	}
	out := samp
	for _, w := range vec {
		out = binary.LittleEndian.AppendUint64(out, w)
	}
	return out
}

// dirReader reads a directory's words through fn (verified bytes).
type dirReader func(off, n int64) ([]byte, error)

// bucketRange returns the records [lo, hi) of bucket b: lo is the number
// of 1 bits before 0 number b-1, hi before 0 number b.
func (r *runInfo) bucketRange(name string, b int64, read dirReader) (int64, int64, error) {
	if r.bb == 0 {
		return 0, r.n, nil
	}
	first := max(b-1, 0)
	sb, err := read(r.dirOff+first/selStep*4, 4)
	if err != nil {
		return 0, 0, err
	}
	pos := int64(binary.LittleEndian.Uint32(sb))
	total := r.n + int64(1)<<r.bb
	if pos >= total {
		return 0, 0, damaged(name, "bucket directory sample out of range")
	}
	// Zeros to pass, counting the sampled one, to reach 0 number first.
	need := first%selStep + 1
	w := pos / 64
	const chunk = 16
	var words []byte
	wlo := int64(0)
	load := func(i int64) (uint64, error) {
		if words == nil || i >= wlo+int64(len(words))/8 {
			b, err := read(r.vecOff+i*8, min(chunk, r.vecWords-i)*8)
			if err != nil {
				return 0, err
			}
			words, wlo = b, i
		}
		return binary.LittleEndian.Uint64(words[(i-wlo)*8:]), nil
	}
	x, err := load(w)
	if err != nil {
		return 0, 0, err
	}
	zeros := ^x &^ (1<<(pos%64) - 1) // zeros at or after pos
	if zeros&(1<<(pos%64)) == 0 {
		return 0, 0, damaged(name, "bucket directory sample is not a 0")
	}
	var found [2]int64 // positions of 0 number first and first+1
	got := 0
	for got < 2 {
		c := int64(bits.OnesCount64(zeros))
		for c >= need && got < 2 {
			for ; need > 1; need-- {
				zeros &= zeros - 1
			}
			found[got] = w*64 + int64(bits.TrailingZeros64(zeros))
			zeros &= zeros - 1
			c = int64(bits.OnesCount64(zeros))
			got++
			need = 1
		}
		if got == 2 {
			break
		}
		need -= c
		if w++; w >= r.vecWords {
			return 0, 0, damaged(name, "bucket directory too short")
		}
		if x, err = load(w); err != nil {
			return 0, 0, err
		}
		zeros = ^x
	}
	if found[1] >= total {
		return 0, 0, damaged(name, "bucket directory too short")
	}
	var lo, hi int64
	if b == 0 {
		lo, hi = 0, found[0]
	} else {
		lo, hi = found[0]-(b-1), found[1]-b
	}
	if lo < 0 || lo > hi || hi > r.n {
		return 0, 0, damaged(name, "bucket directory out of order")
	}
	return lo, hi, nil
}

// filterPos returns an idHash's filter block and its filterK bits in the
// block. The idHash is uniform (SM3): its low bits serve as the hashes of
// this non-cryptographic index.
func filterPos(hi, lo uint64, blocks int64) (int64, [filterK]uint) {
	blk := int64((lo >> 32) * uint64(blocks) >> 32)
	x := hi<<32 | lo&0xffffffff
	var p [filterK]uint
	for i := range p {
		p[i] = uint(x>>(9*i)) & (filterBlk*8 - 1)
	}
	return blk, p
}

// filterHas reports whether block b (filterBlk bytes) may hold the idHash.
func filterHas(b []byte, p *[filterK]uint) bool {
	for _, q := range p {
		if b[q/8]&(1<<(q%8)) == 0 {
			return false
		}
	}
	return true
}

// mayHold reads the filter: false means the run surely lacks the idHash.
func (r *runInfo) mayHold(hi, lo uint64, read dirReader) (bool, error) {
	if r.fBlocks == 0 {
		return true, nil
	}
	blk, p := filterPos(hi, lo, r.fBlocks)
	b, err := read(r.filterOff+blk*filterBlk, filterBlk)
	if err != nil {
		return false, err
	}
	return filterHas(b, &p), nil
}

// bucketOf is the bucket of a hash whose first 8 bytes are hi.
func bucketOf(hi uint64, bb uint) int64 {
	if bb == 0 {
		return 0
	}
	return int64(hi >> (64 - bb))
}

// putBits ORs the low n bits of v into b at bit offset off, most
// significant bit first. b must be zero there.
func putBits(b []byte, off, n uint, v uint64) {
	if n > 56 {
		putBits(b, off, n-32, v>>32)
		putBits(b, off+n-32, 32, v&0xffffffff)
		return
	}
	if n == 0 {
		return
	}
	v &= 1<<n - 1
	first, last := off/8, (off+n-1)/8
	x := v << ((last+1)*8 - off - n)
	for i := last; ; i-- {
		b[i] |= byte(x)
		x >>= 8
		if i == first {
			return
		}
	}
}

// getBits reads n bits of b at bit offset off.
func getBits(b []byte, off, n uint) uint64 {
	if n > 56 {
		return getBits(b, off, n-32)<<32 | getBits(b, off+n-32, 32)
	}
	if n == 0 {
		return 0
	}
	first, last := off/8, (off+n-1)/8
	var x uint64
	for i := first; i <= last; i++ {
		x = x<<8 | uint64(b[i])
	}
	return x >> ((last+1)*8 - off - n) & (1<<n - 1)
}

// putRem writes the hash bits a record stores (all but the first bb) at
// the start of b (at least 16 bytes, zero).
func (r *runInfo) putRem(b []byte, hi, lo uint64) {
	if r.bb > 0 {
		hi, lo = hi<<r.bb|lo>>(64-r.bb), lo<<r.bb
	}
	binary.BigEndian.PutUint64(b, hi)
	binary.BigEndian.PutUint64(b[8:], lo)
}

// getRem reads the hash bits a record stores, as the hash with its first
// bb bits zero.
func (r *runInfo) getRem(rec []byte) (hi, lo uint64) {
	var a, b uint64
	if len(rec) >= 16 {
		a, b = binary.BigEndian.Uint64(rec), binary.BigEndian.Uint64(rec[8:])
	} else {
		var t [16]byte
		copy(t[:], rec)
		a, b = binary.BigEndian.Uint64(t[:]), binary.BigEndian.Uint64(t[8:])
	}
	if r.bb == 0 {
		return a, b
	}
	// Bits past the hash (the tail) shift out of lo.
	hi, lo = a>>r.bb, a<<(64-r.bb)|b>>r.bb
	return hi, lo
}

// record is a decoded record: one entry, or a reference to m history
// entries from p.
type record struct {
	st    uint8
	since int64
	p, m  int64
}

func (r *runInfo) decodeRecord(name string, rec []byte) (record, error) {
	st := uint8(getBits(rec, r.remBits, 2))
	pay := getBits(rec, r.remBits+2, r.payBits)
	if st != stMulti {
		if r.sinceBits < 64 && pay>>r.sinceBits != 0 {
			return record{}, damaged(name, "record with a since out of range")
		}
		return record{st: st, since: r.sinceBase + int64(pay)}, nil
	}
	m := int64(pay&(1<<r.cntBits-1)) + 2
	p := int64(pay >> r.cntBits)
	if r.histN == 0 || p > r.histN-m || pay>>(r.ptrBits+r.cntBits) != 0 {
		return record{}, damaged(name, "record with a history reference out of range")
	}
	return record{st: stMulti, p: p, m: m}, nil
}

func (r *runInfo) decodeHist(name string, e []byte) (uint8, int64, error) {
	st := uint8(getBits(e, 0, 2))
	if st > 2 {
		return 0, 0, damaged(name, "history entry with status %d", st)
	}
	return st, r.sinceBase + int64(getBits(e, 2, r.sinceBits)), nil
}

// find returns the record of h among the records of its bucket.
func (r *runInfo) find(name string, recs []byte, hi, lo uint64) (record, bool, error) {
	if r.bb > 0 {
		hi &= 1<<(64-r.bb) - 1
	}
	w := r.recW
	m := int64(len(recs)) / w
	a, z := int64(0), m
	for a < z {
		mid := int64(uint64(a+z) >> 1)
		rh, rl := r.getRem(recs[mid*w : (mid+1)*w])
		if rh < hi || (rh == hi && rl < lo) {
			a = mid + 1
		} else {
			z = mid
		}
	}
	if a == m {
		return record{}, false, nil
	}
	rec := recs[a*w : (a+1)*w]
	if rh, rl := r.getRem(rec); rh != hi || rl != lo {
		return record{}, false, nil
	}
	rc, err := r.decodeRecord(name, rec)
	return rc, err == nil, err
}

// pick applies Clarification 19 to an idHash's history entries (apply
// order): with latest the last one, else the last one with since ≤ at.
func (r *runInfo) pick(name string, hist []byte, at int64, latest bool) (st uint8, since int64, found bool, err error) {
	for i := int64(0); i < int64(len(hist))/r.hw; i++ {
		s, t, err := r.decodeHist(name, hist[i*r.hw:(i+1)*r.hw])
		if err != nil {
			return 0, 0, false, err
		}
		if latest || t <= at {
			st, since, found = s, t, true
		}
	}
	return st, since, found, nil
}

// rec is one entry while sorting and merging; ord is its apply order.
type rec struct {
	hi, lo uint64
	since  int64
	ord    uint32
	st     uint8
}

func recOf(h *[16]byte, st uint8, since int64, ord uint32) rec {
	return rec{hi: binary.BigEndian.Uint64(h[:8]), lo: binary.BigEndian.Uint64(h[8:]), since: since, ord: ord, st: st}
}

func cmpRec(a, b rec) int {
	switch {
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo != b.lo:
		if a.lo < b.lo {
			return -1
		}
		return 1
	case a.ord != b.ord:
		if a.ord < b.ord {
			return -1
		}
		return 1
	}
	return 0
}

// compactGroup applies the lossless rule to the entries of one idHash in
// apply order: an entry is dead when a later one has a since ≤ its own;
// with dropLeadingZeros (nothing applied before these entries) leading
// status-0 survivors go too. It returns the survivors in place.
func compactGroup(g []rec, dropLeadingZeros bool) []rec {
	if len(g) == 1 {
		if dropLeadingZeros && g[0].st == 0 {
			return g[:0]
		}
		return g
	}
	// Mark survivors from the end, then move them to the front in order.
	var minAfter int64
	for i := len(g) - 1; i >= 0; i-- {
		if i == len(g)-1 || g[i].since < minAfter {
			minAfter = g[i].since
			g[i].ord |= 1 << 31 // mark (orders stay below 2^31)
		}
	}
	out := g[:0]
	for i := range g {
		if g[i].ord&(1<<31) != 0 {
			e := g[i]
			e.ord &^= 1 << 31
			if dropLeadingZeros && len(out) == 0 && e.st == 0 {
				continue
			}
			out = append(out, e)
		}
	}
	return out
}

// runWriter streams one run into a file: header and table first, then
// the records; the history entries are kept and written last.
type runWriter struct {
	w    *fileWriter
	ri   *runInfo
	buf  []byte
	hist []byte
	hn   int64
	cnt  int64
}

// startRun writes the header and table (counts[b] = records in bucket b)
// of a run shaped by sh at w's current offset.
func startRun(w *fileWriter, sh *shape, tag [8]byte, counts func(bb uint) []uint32, hashes func(fn func(hi, lo uint64))) *runWriter {
	ri := sh.layout(w.n, tag)
	w.write(ri.header())
	if ri.fBlocks > 0 {
		f := make([]byte, ri.fBlocks*filterBlk)
		hashes(func(hi, lo uint64) {
			blk, p := filterPos(hi, lo, ri.fBlocks)
			for _, q := range p {
				f[blk*filterBlk+int64(q/8)] |= 1 << (q % 8)
			}
		})
		w.write(f)
	}
	if ri.bb > 0 {
		w.write(ri.directory(counts(ri.bb)))
	}
	return &runWriter{w: w, ri: ri, buf: w.runBuf[:0]}
}

// addGroup writes the surviving entries of one idHash (apply order).
func (rw *runWriter) addGroup(g []rec) {
	ri := rw.ri
	var tmp [32]byte
	rec := tmp[:]
	ri.putRem(rec, g[0].hi, g[0].lo)
	if len(g) == 1 {
		putBits(rec, ri.remBits, 2, uint64(g[0].st))
		putBits(rec, ri.remBits+2, ri.payBits, uint64(g[0].since-ri.sinceBase))
	} else {
		putBits(rec, ri.remBits, 2, stMulti)
		putBits(rec, ri.remBits+2, ri.payBits, uint64(rw.hn)<<ri.cntBits|uint64(len(g)-2))
		for i := range g {
			o := len(rw.hist)
			rw.hist = append(rw.hist, make([]byte, ri.hw)...)
			putBits(rw.hist[o:], 0, 2, uint64(g[i].st))
			putBits(rw.hist[o:], 2, ri.sinceBits, uint64(g[i].since-ri.sinceBase))
		}
		rw.hn += int64(len(g))
	}
	rw.buf = append(rw.buf, rec[:ri.recW]...)
	rw.cnt++
	ri.entries += int64(len(g))
	if len(rw.buf) > cap(rw.buf)-64 {
		rw.w.write(rw.buf)
		rw.buf = rw.buf[:0]
	}
}

func (rw *runWriter) finish() *runInfo {
	rw.w.write(rw.buf)
	rw.w.write(rw.hist)
	rw.w.runBuf = rw.buf[:0]
	rw.buf, rw.hist = nil, nil
	if (rw.cnt != rw.ri.n || rw.hn != rw.ri.histN) && rw.w.err == nil {
		panic("statusfile: run shape mismatch")
	}
	return rw.ri
}
