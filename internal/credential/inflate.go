package credential

import (
	"encoding/binary"
	"errors"
	"hash/adler32"
	"math/bits"
	"sync"
)

// The zlib (RFC 1950) and DEFLATE (RFC 1951) decoding of a code's bytes.
//
// Derived from compress/flate/inflate.go and compress/zlib/reader.go of
// the Go distribution: Copyright 2009 The Go Authors. All rights reserved.
// Use of that source code is governed by a BSD-style license that can be
// found in the LICENSE file of the Go distribution.
//
// It is compress/zlib and compress/flate of the Go standard library (Go
// 1.26, BSD licence: the same rules for the header, the Huffman tables —
// complete codes only, but for a single code of length 1 —, the block
// types, the length and distance codes, the distances within what was
// written, the stored blocks and the Adler-32), specialised for an input
// held in memory and an output of at most MaxCOSESize bytes: it reads the
// input slice directly and writes into the output, which is its own
// window, where the library goes through an io.ByteReader, a 32 KiB
// window and a copy. It accepts exactly the streams the library accepts
// (FuzzInflate compares them), with the same output.

// Errors of the decoder; DecodeText wraps them in ErrMalformed.
var (
	errZlibHeader   = errors.New("zlib: invalid header")
	errZlibDict     = errors.New("zlib: invalid dictionary")
	errZlibChecksum = errors.New("zlib: invalid checksum")
	errTruncated    = errors.New("unexpected EOF")
	errCorrupt      = errors.New("flate: corrupt input")
	errTooLarge     = errors.New("inflated COSE too large")
)

const (
	maxCodeLen = 16  // longest Huffman code (+1)
	maxNumLit  = 286 // literal/length codes that may occur
	maxNumDist = 30  // distance codes that may occur
	numCodes   = 19  // code length codes

	huffmanChunkBits  = 9
	huffmanNumChunks  = 1 << huffmanChunkBits
	huffmanCountMask  = 15
	huffmanValueShift = 4
)

// huffmanDecoder is compress/flate's: a 9-bit table of chunks (value <<
// 4 | code length), with link tables for longer codes.
type huffmanDecoder struct {
	min      int
	chunks   [huffmanNumChunks]uint32
	links    [][]uint32
	linkMask uint32
	linkBuf  []uint32 // backing store of links, kept from one init to the next
}

// init builds the decoder of the code with these lengths, and reports
// whether the code is complete (or a single code of length 1), as the
// library does.
func (h *huffmanDecoder) init(lengths []int) bool {
	h.min, h.links, h.linkMask = 0, h.links[:0], 0
	var count [maxCodeLen]int
	var min, max int
	for _, n := range lengths {
		if n == 0 {
			continue
		}
		if min == 0 || n < min {
			min = n
		}
		if n > max {
			max = n
		}
		count[n]++
	}
	// An empty tree: decoding with it fails (a zero chunk).
	if max == 0 {
		clear(h.chunks[:])
		return true
	}
	code := 0
	var nextcode [maxCodeLen]int
	for i := min; i <= max; i++ {
		code <<= 1
		nextcode[i] = code
		code += count[i]
	}
	if code != 1<<uint(max) && !(code == 1 && max == 1) {
		return false // the decoder is not used then
	}
	if code == 1 && max == 1 {
		// A single 1-bit code: the other bit decodes to a zero chunk
		// (an error). A complete code sets every chunk below.
		clear(h.chunks[:])
	}
	h.min = min
	if max > huffmanChunkBits {
		numLinks := 1 << (uint(max) - huffmanChunkBits)
		h.linkMask = uint32(numLinks - 1)
		link := nextcode[huffmanChunkBits+1] >> 1
		n := huffmanNumChunks - link
		if cap(h.linkBuf) < n*numLinks {
			h.linkBuf = make([]uint32, n*numLinks)
		}
		buf := h.linkBuf[:n*numLinks] // a complete code sets every entry
		for j := uint(link); j < huffmanNumChunks; j++ {
			reverse := int(bits.Reverse16(uint16(j))) >> uint(16-huffmanChunkBits)
			off := j - uint(link)
			h.chunks[reverse] = uint32(off<<huffmanValueShift | (huffmanChunkBits + 1))
			h.links = append(h.links, buf[int(off)*numLinks:int(off+1)*numLinks:int(off+1)*numLinks])
		}
	}
	for i, n := range lengths {
		if n == 0 {
			continue
		}
		code := nextcode[n]
		nextcode[n]++
		chunk := uint32(i<<huffmanValueShift | n)
		reverse := int(bits.Reverse16(uint16(code))) >> uint(16-n)
		if n <= huffmanChunkBits {
			for off := reverse; off < len(h.chunks); off += 1 << uint(n) {
				h.chunks[off] = chunk
			}
		} else {
			j := reverse & (huffmanNumChunks - 1)
			linktab := h.links[h.chunks[j]>>huffmanValueShift]
			reverse >>= huffmanChunkBits
			for off := reverse; off < len(linktab); off += 1 << uint(n-huffmanChunkBits) {
				linktab[off] = chunk
			}
		}
	}
	return true
}

