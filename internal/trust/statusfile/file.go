package statusfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// File layout (see doc.go): data area | digest levels 1..T | header.
const (
	dataMagic   = "RCSTATF1" // first 8 bytes of every data area
	headerMagic = "RCSFHDR1"
	hdrFixedLen = 8 + 1 + 1 + 2 + 8 + 1 + 4
	digestLen   = gm.SM3Size // manifest and header digests
	nodeLen     = 16         // digests in the tree: SM3 truncated to 128 bits

	defaultLeafShift = 10 // 1 KiB leaves (segments, meta)
	baseLeafShift    = 11 // 2 KiB leaves: base files hold nearly all the bytes
	defaultFanout    = 16 // 256-byte digest nodes: a first lookup hashes few node bytes (files of fan 64 stay readable)
	minLeafShift     = 9
	maxLeafShift     = 16
	maxFanout        = 1024
	maxLevels        = 16
)

type fileKind uint8

const (
	kindBase    fileKind = 1 // one run: a key's merged or replaced list
	kindSegment fileKind = 2 // one run per key touched by a commit's deltas
	kindMeta    fileKind = 3 // the opaque meta blob after the data magic
)

// fileInfo is what the manifest records about a file.
type fileInfo struct {
	id        uint64
	kind      fileKind
	size      int64
	hdrLen    int64
	hdrDigest [digestLen]byte
}

const fileSuffix = ".rsf"

func fileName(id uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], id)
	return hex.EncodeToString(b[8:]) + fileSuffix // %016x, without fmt on the first-lookup path
}

// parseFileName returns the id of a data file name.
func parseFileName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, fileSuffix)
	if !ok || len(base) != 16 {
		return 0, false
	}
	id, err := strconv.ParseUint(base, 16, 64)
	return id, err == nil
}

// layout is the digest tree of a file, derived from its data length.
type layout struct {
	dataLen int64
	shift   uint
	fan     int64
	counts  []int64 // items per level; level 0 = leaves, level T = top
	offs    []int64 // offs[k] (k ≥ 1): file offset of level k's nodes
	hdrOff  int64   // where the header starts (end of the digest levels)
}

func newLayout(dataLen int64, shift uint, fan int64) layout {
	l := layout{dataLen: dataLen, shift: shift, fan: fan}
	c := (dataLen + 1<<shift - 1) >> shift
	l.counts = []int64{c}
	l.offs = []int64{0}
	off := dataLen
	for c > fan && len(l.counts) < maxLevels {
		l.offs = append(l.offs, off)
		off += c * nodeLen
		c = (c + fan - 1) / fan
		l.counts = append(l.counts, c)
	}
	l.hdrOff = off
	return l
}

func (l *layout) top() int        { return len(l.counts) - 1 }
func (l *layout) hdrLen() int64   { return hdrFixedLen + l.counts[l.top()]*nodeLen }
func (l *layout) fileSize() int64 { return l.hdrOff + l.hdrLen() }

// itemRange is the file range of item j of level k: a leaf of the data area
// (k = 0) or a node holding the digests of up to fan items of level k-1.
func (l *layout) itemRange(k int, j int64) (off, n int64) {
	if k == 0 {
		off = j << l.shift
		return off, min(int64(1)<<l.shift, l.dataLen-off)
	}
	return l.offs[k] + j*l.fan*nodeLen, min(l.fan, l.counts[k-1]-j*l.fan) * nodeLen
}

func encodeHeader(kind fileKind, l *layout, roots []byte) []byte {
	b := make([]byte, 0, l.hdrLen())
	b = append(b, headerMagic...)
	b = append(b, byte(kind), byte(l.shift))
	b = binary.LittleEndian.AppendUint16(b, uint16(l.fan))
	b = binary.LittleEndian.AppendUint64(b, uint64(l.dataLen))
	b = append(b, byte(l.top()))
	b = binary.LittleEndian.AppendUint32(b, uint32(l.counts[l.top()]))
	return append(b, roots...)
}

// parseHeader checks a header against the file size and returns the layout
// and root digests.
func parseHeader(name string, b []byte, size int64) (fileKind, layout, []byte, error) {
	if len(b) < hdrFixedLen || string(b[:8]) != headerMagic {
		return 0, layout{}, nil, damaged(name, "bad header magic")
	}
	kind := fileKind(b[8])
	shift := uint(b[9])
	fan := int64(binary.LittleEndian.Uint16(b[10:]))
	dataLen := int64(binary.LittleEndian.Uint64(b[12:]))
	top := int(b[20])
	nroots := int64(binary.LittleEndian.Uint32(b[21:]))
	if kind < kindBase || kind > kindMeta || shift < minLeafShift || shift > maxLeafShift ||
		fan < 2 || fan > maxFanout || dataLen < int64(len(dataMagic)) || dataLen > size {
		return 0, layout{}, nil, damaged(name, "impossible header fields")
	}
	l := newLayout(dataLen, shift, fan)
	if l.top() != top || l.counts[top] != nroots || l.hdrLen() != int64(len(b)) || l.fileSize() != size {
		return 0, layout{}, nil, damaged(name, "header does not match the file size")
	}
	return kind, l, b[hdrFixedLen:], nil
}

