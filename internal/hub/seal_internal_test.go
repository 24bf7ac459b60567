package hub

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/huff0"
	"github.com/klauspost/compress/s2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var updateEvidence = flag.Bool("update-evidence", false, "rewrite testdata/evidence-*.bin (never for a format already in use)")

// sampleEvidence is a record's canonical bytes and a signature of its size.
func sampleEvidence(t testing.TB) (body, sig []byte) {
	t.Helper()
	var id records.ID
	copy(id[:], "0123456789abcdef")
	r := &records.Record{ID: id, Seq: 42, Device: "T-0042", Prev: gm.SM3([]byte("prev")), Wall: time.UnixMilli(1_790_000_000_000),
		Check: records.Check{Officer: "004711", Number: "粤交运管深字440300123456号", Kind: 3, Verdict: verify.Valid,
			KID: []byte{1, 2, 3, 4, 5, 6, 7, 8}, IDHash: bytes.Repeat([]byte{9}, 16),
			Location: &records.Location{Lat: 22.54, Lon: 114.05, Place: "G4 京港澳高速 K12+300"},
			Action:   records.ActionRelease, Holder: "深圳市顺达货运有限公司", HolderID: "91440300MA5FXXXX1X", Plate: "粤B12345"}}
	body, err := r.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := gm.SM3(body), gm.SM3([]byte("sig"))
	return body, append(s1[:], s2[:]...)
}