var (
	fixedOnce    sync.Once
	fixedDecoder huffmanDecoder
)

func fixedHuffman() *huffmanDecoder {
	fixedOnce.Do(func() {
		var bits [288]int
		for i := range bits {
			switch {
			case i < 144:
				bits[i] = 8
			case i < 256:
				bits[i] = 9
			case i < 280:
				bits[i] = 7
			default:
				bits[i] = 8
			}
		}
		fixedDecoder.init(bits[:])
	})
	return &fixedDecoder
}

// inflateState decodes one zlib stream; it is recycled with its inflater.
type inflateState struct {
	in       []byte
	pos      int    // bytes of in consumed
	b        uint32 // input bits, in the low bits
	nb       uint
	h1, h2   huffmanDecoder
	bits     [maxNumLit + maxNumDist]int
	codebits [numCodes]int
	out      []byte // what was inflated: the window of distances
	limit    int    // the most out may hold
}

// zlibInflate decodes in, which must be exactly one zlib stream, appending
// at most limit bytes to out[:0]; it returns what it wrote (also on error).
func (f *inflateState) zlibInflate(in, out []byte, limit int) ([]byte, error) {
	f.in, f.pos, f.b, f.nb, f.out, f.limit = in, 0, 0, 0, out[:0], limit
	if len(in) < 2 {
		return f.out, errTruncated
	}
	if h := uint(in[0])<<8 | uint(in[1]); in[0]&0x0f != 8 || in[0]>>4 > 7 || h%31 != 0 {
		return f.out, errZlibHeader
	}
	f.pos = 2
	if in[1]&0x20 != 0 { // FDICT: only the empty dictionary's id passes
		if len(in) < 6 {
			return f.out, errTruncated
		}
		if binary.BigEndian.Uint32(in[2:]) != adler32.Checksum(nil) {
			return f.out, errZlibDict
		}
		f.pos = 6
	}
	for final := false; !final; {
		var err error
		if final, err = f.block(); err != nil {
			return f.out, err
		}
	}
	if len(f.in)-f.pos < 4 {
		return f.out, errTruncated
	}
	if binary.BigEndian.Uint32(f.in[f.pos:]) != adler32.Checksum(f.out) {
		return f.out, errZlibChecksum
	}
	f.pos += 4
	return f.out, nil
}

// trailing is the number of input bytes after the stream.
func (f *inflateState) trailing() int { return len(f.in) - f.pos }

func (f *inflateState) moreBits() error {
	if f.pos >= len(f.in) {
		return errTruncated
	}
	f.b |= uint32(f.in[f.pos]) << f.nb
	f.pos++
	f.nb += 8
	return nil
}

// need makes at least n bits available.
func (f *inflateState) need(n uint) error {
	for f.nb < n {
		if err := f.moreBits(); err != nil {
			return err
		}
	}
	return nil
}

