package statusfile

import (
	"encoding/binary"
	"slices"
)

// builder holds one full list while it is sorted: entries are packed (25
// bytes) into 256 partitions by their first hash byte, in arrival (apply)
// order; each partition is then sorted and compacted on its own, so only
// the packed entries and one partition's sort buffer are in memory.
type builder struct {
	parts   [256]bpart
	n       int64
	free    [chunkClasses][][]byte // chunks kept for the next list, by size class
	scratch []rec
	tmp     []rec

	// after prepare
	count int64
	shape shape
}

type bpart struct {
	chunks [][]byte
	n      int
}

const (
	packW        = 16 + 8 + 1
	firstChunk   = packW * 16
	chunkClasses = 8 // chunk sizes firstChunk·2^k, the last about 50 KiB
)

func (b *builder) add(e *Entry) {
	p := &b.parts[e.IDHash[0]]
	if len(p.chunks) == 0 || len(p.chunks[len(p.chunks)-1]) == cap(p.chunks[len(p.chunks)-1]) {
		class := min(len(p.chunks), chunkClasses-1)
		var c []byte
		if f := b.free[class]; len(f) > 0 {
			c = f[len(f)-1][:0]
			b.free[class] = f[:len(f)-1]
		} else {
			c = make([]byte, 0, firstChunk<<class)
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

// reset empties the builder, keeping its chunks for the next list.
func (b *builder) reset() {
	for i := range b.parts {
		for k, c := range b.parts[i].chunks {
			class := min(k, chunkClasses-1)
			b.free[class] = append(b.free[class], c[:0])
		}
		b.parts[i].chunks = b.parts[i].chunks[:0]
		b.parts[i].n = 0
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
// hashes whose latest entry has a status, and the run's shape.
func (b *builder) prepare() int64 {
	b.count, b.shape = 0, newShape()
	for i := range b.parts {
		p := &b.parts[i]
		if p.n == 0 {
			continue
		}
		sc := b.scratch[:0]
		p.each(func(c []byte) { sc = append(sc, unpack(c, uint32(len(sc)))) })
		sc = b.sort(sc)
		out := sc[:0]
		for a := 0; a < len(sc); {
			z := a + 1
			for z < len(sc) && sc[z].hi == sc[a].hi && sc[z].lo == sc[a].lo {
				z++
			}
			if sc[z-1].st != 0 {
				b.count++
			}
			g := compactGroup(sc[a:z], true)
			if len(g) > 0 {
				b.shape.addGroup(g)
			}
			out = append(out, g...)
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
		}
		// Trim: keep the chunks' lengths consistent with the survivors.
		left := len(out) * packW
		for k := range p.chunks {
			l := min(left, len(p.chunks[k]))
			p.chunks[k] = p.chunks[k][:l]
			left -= l
		}
		p.n = len(out)
		b.scratch = sc[:0]
	}
	return b.shape.n
}

// sort orders a partition (entries sharing their first hash byte, in
// apply order) by hash then apply order: a stable radix sort on the next
// two hash bytes, then an insertion sort that only meets ties.
func (b *builder) sort(sc []rec) []rec {
	if len(sc) < 256 {
		slices.SortFunc(sc, cmpRec)
		return sc
	}
	if cap(b.tmp) < len(sc) {
		b.tmp = make([]rec, len(sc))
	}
	tmp := b.tmp[:len(sc)]
	src, dst := sc, tmp
	for _, shift := range []uint{40, 48} {
		var cnt [257]int
		for i := range src {
			cnt[int(byte(src[i].hi>>shift))+1]++
		}
		for i := 1; i < 257; i++ {
			cnt[i] += cnt[i-1]
		}
		for i := range src {
			k := byte(src[i].hi >> shift)
			dst[cnt[k]] = src[i]
			cnt[k]++
		}
		src, dst = dst, src
	}
	// src is sc again (two passes); finish ties on the remaining bits.
	for i := 1; i < len(src); i++ {
		for j := i; j > 0 && cmpRec(src[j-1], src[j]) > 0; j-- {
			src[j-1], src[j] = src[j], src[j-1]
		}
	}
	return src
}

// write emits the prepared entries as one run at w's current offset.
func (b *builder) write(w *fileWriter, tag [8]byte) *runInfo {
	rw := startRun(w, &b.shape, tag, func(bb uint) []uint32 {
		counts := make([]uint32, max(1, 1<<bb))
		b.groups(func(g []rec) { counts[bucketOf(g[0].hi, bb)]++ })
		return counts
	}, nil)
	b.groups(rw.addGroup)
	return rw.finish()
}

// groups calls fn with the entries of each idHash, in hash order.
func (b *builder) groups(fn func(g []rec)) {
	g := b.scratch[:0]
	for i := range b.parts {
		b.parts[i].each(func(c []byte) {
			e := unpack(c, 0)
			if len(g) > 0 && (g[0].hi != e.hi || g[0].lo != e.lo) {
				fn(g)
				g = g[:0]
			}
			g = append(g, e)
		})
	}
	if len(g) > 0 {
		fn(g)
	}
	b.scratch = g[:0]
}