// deflateEvidence is the plaintext of an evidence in the format
// evidenceDeflate (what sealing wrote until schema 5), sealed with ad.
func deflateEvidence(t testing.TB, ad, body, sig []byte) []byte {
	t.Helper()
	ev, err := cbor.Marshal(evidence{Body: body, Sig: sig})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteByte(evidenceDeflate)
	w, err := flate.NewWriterDict(&buf, 6, dictFor(ad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ev); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEvidenceFormats: sealing compresses (format evidenceS2) when it pays
// and keeps the CBOR when it does not; every format opens (evidenceDeflate
// too, which sealing no longer writes), and so do the files of each kept
// in testdata (written by earlier builds).
func TestEvidenceFormats(t *testing.T) {
	keys, err := NewKeys(bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16))
	if err != nil {
		t.Fatal(err)
	}
	body, sig := sampleEvidence(t)
	plain, err := cbor.Marshal(evidence{Body: body, Sig: sig})
	if err != nil {
		t.Fatal(err)
	}
	id := []byte("0123456789abcdef")
	packed, err := encodeEvidence(body, sig)
	s2Only := append([]byte{evidenceS2}, s2Dict.Encode(nil, plain)...)
	if err != nil || packed[0] != evidenceS2Huff || len(packed) >= len(s2Only) || len(s2Only) > len(plain)*90/100 {
		t.Fatalf("compressed %d bytes to %d, %d with S2 alone (%v)", len(plain), len(packed), len(s2Only), err)
	}
	deflated := deflateEvidence(t, id, body, sig)
	if *updateEvidence {
		os.WriteFile(filepath.Join("testdata", "evidence-s2huff.bin"), packed, 0o644)
	}
	noise := bytes.Repeat([]byte{0x5a, 0xc3, 0x19, 0xee, 0x07}, 60)
	for i := range noise {
		noise[i] ^= byte(i * 131)
	}
	raw, err := encodeEvidence(noise[:7], noise[7:71])
	if err != nil || raw[0] != 0xa2 {
		t.Fatalf("incompressible evidence: %x %v", raw, err)
	}
	for name, pt := range map[string][]byte{"cbor": plain, "deflate": deflated, "s2": s2Only, "s2huff": packed, "raw": raw} {
		sealed, err := keys.data.Seal(pt, id)
		if err != nil {
			t.Fatal(err)
		}
		e, err := keys.openEvidence(sealed, id)
		want := evidence{Body: body, Sig: sig}
		if name == "raw" {
			want = evidence{Body: noise[:7], Sig: noise[7:71]}
		}
		if err != nil || !bytes.Equal(e.Body, want.Body) || !bytes.Equal(e.Sig, want.Sig) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := keys.openEvidence(sealed, []byte("another id......")); err == nil {
			t.Errorf("%s opened bound to another id", name)
		}
	}
	sealed, err := keys.SealEvidence([16]byte(id), body, sig)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := keys.openEvidence(sealed, id); err != nil || !bytes.Equal(e.Body, body) {
		t.Fatalf("SealEvidence: %v", err)
	}
	for _, name := range []string{"evidence-cbor.bin", "evidence-deflate.bin", "evidence-s2.bin", "evidence-s2huff.bin"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if e, err := decodeEvidence(id, b); err != nil || !bytes.Equal(e.Body, body) || !bytes.Equal(e.Sig, sig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestEvidenceDictPinned: the preset dictionary of evidenceDeflate and
// evidenceS2 never changes (evidence sealed with it would no longer open),
// nor the offset of evidenceS2's first repeat, nor the Huffman table of
// evidenceS2Huff.
func TestEvidenceDictPinned(t *testing.T) {
	const want = "ee967219227c7a2d61f4d9c85d5f34563dad9975d52a4a2f34ca82a8d0f6bf60"
	if d := gm.SM3(evidenceDict); hex.EncodeToString(d[:]) != want {
		t.Fatalf("evidence.dict changed: SM3 %x, pinned %s", d, want)
	}
	const wantHuff = "2ab6abca451a70aa29dc79a109223a0ecb24b1816f7970db77ebb5e50087e191"
	if d := gm.SM3(evidenceHuff); hex.EncodeToString(d[:]) != wantHuff {
		t.Fatalf("evidence.huff changed: SM3 %x, pinned %s", d, wantHuff)
	}
	if evidenceS2Repeat != 0x036a || !bytes.HasPrefix(evidenceDict[evidenceS2Repeat:], []byte{0xa2, 0x01}) {
		t.Fatal("evidenceS2Repeat changed")
	}
}

// TestEvidenceBomb: a compressed evidence that inflates beyond the largest
// record is refused, not read into memory.
func TestEvidenceBomb(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteByte(evidenceDeflate)
	w, _ := flate.NewWriterDict(&buf, flate.BestCompression, evidenceDict)
	w.Write(make([]byte, 10*maxEvidence))
	w.Close()
	if _, err := decodeEvidence(nil, buf.Bytes()); err == nil {
		t.Fatal("a DEFLATE bomb decoded")
	}
	body, sig := sampleEvidence(t)
	ev, err := cbor.Marshal(evidence{Body: body, Sig: sig})
	if err != nil {
		t.Fatal(err)
	}
	block := s2.Encode(nil, bytes.Repeat(ev, 10*maxEvidence/len(ev)))
	if _, err := decodeEvidence(nil, append([]byte{evidenceS2}, block...)); err == nil {
		t.Fatal("an S2 bomb decoded")
	}
	hc := huffTable()
	hc.Reuse = huff0.ReusePolicyMust
	coded, reused, err := huff0.Compress1X(block, hc)
	if err != nil || !reused {
		t.Fatal(err, reused)
	}
	if _, err := decodeEvidence(nil, append([]byte{evidenceS2Huff}, coded...)); err == nil {
		t.Fatal("a Huffman-coded S2 bomb decoded")
	}
}

// FuzzDecodeEvidence: no plaintext panics decodeEvidence or inflates
// beyond maxEvidence.
func FuzzDecodeEvidence(f *testing.F) {
	for _, name := range []string{"evidence-cbor.bin", "evidence-deflate.bin", "evidence-s2.bin", "evidence-s2huff.bin"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{evidenceDeflate})
	f.Add([]byte{evidenceS2})
	f.Add([]byte{evidenceS2Huff})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEvidence([]byte("0123456789abcdef"), b)
		if err == nil && len(e.Body)+len(e.Sig) > maxEvidence {
			t.Fatalf("decoded %d bytes", len(e.Body)+len(e.Sig))
		}
	})
}

// BenchmarkSealEvidence: the CPU of sealing and opening one record's
// evidence, uncompressed (the first format), compressed with DEFLATE (what
// sealing wrote until schema 5), with S2, and with S2 and the fixed
// Huffman table (what it writes now); it reports the sealed size.
func BenchmarkSealEvidence(b *testing.B) {
	keys, err := NewKeys(bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16))
	if err != nil {
		b.Fatal(err)
	}
	body, sig := sampleEvidence(b)
	id := []byte("0123456789abcdef")
	plain := func() ([]byte, error) {
		ev, err := cbor.Marshal(evidence{Body: body, Sig: sig})
		if err != nil {
			return nil, err
		}
		return keys.data.Seal(ev, id)
	}
	deflated := func() ([]byte, error) { return keys.data.Seal(deflateEvidence(b, id, body, sig), id) }
	s2Only := func() ([]byte, error) {
		ev, err := cbor.Marshal(evidence{Body: body, Sig: sig})
		if err != nil {
			return nil, err
		}
		return keys.data.Seal(append([]byte{evidenceS2}, s2Dict.Encode(nil, ev)...), id)
	}
	packed := func() ([]byte, error) { return keys.sealEvidence(id, body, sig) }
	for _, f := range []struct {
		name string
		seal func() ([]byte, error)
	}{{"cbor", plain}, {"deflate", deflated}, {"s2", s2Only}, {"s2huff", packed}} {
		sealed, err := f.seal()
		if err != nil {
			b.Fatal(err)
		}
		b.Run("seal/"+f.name, func(b *testing.B) {
			for range b.N {
				if _, err := f.seal(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(sealed)), "B/sealed")
		})
		b.Run("open/"+f.name, func(b *testing.B) {
			for range b.N {
				if _, err := keys.openEvidence(sealed, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