// take consumes n available bits.
func (f *inflateState) take(n uint) uint32 {
	v := f.b & (1<<n - 1)
	f.b >>= n
	f.nb -= n
	return v
}

// block decodes one block and reports whether it was the final one.
func (f *inflateState) block() (final bool, err error) {
	if err := f.need(3); err != nil {
		return false, err
	}
	final = f.take(1) == 1
	switch f.take(2) {
	case 0:
		return final, f.stored()
	case 1:
		return final, f.huffmanBlock(fixedHuffman(), nil)
	case 2:
		if err := f.readHuffman(); err != nil {
			return false, err
		}
		return final, f.huffmanBlock(&f.h1, &f.h2)
	}
	return false, errCorrupt // type 3 is reserved
}

// stored copies an uncompressed block.
func (f *inflateState) stored() error {
	f.b, f.nb = 0, 0 // the rest of the current byte
	if len(f.in)-f.pos < 4 {
		return errTruncated
	}
	n := int(binary.LittleEndian.Uint16(f.in[f.pos:]))
	nn := binary.LittleEndian.Uint16(f.in[f.pos+2:])
	f.pos += 4
	if nn != ^uint16(n) {
		return errCorrupt
	}
	if len(f.in)-f.pos < n {
		if len(f.out)+len(f.in)-f.pos > f.limit {
			return errTooLarge
		}
		return errTruncated
	}
	if len(f.out)+n > f.limit {
		return errTooLarge
	}
	f.out = append(f.out, f.in[f.pos:f.pos+n]...)
	f.pos += n
	return nil
}

var codeOrder = [...]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// readHuffman reads the code lengths of a dynamic block into h1 and h2.
func (f *inflateState) readHuffman() error {
	if err := f.need(5 + 5 + 4); err != nil {
		return err
	}
	nlit := int(f.take(5)) + 257
	if nlit > maxNumLit {
		return errCorrupt
	}
	ndist := int(f.take(5)) + 1
	if ndist > maxNumDist {
		return errCorrupt
	}
	nclen := int(f.take(4)) + 4
	for i := 0; i < nclen; i++ {
		if err := f.need(3); err != nil {
			return err
		}
		f.codebits[codeOrder[i]] = int(f.take(3))
	}
	for i := nclen; i < len(codeOrder); i++ {
		f.codebits[codeOrder[i]] = 0
	}
	if !f.h1.init(f.codebits[:]) {
		return errCorrupt
	}
	for i, n := 0, nlit+ndist; i < n; {
		x, err := f.huffSym(&f.h1)
		if err != nil {
			return err
		}
		if x < 16 {
			f.bits[i] = x
			i++
			continue
		}
		var rep, b int
		var nb uint
		switch x {
		case 16:
			if i == 0 {
				return errCorrupt
			}
			rep, nb, b = 3, 2, f.bits[i-1]
		case 17:
			rep, nb = 3, 3
		default: // 18: the code length code has 19 symbols
			rep, nb = 11, 7
		}
		if err := f.need(nb); err != nil {
			return err
		}
		rep += int(f.take(nb))
		if i+rep > n {
			return errCorrupt
		}
		for j := 0; j < rep; j++ {
			f.bits[i] = b
			i++
		}
	}
	if !f.h1.init(f.bits[:nlit]) || !f.h2.init(f.bits[nlit:nlit+ndist]) {
		return errCorrupt
	}
	// Every block ends with the end-of-block code: reading at least its
	// length never reads past the stream (as the library does).
	if f.h1.min < f.bits[256] {
		f.h1.min = f.bits[256]
	}
	return nil
}

