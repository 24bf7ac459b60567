package scan

import (
	"math/bits"
	"sync"
)

// Buffer pools. The planes and bitmaps of one frame come to a few
// megabytes; recycling them across Decode calls spares the allocator and
// the zeroing of fresh memory, which would otherwise cost as much as the
// image processing itself. Buffers come back with stale contents: every
// user overwrites all of a buffer it takes.
//
// Capacity classes are powers of two, so any buffer put back fits any
// request of its class.
var (
	bytePools   [40]sync.Pool // *[]byte of capacity 1<<k
	uint16Pools [40]sync.Pool // *[]uint16 of capacity 1<<k
)

// sizeClass returns k with 1<<k the smallest power of two ≥ n (n ≥ 1).
func sizeClass(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

// getBytes returns a byte slice of length n with unspecified contents.
func getBytes(n int) []byte {
	k := sizeClass(n)
	if v, ok := bytePools[k].Get().(*[]byte); ok {
		return (*v)[:n]
	}
	return make([]byte, n, 1<<k)
}

// putBytes recycles b; b must not be used afterwards.
func putBytes(b []byte) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 {
		return // not from getBytes
	}
	b = b[:0]
	bytePools[bits.Len(uint(c))-1].Put(&b)
}

// getUint16s is getBytes for uint16 slices.
func getUint16s(n int) []uint16 {
	k := sizeClass(n)
	if v, ok := uint16Pools[k].Get().(*[]uint16); ok {
		return (*v)[:n]
	}
	return make([]uint16, n, 1<<k)
}

// putUint16s is putBytes for uint16 slices.
func putUint16s(b []uint16) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	b = b[:0]
	uint16Pools[bits.Len(uint(c))-1].Put(&b)
}

// release recycles the plane's pixels; p must not be used afterwards.
func (p *plane) release() {
	if p != nil {
		putBytes(p.pix)
		p.pix = nil
	}
}

// release recycles the bitmap's pixels; b must not be used afterwards.
func (b *bitmap) release() {
	if b != nil {
		putBytes(b.pix)
		b.pix = nil
	}
}