type atomicBits = atomic.Uint64

// vfile reads one immutable file and verifies, by SM3 through the digest
// tree, every leaf it hands out (once: verified items are remembered).
// It is either memory-mapped (readers) or read with pread (writers).
type vfile struct {
	name     string
	info     fileInfo
	lay      layout
	roots    []byte
	interior []byte // file bytes [dataLen, hdrOff): the digest levels
	mm       []byte // whole file when mapped
	f        *os.File
	bits     [][]atomicBits // verified items per level
}

// openVFile opens a file named by the manifest and checks its size and
// header digest. Nothing else is read: leaves are verified when read.
func openVFile(dir string, fi fileInfo, mapped bool) (v *vfile, err error) {
	name := fileName(fi.id)
	if mapped {
		return mapVFile(dir, name, fi)
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s: %w", ErrDamaged, name, err)
		}
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() != fi.size {
		return nil, damaged(name, "size %d, manifest says %d", st.Size(), fi.size)
	}
	if fi.hdrLen < hdrFixedLen || fi.hdrLen > fi.size {
		return nil, damaged(name, "impossible header length")
	}
	v = &vfile{name: name, info: fi}
	hdr := make([]byte, fi.hdrLen)
	if _, err := f.ReadAt(hdr, fi.size-fi.hdrLen); err != nil {
		return nil, readErr(name, err)
	}
	if err := v.setHeader(hdr); err != nil {
		return nil, err
	}
	v.interior = make([]byte, v.lay.hdrOff-v.lay.dataLen)
	if _, err := f.ReadAt(v.interior, v.lay.dataLen); err != nil {
		return nil, readErr(name, err)
	}
	v.f = f
	return v, nil
}

// tailRead is how many bytes before the header mapVFile reads with it.
const tailRead = 8 << 10

// mapVFile is openVFile for a mapped file.
func mapVFile(dir, name string, fi fileInfo) (*vfile, error) {
	if fi.hdrLen < hdrFixedLen || fi.hdrLen > fi.size {
		return nil, damaged(name, "impossible header length")
	}
	mm, tail, size, err := mapPath(filepath.Join(dir, name), fi.size, min(fi.size, fi.hdrLen+tailRead))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s: %w", ErrDamaged, name, err)
		}
		return nil, readErr(name, err)
	}
	if mm == nil {
		return nil, damaged(name, "size %d, manifest says %d", size, fi.size)
	}
	v := &vfile{name: name, info: fi, mm: mm}
	// Copies of the header and digest levels: the rest of the tail is not
	// kept for the file's life.
	if err := v.setHeader(bytes.Clone(tail[int64(len(tail))-fi.hdrLen:])); err != nil {
		munmap(mm)
		return nil, err
	}
	// The digest levels come from the tail read with the header when it
	// holds them (files up to about 100 MB), so that a first lookup
	// faults in only the data pages it reads.
	if n := v.lay.hdrOff - v.lay.dataLen; n <= int64(len(tail))-fi.hdrLen {
		v.interior = bytes.Clone(tail[int64(len(tail))-fi.hdrLen-n : int64(len(tail))-fi.hdrLen])
	} else {
		v.interior = mm[v.lay.dataLen:v.lay.hdrOff]
	}
	return v, nil
}

// setHeader checks hdr against the manifest's digest and kind and sets the
// layout, roots and verified-item bits from it.
func (v *vfile) setHeader(hdr []byte) error {
	if gm.SM3(hdr) != v.info.hdrDigest {
		return damaged(v.name, "header digest does not match the manifest")
	}
	kind, lay, roots, err := parseHeader(v.name, hdr, v.info.size)
	if err != nil {
		return err
	}
	if kind != v.info.kind {
		return damaged(v.name, "kind %d, manifest says %d", kind, v.info.kind)
	}
	v.lay, v.roots = lay, roots
	v.bits = make([][]atomic.Uint64, len(lay.counts))
	for k, c := range lay.counts {
		v.bits[k] = make([]atomicBits, (c+63)/64)
	}
	return nil
}

func readErr(name string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return damaged(name, "truncated")
	}
	return fmt.Errorf("statusfile: reading %s: %w", name, err)
}