// huffSym decodes one symbol with h.
func (f *inflateState) huffSym(h *huffmanDecoder) (int, error) {
	n := uint(h.min)
	nb, b := f.nb, f.b
	for {
		for nb < n {
			if f.pos >= len(f.in) {
				f.b, f.nb = b, nb
				return 0, errTruncated
			}
			b |= uint32(f.in[f.pos]) << (nb & 31)
			f.pos++
			nb += 8
		}
		chunk := h.chunks[b&(huffmanNumChunks-1)]
		n = uint(chunk & huffmanCountMask)
		if n > huffmanChunkBits {
			chunk = h.links[chunk>>huffmanValueShift][(b>>huffmanChunkBits)&h.linkMask]
			n = uint(chunk & huffmanCountMask)
		}
		if n <= nb {
			if n == 0 {
				f.b, f.nb = b, nb
				return 0, errCorrupt
			}
			f.b, f.nb = b>>(n&31), nb-n
			return int(chunk >> huffmanValueShift), nil
		}
	}
}

// huffmanBlock decodes the symbols of a block up to its end; hd nil means
// the fixed distance code. The input bits and the output live in local
// variables while it runs (huffSym's steps, inlined).
func (f *inflateState) huffmanBlock(hl, hd *huffmanDecoder) (err error) {
	in, pos, b, nb, out := f.in, f.pos, f.b, f.nb, f.out
	defer func() { f.pos, f.b, f.nb, f.out = pos, b, nb, out }()
	// sym decodes one symbol with h (huffSym).
	sym := func(h *huffmanDecoder) (int, error) {
		n := uint(h.min)
		for {
			for nb < n {
				if pos >= len(in) {
					return 0, errTruncated
				}
				b |= uint32(in[pos]) << (nb & 31)
				pos++
				nb += 8
			}
			chunk := h.chunks[b&(huffmanNumChunks-1)]
			n = uint(chunk & huffmanCountMask)
			if n > huffmanChunkBits {
				chunk = h.links[chunk>>huffmanValueShift][(b>>huffmanChunkBits)&h.linkMask]
				n = uint(chunk & huffmanCountMask)
			}
			if n <= nb {
				if n == 0 {
					return 0, errCorrupt
				}
				b >>= n & 31
				nb -= n
				return int(chunk >> huffmanValueShift), nil
			}
		}
	}
	// extra reads n more bits.
	extra := func(n uint) (int, error) {
		for nb < n {
			if pos >= len(in) {
				return 0, errTruncated
			}
			b |= uint32(in[pos]) << (nb & 31)
			pos++
			nb += 8
		}
		v := int(b & (1<<n - 1))
		b >>= n
		nb -= n
		return v, nil
	}
	for {
		v, err := sym(hl)
		if err != nil {
			return err
		}
		var n uint // extra bits
		var length int
		switch {
		case v < 256:
			if len(out) >= f.limit {
				return errTooLarge
			}
			out = append(out, byte(v))
			continue
		case v == 256:
			return nil
		case v < 265:
			length, n = v-(257-3), 0
		case v < 269:
			length, n = v*2-(265*2-11), 1
		case v < 273:
			length, n = v*4-(269*4-19), 2
		case v < 277:
			length, n = v*8-(273*8-35), 3
		case v < 281:
			length, n = v*16-(277*16-67), 4
		case v < 285:
			length, n = v*32-(281*32-131), 5
		case v < maxNumLit:
			length, n = 258, 0
		default:
			return errCorrupt
		}
		if n > 0 {
			x, err := extra(n)
			if err != nil {
				return err
			}
			length += x
		}
		var dist int
		if hd == nil {
			x, err := extra(5)
			if err != nil {
				return err
			}
			dist = int(bits.Reverse8(uint8(x << 3)))
		} else if dist, err = sym(hd); err != nil {
			return err
		}
		switch {
		case dist < 4:
			dist++
		case dist < maxNumDist:
			nb := uint(dist-2) >> 1
			x, err := extra(nb)
			if err != nil {
				return err
			}
			dist = 1<<(nb+1) + 1 + ((dist&1)<<nb | x)
		default:
			return errCorrupt
		}
		if dist > len(out) {
			return errCorrupt
		}
		if len(out)+length > f.limit {
			return errTooLarge
		}
		// A backwards copy, in pieces where it overlaps what it writes.
		from := len(out) - dist
		for length > 0 {
			piece := out[from:min(from+length, len(out))]
			out = append(out, piece...)
			from += len(piece)
			length -= len(piece)
		}
	}
}
