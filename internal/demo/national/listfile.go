package national

import (
	"fmt"
	"io"
	"os"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// listHead is everything of a status list but its entries.
type listHead struct {
	issuer     string
	seq, base  uint64
	this, next int64
}

// listWriter encodes one status list straight into the bytes that are
// signed and written, so a list of n entries costs one buffer of about
// 24·n bytes, reused from list to list — never the []any tree
// credential.StatusList.EncodePayload builds. The bytes are exactly those
// of issuer.Signer.SignStatusList for the same list and randomness (a
// test holds it to that): deterministic CBOR, the COSE_Sign1 of
// credential.EncodeSign1.
//
// The buffer holds the Sig_structure, whose tail is the payload, so the
// signature is computed over it in place and the file is written as the
// COSE header, the payload slice and the signature.
type listWriter struct {
	buf   []byte
	start int // payload starts here; the Sig_structure prefix goes before it
	n     int // entries announced
	added int
}

const sigPrefixRoom = 64 // more than any Sig_structure prefix

// begin starts a list of n entries.
func (lw *listWriter) begin(h listHead, n int) {
	need := sigPrefixRoom + 64 + n*24 // since needs 5 bytes in 1970–2106
	if cap(lw.buf) < need {
		lw.buf = make([]byte, 0, need)
	}
	b := lw.buf[:sigPrefixRoom]
	b = appendHead(b, 5, 6) // map of 6 pairs, keys in deterministic order
	b = appendHead(b, 0, 1)
	b = appendHead(b, 3, uint64(len(h.issuer)))
	b = append(b, h.issuer...)
	b = appendHead(b, 0, 2)
	b = appendHead(b, 0, h.seq)
	b = appendHead(b, 0, 3)
	b = appendHead(b, 0, h.base)
	b = appendHead(b, 0, 4)
	b = appendInt(b, h.this)
	b = appendHead(b, 0, 5)
	b = appendInt(b, h.next)
	b = appendHead(b, 0, 6)
	b = appendHead(b, 4, uint64(n))
	lw.buf, lw.start, lw.n, lw.added = b, sigPrefixRoom, n, 0
}

// add appends one [idHash, status, since] entry.
func (lw *listWriter) add(h *[credential.IDHashSize]byte, st credential.Status, since int64) {
	b := append(lw.buf, 0x83, 0x40|credential.IDHashSize)
	b = append(b, h[:]...)
	b = append(b, byte(st))
	lw.buf = appendInt(b, since)
	lw.added++
}

// finish signs the list with s and writes it to path, returning the file's
// size and SM3 digest.
func (lw *listWriter) finish(path string, s *issuer.Signer, rand io.Reader) (int64, [gm.SM3Size]byte, error) {
	var sum [gm.SM3Size]byte
	if lw.added != lw.n {
		return 0, sum, fmt.Errorf("national: list %s has %d entries, %d announced", path, lw.added, lw.n)
	}
	payload := lw.buf[lw.start:]
	protected := protectedHeader(s)
	// Sig_structure = ["Signature1", protected, h'', payload]
	pre := appendHead(nil, 4, 4)
	pre = appendHead(pre, 3, uint64(len("Signature1")))
	pre = append(pre, "Signature1"...)
	pre = appendHead(pre, 2, uint64(len(protected)))
	pre = append(pre, protected...)
	pre = appendHead(pre, 2, 0)
	pre = appendHead(pre, 2, uint64(len(payload)))
	if len(pre) > lw.start {
		return 0, sum, fmt.Errorf("national: Sig_structure prefix of %d bytes", len(pre))
	}
	msg := lw.buf[lw.start-len(pre):]
	copy(msg, pre)
	sig, err := s.Key.Sign(rand, msg)
	if err != nil {
		return 0, sum, err
	}
	// COSE_Sign1 = 18([protected, {}, payload, signature])
	head := appendHead(nil, 6, 18)
	head = appendHead(head, 4, 4)
	head = appendHead(head, 2, uint64(len(protected)))
	head = append(head, protected...)
	head = appendHead(head, 5, 0)
	head = appendHead(head, 2, uint64(len(payload)))
	tail := appendHead(nil, 2, uint64(len(sig)))
	tail = append(tail, sig...)
	size := int64(len(head) + len(payload) + len(tail))
	if size > credential.MaxStatusListSize {
		return 0, sum, fmt.Errorf("%w: list of %d bytes exceeds %d", ErrConfig, size, credential.MaxStatusListSize)
	}
	h := gm.NewSM3()
	f, err := os.Create(path)
	if err != nil {
		return 0, sum, err
	}
	for _, part := range [][]byte{head, payload, tail} {
		h.Write(part)
		if _, err := f.Write(part); err != nil {
			f.Close()
			return 0, sum, err
		}
	}
	if err := f.Close(); err != nil {
		return 0, sum, err
	}
	copy(sum[:], h.Sum(nil))
	return size, sum, nil
}

// protectedHeader is the deterministic CBOR of {1: AlgSM2SM3, 4: kid}.
func protectedHeader(s *issuer.Signer) []byte {
	b := appendHead(nil, 5, 2)
	b = appendHead(b, 0, 1)
	b = appendInt(b, credential.AlgSM2SM3)
	b = appendHead(b, 0, 4)
	b = appendHead(b, 2, uint64(len(s.KID)))
	return append(b, s.KID[:]...)
}

// appendHead appends the shortest CBOR head of major type major and
// argument v (RFC 8949 sections 3 and 4.2.1).
func appendHead(b []byte, major byte, v uint64) []byte {
	m := major << 5
	switch {
	case v < 24:
		return append(b, m|byte(v))
	case v <= 0xff:
		return append(b, m|24, byte(v))
	case v <= 0xffff:
		return append(b, m|25, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		return append(b, m|26, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, m|27, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// appendInt appends a CBOR integer (major type 0, or 1 when negative).
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendHead(b, 1, uint64(-(v + 1)))
	}
	return appendHead(b, 0, uint64(v))
}
