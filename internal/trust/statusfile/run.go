package statusfile

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// A run is the sorted entries of one key inside a file: a 32-byte header,
// a bucket table, fixed-width records (see doc.go).
const (
	runMagic  = "RUN1"
	runHdrLen = 32
	maxBB     = 20 // at most 2^20 buckets (a 4 MiB table)
	wideTail  = 9  // status byte + 8-byte since
)

type runInfo struct {
	off       int64 // of the run header in the data area
	n         int64
	bb        uint // bucket bits: the table has 2^bb+1 entries (none when 0)
	s         int  // leading hash bytes implied by the bucket, not stored
	tailW     int  // 3, 4, 5 (packed status+since offset) or 9 (wide)
	recW      int64
	sinceBase int64
	tag       [8]byte
	tableOff  int64
	recOff    int64
	end       int64
}

func tableLen(bb uint) int64 {
	if bb == 0 {
		return 0
	}
	return (int64(1)<<bb + 1) * 4
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

// runParams chooses the bucket bits, stripped bytes and tail width that
// make a run of n entries with sinces in [minS, maxS] smallest, keeping
// buckets at about 64 entries or fewer.
func runParams(n int64, minS, maxS int64) (bb uint, s int, tailW int) {
	lo := uint(0)
	if n > 64 {
		lo = uint(bits.Len64(uint64(n-1) / 64))
	}
	lo = min(lo, maxBB)
	best := int64(math.MaxInt64)
	for b := lo; b <= maxBB; b++ {
		sb := min(int(b/8), 2)
		cost := n*int64(16-sb) + tableLen(b)
		if cost < best {
			best, bb, s = cost, b, sb
		}
	}
	tailW = wideTail
	if n > 0 && maxS >= minS {
		r := uint64(maxS) - uint64(minS) // no overflow: maxS ≥ minS
		if !(maxS >= 0 && minS < 0 && r > math.MaxInt64) {
			for _, w := range []int{3, 4, 5} {
				if r < 1<<(8*w-2) {
					tailW = w
					break
				}
			}
		}
	}
	return bb, s, tailW
}

func newRunInfo(off, n int64, bb uint, s, tailW int, sinceBase int64, tag [8]byte) *runInfo {
	r := &runInfo{off: off, n: n, bb: bb, s: s, tailW: tailW, sinceBase: sinceBase, tag: tag}
	r.recW = int64(16 - s + tailW)
	r.tableOff = off + runHdrLen
	r.recOff = r.tableOff + tableLen(bb)
	r.end = r.recOff + n*r.recW
	return r
}

func (r *runInfo) header() []byte {
	b := make([]byte, runHdrLen)
	copy(b, runMagic)
	b[5], b[6], b[7] = byte(r.bb), byte(r.s), byte(r.tailW)
	binary.LittleEndian.PutUint32(b[8:], uint32(r.n))
	binary.LittleEndian.PutUint64(b[16:], uint64(r.sinceBase))
	copy(b[24:], r.tag[:])
	return b
}

// parseRunHeader validates a run header read at off of a data area of
// length dataLen.
func parseRunHeader(name string, b []byte, off, dataLen int64) (*runInfo, error) {
	if len(b) < runHdrLen || string(b[:4]) != runMagic || b[4] != 0 || binary.LittleEndian.Uint32(b[12:]) != 0 {
		return nil, damaged(name, "bad run header at %d", off)
	}
	bb, s, tw := uint(b[5]), int(b[6]), int(b[7])
	if bb > maxBB || s > int(bb/8) || s > 2 || (tw != 3 && tw != 4 && tw != 5 && tw != wideTail) {
		return nil, damaged(name, "impossible run header at %d", off)
	}
	var tag [8]byte
	copy(tag[:], b[24:])
	r := newRunInfo(off, int64(binary.LittleEndian.Uint32(b[8:])), bb, s, tw,
		int64(binary.LittleEndian.Uint64(b[16:])), tag)
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

// decodeTail returns the status and since of a record's tail.
func (r *runInfo) decodeTail(t []byte) (uint8, int64, bool) {
	if r.tailW == wideTail {
		return t[0], int64(binary.BigEndian.Uint64(t[1:9])), t[0] <= 2
	}
	var v uint64
	for _, c := range t[:r.tailW] {
		v = v<<8 | uint64(c)
	}
	sh := uint(8*r.tailW - 2)
	st := uint8(v >> sh)
	return st, r.sinceBase + int64(v&(1<<sh-1)), st <= 2
}

func (r *runInfo) appendRecord(dst []byte, h *[16]byte, st uint8, since int64) []byte {
	dst = append(dst, h[r.s:]...)
	if r.tailW == wideTail {
		dst = append(dst, st)
		return binary.BigEndian.AppendUint64(dst, uint64(since))
	}
	sh := uint(8*r.tailW - 2)
	v := uint64(st)<<sh | uint64(since-r.sinceBase)
	for i := r.tailW - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*uint(i))))
	}
	return dst
}