func (v *vfile) close() {
	if v.mm != nil {
		munmap(v.mm)
		v.mm = nil
	}
	if v.f != nil {
		v.f.Close()
		v.f = nil
	}
}

func (v *vfile) isSet(k int, j int64) bool {
	return v.bits[k][j>>6].Load()&(1<<(j&63)) != 0
}

// node returns the bytes of node j of level k ≥ 1.
func (v *vfile) node(k int, j int64) []byte {
	off, n := v.lay.itemRange(k, j)
	off -= v.lay.dataLen
	return v.interior[off : off+n]
}

// verifyItem checks item j of level k, whose bytes are b, against the
// digest its parent holds (verifying the parent first) or the roots.
func (v *vfile) verifyItem(k int, j int64, b []byte) error {
	if v.isSet(k, j) {
		return nil
	}
	var want []byte
	if k == v.lay.top() {
		want = v.roots[j*nodeLen : (j+1)*nodeLen]
	} else {
		pj := j / v.lay.fan
		pb := v.node(k+1, pj)
		if err := v.verifyItem(k+1, pj, pb); err != nil {
			return err
		}
		o := (j % v.lay.fan) * nodeLen
		want = pb[o : o+nodeLen]
	}
	sum := gm.SM3(b)
	if !bytes.Equal(sum[:nodeLen], want) {
		if k == 0 {
			return damaged(v.name, "data block %d does not match its digest", j)
		}
		return damaged(v.name, "digest node %d/%d does not match", k, j)
	}
	v.bits[k][j>>6].Or(1 << (j & 63))
	return nil
}

// read returns n bytes of the data area at off. With verify, every leaf
// they touch is checked first. Mapped files return a slice of the mapping;
// others read into buf when it is large enough.
func (v *vfile) read(off, n int64, verify bool, buf []byte) ([]byte, error) {
	if off < 0 || n < 0 || off > v.lay.dataLen-n {
		return nil, damaged(v.name, "reference outside the data area")
	}
	if n == 0 {
		return nil, nil
	}
	if v.mm != nil {
		if verify {
			for j := off >> v.lay.shift; j <= (off+n-1)>>v.lay.shift; j++ {
				if !v.isSet(0, j) {
					lo, ln := v.lay.itemRange(0, j)
					if err := v.verifyItem(0, j, v.mm[lo:lo+ln]); err != nil {
						return nil, err
					}
				}
			}
		}
		return v.mm[off : off+n], nil
	}
	a, e := off, off+n
	if verify {
		a = off >> v.lay.shift << v.lay.shift
		e = min((e+1<<v.lay.shift-1)>>v.lay.shift<<v.lay.shift, v.lay.dataLen)
	}
	if int64(cap(buf)) < e-a {
		buf = make([]byte, e-a)
	}
	buf = buf[:e-a]
	if _, err := v.f.ReadAt(buf, a); err != nil {
		return nil, readErr(v.name, err)
	}
	if verify {
		for j := a >> v.lay.shift; j<<v.lay.shift < e; j++ {
			lo, ln := v.lay.itemRange(0, j)
			if err := v.verifyItem(0, j, buf[lo-a:lo-a+ln]); err != nil {
				return nil, err
			}
		}
	}
	return buf[off-a : off-a+n], nil
}

// verifyAll checks every leaf and digest node (Check).
func (v *vfile) verifyAll(buf []byte) error {
	const chunk = 1 << 20
	for off := int64(0); off < v.lay.dataLen; off += chunk {
		if _, err := v.read(off, min(chunk, v.lay.dataLen-off), true, buf); err != nil {
			return err
		}
	}
	return nil
}

// fileWriter writes a new file sequentially, digesting leaves as they fill.
type fileWriter struct {
	f       *os.File
	out     behind
	name    string
	path    string
	id      uint64
	bw      *bufio.Writer
	leaf    []byte // the leaf being filled: leafBuf[:n:1<<shift]
	leafBuf []byte // 1<<baseLeafShift bytes, reused
	shift   uint   // leaf size 1<<shift
	digests []byte
	n       int64
	err     error
	runBuf  []byte // a runWriter's encoding buffer, reused
}

// writeBehind is how many bytes a fileWriter writes before it starts
// their write-back.
const writeBehind = 1 << 20

// behind writes to f and writes back every writeBehind bytes as they are
// written, waiting for them (sync_file_range on Linux, as databases'
// "bytes per sync" does): the fsync that finishes a file then has little
// left to flush, and a large import never puts tens of megabytes in the
// disk's queue in front of another process's fsync — an inspector's
// record append waits behind at most about a megabyte. (Measured on the
// project's VM, a record append during a full import: p50 1.9 ms with
// the wait, 2.3 ms with write-back started only, max 15–20 ms against
// 70–90 ms with neither.)
type behind struct {
	f      *os.File
	off    int64
	synced int64
}

