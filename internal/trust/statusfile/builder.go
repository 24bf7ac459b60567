package statusfile

import (
	"encoding/binary"
	"math"
	"slices"
)

// builder holds one full list while it is sorted: entries are packed (25
// bytes) into 256 partitions by their first hash byte, in arrival (apply)
// order; each partition is then sorted and compacted on its own, so only
// the packed entries and one partition's sort buffer are in memory.
type builder struct {
	parts   [256]bpart
	n       int64
	free    [][]byte // full-size chunks kept for the next list
	scratch []rec

	// after prepare
	count      int64
	minS, maxS int64
}

type bpart struct {
	chunks [][]byte
	n      int
}

const (
	packW     = 16 + 8 + 1
	fullChunk = packW * 2621 // about 64 KiB
)

func (b *builder) add(e *Entry) {
	p := &b.parts[e.IDHash[0]]
	if len(p.chunks) == 0 || len(p.chunks[len(p.chunks)-1]) == cap(p.chunks[len(p.chunks)-1]) {
		size := packW * 16
		if len(p.chunks) > 0 {
			size = min(2*cap(p.chunks[len(p.chunks)-1]), fullChunk)
		}
		var c []byte
		if size == fullChunk && len(b.free) > 0 {
			c = b.free[len(b.free)-1][:0]
			b.free = b.free[:len(b.free)-1]
		} else {
			c = make([]byte, 0, size)
		}
		p.chunks = append(p.chunks, c)
	}
	c := &p.chunks[len(p.chunks)-1]
	*c = append(*c, e.IDHash[:]...)
	*c = binary.BigEndian.AppendUint64(*c, uint64(e.Since))
	*c = append(*c, e.Status)
	p.n++
	b.n++
}

// reset empties the builder, keeping full-size chunks for reuse.
func (b *builder) reset() {
	for i := range b.parts {
		for _, c := range b.parts[i].chunks {
			if cap(c) == fullChunk {
				b.free = append(b.free, c[:0])
			}
		}
		b.parts[i] = bpart{}
	}
	b.n = 0
}

func unpack(c []byte, ord uint32) rec {
	return rec{hi: binary.BigEndian.Uint64(c), lo: binary.BigEndian.Uint64(c[8:]),
		since: int64(binary.BigEndian.Uint64(c[16:])), st: c[24], ord: ord}
}

func pack(c []byte, e *rec) {
	binary.BigEndian.PutUint64(c, e.hi)
	binary.BigEndian.PutUint64(c[8:], e.lo)
	binary.BigEndian.PutUint64(c[16:], uint64(e.since))
	c[24] = e.st
}

// each calls fn for every packed entry of partition p in order.
func (p *bpart) each(fn func(c []byte)) {
	for _, ch := range p.chunks {
		for o := 0; o < len(ch); o += packW {
			fn(ch[o : o+packW])
		}
	}
}

// prepare sorts and compacts every partition in place (full-list rules:
// dead entries and leading status-0 entries go) and computes the count of
// hashes whose latest entry has a status, and the range of sinces.
func (b *builder) prepare() int64 {
	b.count, b.minS, b.maxS = 0, math.MaxInt64, math.MinInt64
	var total int64
	for i := range b.parts {
		p := &b.parts[i]
		if p.n == 0 {
			continue
		}
		sc := b.scratch[:0]
		p.each(func(c []byte) { sc = append(sc, unpack(c, uint32(len(sc)))) })
		slices.SortFunc(sc, cmpRec)
		out := sc[:0]
		for a := 0; a < len(sc); {
			z := a + 1
			for z < len(sc) && sc[z].hi == sc[a].hi && sc[z].lo == sc[a].lo {
				z++
			}
			if sc[z-1].st != 0 {
				b.count++
			}
			out = append(out, compactGroup(sc[a:z], true)...)
			a = z
		}
		// Write the survivors back, in order, over the partition's chunks.
		ci, co := 0, 0
		for j := range out {
			for co+packW > len(p.chunks[ci]) {
				ci, co = ci+1, 0
			}
			pack(p.chunks[ci][co:], &out[j])
			co += packW
			b.minS, b.maxS = min(b.minS, out[j].since), max(b.maxS, out[j].since)
		}
		// Trim: keep the chunks' lengths consistent with the survivors.
		left := len(out) * packW
		for k := range p.chunks {
			l := min(left, len(p.chunks[k]))
			p.chunks[k] = p.chunks[k][:l]
			left -= l
		}
		p.n = len(out)
		total += int64(len(out))
		b.scratch = sc[:0]
	}
	return total
}

// write emits the prepared entries as one run at w's current offset.
func (b *builder) write(w *fileWriter, n int64, tag [8]byte) *runInfo {
	bb, s, tw := runParams(n, b.minS, b.maxS)
	counts := make([]uint32, max(1, 1<<bb))
	for i := range b.parts {
		b.parts[i].each(func(c []byte) { counts[bucketOf(binary.BigEndian.Uint64(c), bb)]++ })
	}
	rw := startRun(w, n, bb, s, tw, b.minS, tag, counts)
	var h [16]byte
	for i := range b.parts {
		b.parts[i].each(func(c []byte) {
			copy(h[:], c[:16])
			rw.add(&h, c[24], int64(binary.BigEndian.Uint64(c[16:])))
		})
	}
	return rw.finish()
}