// search looks for h among the records of one bucket. With latest it
// returns the last record for h; otherwise the last one with since ≤ at.
// exists reports whether h has any record here.
func (r *runInfo) search(name string, recs []byte, h *[16]byte, at int64, latest bool) (st uint8, since int64, found, exists bool, err error) {
	kl := 16 - r.s
	key := h[r.s:]
	m := int64(len(recs)) / r.recW
	lo, hi := int64(0), m
	for lo < hi {
		mid := int64(uint64(lo+hi) >> 1)
		if bytes.Compare(recs[mid*r.recW:mid*r.recW+int64(kl)], key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for i := lo; i < m; i++ {
		rec := recs[i*r.recW : (i+1)*r.recW]
		if !bytes.Equal(rec[:kl], key) {
			break
		}
		exists = true
		s, t, ok := r.decodeTail(rec[kl:])
		if !ok {
			return 0, 0, false, false, damaged(name, "record with status %d", s)
		}
		if latest || t <= at {
			st, since, found = s, t, true
		}
	}
	return st, since, found, exists, nil
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

func (e *rec) hash() (h [16]byte) {
	binary.BigEndian.PutUint64(h[:8], e.hi)
	binary.BigEndian.PutUint64(h[8:], e.lo)
	return h
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

// runWriter streams one run's records into a file after its header and
// table.
type runWriter struct {
	w    *fileWriter
	ri   *runInfo
	buf  []byte
	cnt  int64
}

// startRun writes a run header and its table (counts[b] = records in
// bucket b) at the writer's current offset.
func startRun(w *fileWriter, n int64, bb uint, s, tailW int, sinceBase int64, tag [8]byte, counts []uint32) *runWriter {
	ri := newRunInfo(w.n, n, bb, s, tailW, sinceBase, tag)
	w.write(ri.header())
	if bb > 0 {
		tb := make([]byte, 0, tableLen(bb))
		var acc uint32
		for _, c := range counts {
			tb = binary.LittleEndian.AppendUint32(tb, acc)
			acc += c
		}
		tb = binary.LittleEndian.AppendUint32(tb, acc)
		w.write(tb)
	}
	return &runWriter{w: w, ri: ri, buf: make([]byte, 0, 64<<10)}
}

func (rw *runWriter) add(h *[16]byte, st uint8, since int64) {
	rw.buf = rw.ri.appendRecord(rw.buf, h, st, since)
	rw.cnt++
	if len(rw.buf) > cap(rw.buf)-64 {
		rw.w.write(rw.buf)
		rw.buf = rw.buf[:0]
	}
}

func (rw *runWriter) finish() *runInfo {
	rw.w.write(rw.buf)
	rw.buf = rw.buf[:0]
	if rw.cnt != rw.ri.n && rw.w.err == nil {
		panic("statusfile: run record count mismatch")
	}
	return rw.ri
}

// bucketOf is the bucket of a hash whose first 8 bytes are hi.
func bucketOf(hi uint64, bb uint) int64 {
	if bb == 0 {
		return 0
	}
	return int64(hi >> (64 - bb))
}