func (b *behind) Write(p []byte) (int, error) {
	n, err := b.f.Write(p)
	b.off += int64(n)
	if b.off-b.synced >= writeBehind {
		startWriteback(b.f, b.synced, b.off-b.synced)
		b.synced = b.off
	}
	return n, err
}

// writerBufs keeps file writers' buffers between files, so that writing
// hundreds of files makes little garbage.
var writerBufs = sync.Pool{New: func() any {
	return &fileWriter{bw: bufio.NewWriterSize(nil, 256<<10), leafBuf: make([]byte, 1<<max(baseLeafShift, defaultLeafShift)),
		runBuf: make([]byte, 0, 64<<10)}
}}

// leafShift is the leaf size of the files of kind: base files, nearly all
// the bytes on disk, have 2 KiB leaves (digests cost 0.8 % of them; a first
// lookup verifies about three leaves), the others 1 KiB.
func leafShift(kind fileKind) uint {
	if kind == kindBase {
		return baseLeafShift
	}
	return defaultLeafShift
}

// createFile starts file id of kind (see finish).
func createFile(dir string, id uint64, kind fileKind) (*fileWriter, error) {
	name := fileName(id)
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, writeErr(name, err)
	}
	w := writerBufs.Get().(*fileWriter)
	w.f, w.name, w.path, w.id, w.n, w.err = f, name, path, id, 0, nil
	w.out = behind{f: f}
	w.bw.Reset(&w.out)
	w.shift = leafShift(kind)
	w.leaf, w.digests = w.leafBuf[:0:1<<w.shift], w.digests[:0]
	w.write([]byte(dataMagic))
	return w, nil
}

// release gives the buffers back (the writer must not be used after).
func (w *fileWriter) release() {
	w.f = nil
	w.out = behind{}
	w.bw.Reset(nil)
	if cap(w.digests) > 1<<20 {
		w.digests = nil
	}
	writerBufs.Put(w)
}

func writeErr(name string, err error) error {
	if isFull(err) {
		return fmt.Errorf("%w: %s: %w", ErrFull, name, err)
	}
	return fmt.Errorf("statusfile: writing %s: %w", name, err)
}

func (w *fileWriter) write(p []byte) {
	w.n += int64(len(p))
	for len(p) > 0 && w.err == nil {
		k := copy(w.leaf[len(w.leaf):cap(w.leaf)], p)
		w.leaf = w.leaf[:len(w.leaf)+k]
		p = p[k:]
		if len(w.leaf) == cap(w.leaf) {
			w.flushLeaf()
		}
	}
}

func (w *fileWriter) flushLeaf() {
	if len(w.leaf) == 0 || w.err != nil {
		return
	}
	sum := gm.SM3(w.leaf)
	w.digests = append(w.digests, sum[:nodeLen]...)
	if _, err := w.bw.Write(w.leaf); err != nil {
		w.err = writeErr(w.name, err)
	}
	w.leaf = w.leaf[:0]
}

// finish writes the digest levels and the header, syncs and closes the
// file. On error the file is removed.
func (w *fileWriter) finish(kind fileKind) (fileInfo, error) {
	w.flushLeaf()
	lay := newLayout(w.n, w.shift, defaultFanout)
	cur := w.digests
	for k := 1; k <= lay.top() && w.err == nil; k++ {
		if _, err := w.bw.Write(cur); err != nil {
			w.err = writeErr(w.name, err)
			break
		}
		next := make([]byte, 0, lay.counts[k]*nodeLen)
		for j := int64(0); j < lay.counts[k]; j++ {
			a := j * lay.fan * nodeLen
			sum := gm.SM3(cur[a:min(a+lay.fan*nodeLen, int64(len(cur)))])
			next = append(next, sum[:nodeLen]...)
		}
		cur = next
	}
	hdr := encodeHeader(kind, &lay, cur)
	if w.err == nil {
		if _, err := w.bw.Write(hdr); err != nil {
			w.err = writeErr(w.name, err)
		}
	}
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = writeErr(w.name, err)
		}
	}
	if w.err == nil {
		if err := w.f.Sync(); err != nil {
			w.err = writeErr(w.name, err)
		}
	}
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = writeErr(w.name, err)
	}
	err := w.err
	fi := fileInfo{id: w.id, kind: kind, size: lay.fileSize(), hdrLen: lay.hdrLen(), hdrDigest: gm.SM3(hdr)}
	if err != nil {
		os.Remove(w.path)
	}
	w.release()
	if err != nil {
		return fileInfo{}, err
	}
	return fi, nil
}

// abort closes and removes an unfinished file.
func (w *fileWriter) abort() {
	w.f.Close()
	os.Remove(w.path)
	w.release()
}
