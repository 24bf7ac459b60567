package credential

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// referenceInflate is the reading of a code's zlib stream through
// compress/zlib that DecodeText did before it had its own decoder: the
// reference that decoder must agree with.
func referenceInflate(compressed []byte) ([]byte, error) {
	src := bytes.NewReader(compressed)
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, min(4*len(compressed)+64, MaxCOSESize+1))
	for len(out) <= MaxCOSESize {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		n, err := zr.Read(out[len(out):min(cap(out), MaxCOSESize+1)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(out) > MaxCOSESize {
		return nil, errors.New("too large")
	}
	if src.Len() != 0 {
		return nil, fmt.Errorf("%d bytes after the stream", src.Len())
	}
	return out, nil
}

func inflateBytes(b []byte) ([]byte, error) {
	z := getInflater()
	defer zlibReaders.Put(z)
	z.compressed = append(z.compressed[:0], b...)
	return z.inflate()
}

func checkInflate(t *testing.T, b []byte) {
	t.Helper()
	got, err := inflateBytes(b)
	want, werr := referenceInflate(b)
	if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("%x: %d bytes, %v; compress/zlib: %d bytes, %v", b, len(got), err, len(want), werr)
	}
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("%x: error wraps no sentinel: %v", b, err)
	}
}

// zlibLevel compresses b at a level (with a dictionary id when dict).
func zlibLevel(b []byte, level int, dict bool) []byte {
	var buf bytes.Buffer
	var w *zlib.Writer
	if dict {
		w, _ = zlib.NewWriterLevelDict(&buf, level, []byte{})
	} else {
		w, _ = zlib.NewWriterLevel(&buf, level)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// inflateSeeds are zlib streams of every block type and size around the
// limit, and the streams of the worked example and of the vectors.
func inflateSeeds(texts []string) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	text := make([]byte, 20000)
	for i := range text {
		text[i] = "RTC1 道路运输证 粤B12345 "[r.IntN(20)]
	}
	noise := make([]byte, 20000)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	var out [][]byte
	for _, n := range []int{0, 1, 100, 700, MaxCOSESize - 1, MaxCOSESize, MaxCOSESize + 1} {
		for _, data := range [][]byte{text[:n], noise[:n], make([]byte, n)} {
			for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression, zlib.HuffmanOnly} {
				out = append(out, zlibLevel(data, level, false))
			}
		}
	}
	out = append(out, zlibLevel(text[:300], 6, true))
	// A raw fixed-Huffman block in a zlib frame.
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestSpeed)
	fw.Write([]byte("abcabcabcabc"))
	fw.Close()
	out = append(out, append(append([]byte{0x78, 0x01}, raw.Bytes()...), 0, 0, 0, 0))
	for _, s := range texts {
		if b, err := Base45Decode(strings.TrimPrefix(s, Prefix)); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// TestInflateAgreesWithZlib compares the decoder with compress/zlib on
// the seeds, on every prefix of a code's stream, and on every single-byte
// change of it.
func TestInflateAgreesWithZlib(t *testing.T) {
	for _, b := range inflateSeeds(nil) {
		checkInflate(t, b)
	}
	code, err := Base45Decode(strings.TrimPrefix(string(readExample(t, "code.txt")), Prefix))
	if err != nil {
		t.Fatal(err)
	}
	for i := range code {
		checkInflate(t, code[:i])
		for _, x := range []byte{0x00, 0x01, 0x80, 0xff} {
			q := append([]byte(nil), code...)
			q[i] ^= x
			checkInflate(t, q)
		}
	}
	checkInflate(t, append(code, 0))
}

// FuzzInflate compares the decoder with compress/zlib: the same output or
// both refusing.
func FuzzInflate(f *testing.F) {
	for _, b := range inflateSeeds(seedTexts(f)) {
		f.Add(b)
	}
	f.Fuzz(checkInflate)
}
