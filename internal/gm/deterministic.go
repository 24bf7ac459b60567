package gm

import (
	"encoding/binary"
	"io"

	"github.com/emmansun/gmsm/sm3"
)

// DeterministicReader returns an endless byte stream derived from seed with
// SM3 in counter mode: block i is SM3(seed || i). Reads shorter than 32
// bytes return zeros and do not advance the stream, so gmsm's habit of
// sometimes reading one throw-away byte (randutil.MaybeReadByte) does not
// change the nonce that follows: signatures made with a fresh reader from
// the same seed are reproducible.
//
// WARNING: only for reproducible demo worlds and test vectors. A signature
// nonce derived this way is safe only if the seed is secret and unique per
// message; never use it for keys or signatures that protect real data.
func DeterministicReader(seed []byte) io.Reader {
	return &detReader{seed: append([]byte(nil), seed...)}
}

// ScalarFromSeed derives an SM2 private key from seed (retrying with a
// counter until the scalar is in range).
//
// WARNING: for demo worlds and tests only, like DeterministicReader.
func ScalarFromSeed(seed []byte) (*PrivateKey, error) {
	r := &detReader{seed: append([]byte("key:"), seed...)}
	var d [32]byte
	for {
		r.Read(d[:])
		if k, err := NewPrivateKeyFromScalar(d[:]); err == nil {
			return k, nil
		}
	}
}

type detReader struct {
	seed    []byte
	counter uint64
	buf     []byte
}

func (r *detReader) Read(p []byte) (int, error) {
	if len(p) < sm3.Size {
		clear(p)
		return len(p), nil
	}
	n := 0
	for n < len(p) {
		if len(r.buf) == 0 {
			var ctr [8]byte
			binary.BigEndian.PutUint64(ctr[:], r.counter)
			r.counter++
			h := sm3.New()
			h.Write(r.seed)
			h.Write(ctr[:])
			r.buf = h.Sum(nil)
		}
		c := copy(p[n:], r.buf)
		r.buf = r.buf[c:]
		n += c
	}
	return n, nil
}
