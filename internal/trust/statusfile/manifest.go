package statusfile

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/roadcheck/roadcheck/internal/gm"
)

const (
	manifestName  = "MANIFEST"
	manifestTmp   = "MANIFEST.tmp"
	lockName      = "LOCK"
	manifestMagic = "RCSTMAN1"
	manifestVer   = 1

	// MaxIssuerLen is the longest issuer code a Key may carry, in bytes.
	MaxIssuerLen = 255
)

// runRef places one run of a key: file id, offset of the run header in its
// data area, and its record and entry counts (for Stats without opening
// files).
type runRef struct {
	file uint64
	off  int64
	n    int64 // records (idHashes)
	e    int64 // entries (n, plus the extra entries of idHashes with several)
}

type keyRec struct {
	key   Key
	count int64
	runs  []runRef // in apply order: the base (if any) first
}

// manifest is one committed generation.
type manifest struct {
	gen     uint64
	nextID  uint64 // next file id to use
	meta    uint64 // file id of the meta blob, 0 = none
	files   map[uint64]fileInfo
	keys    []keyRec // sorted by Key, unique
	retired []uint64 // files of the previous generation kept for its readers
}

func compareKeys(a, b Key) int {
	if c := bytes.Compare(a.CA[:], b.CA[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.Issuer, b.Issuer)
}

func (m *manifest) clone() *manifest {
	c := *m
	c.files = make(map[uint64]fileInfo, len(m.files))
	for id, fi := range m.files {
		c.files[id] = fi
	}
	c.keys = slices.Clone(m.keys)
	c.retired = nil
	return &c
}

// referenced lists the files the generation uses.
func (m *manifest) referenced() map[uint64]bool {
	ref := make(map[uint64]bool, len(m.files))
	if m.meta != 0 {
		ref[m.meta] = true
	}
	for _, k := range m.keys {
		for _, r := range k.runs {
			ref[r.file] = true
		}
	}
	return ref
}

func (m *manifest) encode() []byte {
	b := make([]byte, 0, 4096+len(m.files)*64+len(m.keys)*96)
	b = append(b, manifestMagic...)
	b = binary.AppendUvarint(b, manifestVer)
	b = binary.AppendUvarint(b, m.gen)
	b = binary.AppendUvarint(b, m.nextID)
	b = binary.AppendUvarint(b, m.meta)
	ids := make([]uint64, 0, len(m.files))
	for id := range m.files {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	index := make(map[uint64]uint64, len(ids))
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for i, id := range ids {
		fi := m.files[id]
		index[id] = uint64(i)
		b = binary.AppendUvarint(b, id)
		b = append(b, byte(fi.kind))
		b = binary.AppendUvarint(b, uint64(fi.size))
		b = binary.AppendUvarint(b, uint64(fi.hdrLen))
		b = append(b, fi.hdrDigest[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(m.keys)))
	for _, k := range m.keys {
		b = append(b, k.key.CA[:]...)
		b = binary.AppendUvarint(b, uint64(len(k.key.Issuer)))
		b = append(b, k.key.Issuer...)
		b = binary.AppendUvarint(b, uint64(k.count))
		b = binary.AppendUvarint(b, uint64(len(k.runs)))
		for _, r := range k.runs {
			b = binary.AppendUvarint(b, index[r.file])
			b = binary.AppendUvarint(b, uint64(r.off))
			b = binary.AppendUvarint(b, uint64(r.n))
			b = binary.AppendUvarint(b, uint64(r.e-r.n))
		}
	}
	b = binary.AppendUvarint(b, uint64(len(m.retired)))
	for _, id := range m.retired {
		b = binary.AppendUvarint(b, id)
	}
	sum := gm.SM3(b)
	return append(b, sum[:]...)
}

// mreader decodes a manifest body; the first error sticks.
type mreader struct {
	b   []byte
	bad bool
}

func (r *mreader) uvarint(max uint64) uint64 {
	if r.bad {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *mreader) bytes(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

const maxInt = 1<<63 - 1

// parseManifest checks the digest and the structure of a manifest.
func parseManifest(b []byte) (*manifest, error) {
	const name = manifestName
	if len(b) < len(manifestMagic)+digestLen || string(b[:len(manifestMagic)]) != manifestMagic {
		return nil, damaged(name, "bad magic or too short")
	}
	body := b[:len(b)-digestLen]
	if sum := gm.SM3(body); !bytes.Equal(sum[:], b[len(body):]) {
		return nil, damaged(name, "digest does not match")
	}
	r := &mreader{b: body[len(manifestMagic):]}
	if r.uvarint(maxInt) != manifestVer {
		return nil, damaged(name, "unknown version")
	}
	m := &manifest{}
	m.gen = r.uvarint(maxInt)
	m.nextID = r.uvarint(maxInt)
	m.meta = r.uvarint(maxInt)
	nf := r.uvarint(uint64(len(r.b)) / (1 + 1 + 1 + 1 + digestLen))
	m.files = make(map[uint64]fileInfo, nf)
	ids := make([]uint64, 0, nf)
	for i := uint64(0); i < nf && !r.bad; i++ {
		var fi fileInfo
		fi.id = r.uvarint(maxInt)
		fi.kind = fileKind(r.bytes(1)[0])
		fi.size = int64(r.uvarint(maxInt))
		fi.hdrLen = int64(r.uvarint(maxInt))
		copy(fi.hdrDigest[:], r.bytes(digestLen))
		if fi.id == 0 || fi.id >= m.nextID || (len(ids) > 0 && fi.id <= ids[len(ids)-1]) ||
			fi.kind < kindBase || fi.kind > kindMeta || fi.hdrLen < hdrFixedLen || fi.hdrLen > fi.size {
			r.bad = true
		}
		ids = append(ids, fi.id)
		m.files[fi.id] = fi
	}
	if m.meta != 0 && m.files[m.meta].kind != kindMeta {
		r.bad = true
	}
	nk := r.uvarint(uint64(len(r.b)) / (32 + 1 + 1 + 1))
	m.keys = make([]keyRec, 0, nk)
	for i := uint64(0); i < nk && !r.bad; i++ {
		var k keyRec
		copy(k.key.CA[:], r.bytes(32))
		k.key.Issuer = string(r.bytes(int(r.uvarint(MaxIssuerLen))))
		k.count = int64(r.uvarint(maxInt))
		nr := r.uvarint(uint64(len(r.b)) / 3)
		var total int64
		for j := uint64(0); j < nr && !r.bad; j++ {
			fi := r.uvarint(uint64(len(ids)))
			if fi >= uint64(len(ids)) {
				r.bad = true
				break
			}
			ref := runRef{file: ids[fi], off: int64(r.uvarint(maxInt)), n: int64(r.uvarint(1<<32 - 1))}
			ref.e = ref.n + int64(r.uvarint(1<<32-1))
			if kind := m.files[ref.file].kind; kind == kindMeta || ref.n == 0 || ref.off >= m.files[ref.file].size {
				r.bad = true
			}
			total += ref.n
			k.runs = append(k.runs, ref)
		}
		if k.count > total || (len(m.keys) > 0 && compareKeys(m.keys[len(m.keys)-1].key, k.key) >= 0) {
			r.bad = true
		}
		m.keys = append(m.keys, k)
	}
	nr := r.uvarint(uint64(len(r.b)))
	for i := uint64(0); i < nr && !r.bad; i++ {
		id := r.uvarint(maxInt)
		if _, ok := m.files[id]; ok || id == 0 || id >= m.nextID {
			r.bad = true
		}
		m.retired = append(m.retired, id)
	}
	if r.bad || len(r.b) != 0 {
		return nil, damaged(name, "malformed structure")
	}
	ref := m.referenced()
	for id := range m.files {
		if !ref[id] {
			return nil, damaged(name, "unreferenced file %s", fileName(id))
		}
	}
	return m, nil
}

func (m *manifest) findKey(k Key) (int, bool) {
	return slices.BinarySearchFunc(m.keys, k, func(a keyRec, k Key) int { return compareKeys(a.key, k) })
}
