package hub

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/fxamacker/cbor/v2"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/huff0"
	"github.com/klauspost/compress/s2"
	"github.com/roadcheck/roadcheck/internal/records"
)

// The evidence a stored record seals (StoredRecord.Sealed) is, once
// opened, one of:
//
//   - CBOR {1: canonical bytes, 2: signature} (evidence): the first
//     format, still read; its first byte is 0xA2 (a map of two entries);
//   - evidenceDeflate, then that CBOR compressed with raw DEFLATE
//     (RFC 1951), the preset dictionary being evidenceDict followed by the
//     associated data the evidence is sealed with (the record's id, which
//     its body repeats): what sealing wrote until schema 5, still read;
//   - evidenceS2, then that CBOR compressed as one S2 block
//     (github.com/klauspost/compress/s2, block format) with evidenceDict
//     as its dictionary, the dictionary's first repeat offset at
//     evidenceS2Repeat;
//   - evidenceS2Huff, then that S2 block Huffman-coded as one huff0 1X
//     stream (github.com/klauspost/compress/huff0) with the pinned table
//     evidenceHuff (not repeated in the stream): what sealing writes,
//     falling back to evidenceS2 when the Huffman code would not be
//     smaller, and to the CBOR itself when S2 would not be.
//
// Compression comes before the encryption (sealed bytes do not compress).
// S2 and a fixed Huffman table replaced DEFLATE for CPU: DEFLATE hashed the
// whole dictionary again and built Huffman tables for every record (about
// 30 µs a record, a third of the hub's ingestion CPU), where S2 matches
// against a dictionary table made once and huff0 codes with a table read
// once: about 4 µs together, for about the same size.
const (
	evidenceDeflate = 0x01
	evidenceS2      = 0x02
	evidenceS2Huff  = 0x03
)

// evidenceHuff is the Huffman table of evidenceS2Huff, in huff0's table
// format: made once from the S2 blocks of 600 made-up records (random
// ids, hashes, keys and signatures, common words), every byte value
// present so that any block can be coded with it.
//
// WARNING: never change the file: evidence sealed in evidenceS2Huff needs
// it to open (TestEvidenceDictPinned). Another table needs another format
// byte.
//
//go:embed evidence.huff
var evidenceHuff []byte

// evidenceS2Repeat is the offset in evidenceDict that an evidenceS2
// block's first repeat code refers to: where the dictionary's record in
// its evidence framing starts. Part of the format: never change it.
const evidenceS2Repeat = 0x036a

// evidenceDict is the preset dictionary of evidenceDeflate and
// evidenceS2: words of Chinese road-transport records (licence types,
// company forms, road kinds, province abbreviations), verification reason and stop warning
// codes, then the canonical bytes of two made-up records (the second in
// its evidence CBOR framing), so that the structure of a record, its keys
// and common values, costs a few bytes. It about halves what compresses
// in a record: the ids, hashes and signature (some 140 bytes) do not.
//
// WARNING: never change the file: evidence sealed in this format needs
// it to open (TestEvidenceDictPinned). Another dictionary needs another
// format byte.
//
//go:embed evidence.dict
var evidenceDict []byte

// maxEvidence bounds what an evidence inflates to: the largest record body
// and its signature, with their framing.
const maxEvidence = records.MaxBodySize + 1024

var (
	inflaters = sync.Pool{New: func() any { return flate.NewReaderDict(bytes.NewReader(nil), evidenceDict) }}
	// s2Dict is evidenceDict as evidenceS2's dictionary; its match table
	// is made on first use, once, and shared by every goroutine.
	s2Dict = s2.MakeDictManual(evidenceDict, evidenceS2Repeat)
	// huffCoders code with evidenceHuff (a huff0.Scratch each);
	// huffDecoder decodes with it (safe for concurrent use).
	huffCoders = sync.Pool{New: func() any {
		s := huffTable()
		s.Reuse = huff0.ReusePolicyMust
		return s
	}}
	huffDecoder = huffTable().Decoder()
	// s2Bufs hold an S2 block as it is encoded.
	s2Bufs = sync.Pool{New: func() any {
		b := make([]byte, 0, 1024)
		return &b
	}}
	// huffBufs hold an S2 block of evidenceS2Huff as it is decoded: as
	// large as that of the largest evidence.
	huffBufs = sync.Pool{New: func() any {
		b := make([]byte, 0, s2.MaxEncodedLen(maxEvidence))
		return &b
	}}
)

// huffTable is a huff0 scratch holding evidenceHuff.
func huffTable() *huff0.Scratch {
	s, rest, err := huff0.ReadTable(evidenceHuff, nil)
	if err != nil || len(rest) != 0 {
		panic(fmt.Sprintf("hub: evidence.huff: %v", err)) // pinned by TestEvidenceDictPinned
	}
	return s
}

// dictFor is the preset dictionary of an evidence sealed with ad.
func dictFor(ad []byte) []byte {
	return append(evidenceDict[:len(evidenceDict):len(evidenceDict)], ad...)
}

// encodeEvidence is the plaintext sealed for a record's canonical bytes
// and signature: evidenceS2Huff or evidenceS2 and the compressed CBOR, or
// the CBOR itself when compressing does not make it smaller.
func encodeEvidence(body, sig []byte) ([]byte, error) {
	ev, err := cbor.Marshal(evidence{Body: body, Sig: sig})
	if err != nil {
		return nil, err
	}
	n := s2.MaxEncodedLen(len(ev))
	if n < 0 {
		return ev, nil // beyond what one S2 block holds
	}
	buf := s2Bufs.Get().(*[]byte)
	defer s2Bufs.Put(buf)
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	packed := s2Dict.Encode((*buf)[:n], ev)
	if len(packed) == 0 || 1+len(packed) >= len(ev) {
		return ev, nil
	}
	hc := huffCoders.Get().(*huff0.Scratch)
	defer huffCoders.Put(hc)
	if coded, reused, err := huff0.Compress1X(packed, hc); err == nil && reused && len(coded) < len(packed) {
		return append([]byte{evidenceS2Huff}, coded...), nil
	}
	return append([]byte{evidenceS2}, packed...), nil
}

// decodeEvidence reads a plaintext of any evidence format, sealed with ad.
func decodeEvidence(ad, pt []byte) (evidence, error) {
	var e evidence
	if len(pt) > 0 {
		switch pt[0] {
		case evidenceDeflate:
			ev, err := inflate(ad, pt[1:])
			if err != nil {
				return e, err
			}
			pt = ev
		case evidenceS2:
			ev, err := unS2(pt[1:])
			if err != nil {
				return e, err
			}
			pt = ev
		case evidenceS2Huff:
			buf := huffBufs.Get().(*[]byte)
			packed, err := huffDecoder.Decompress1X((*buf)[:0], pt[1:])
			if err == nil {
				pt, err = unS2(packed)
			}
			huffBufs.Put(buf)
			if err != nil {
				return e, fmt.Errorf("huff0: %w", err)
			}
		}
	}
	err := cbor.Unmarshal(pt, &e)
	return e, err
}

// unS2 decodes an S2 block of evidenceS2.
func unS2(packed []byte) ([]byte, error) {
	n, err := s2.DecodedLen(packed)
	if err != nil {
		return nil, fmt.Errorf("s2: %w", err)
	}
	if n > maxEvidence {
		return nil, errors.New("inflates beyond the largest record")
	}
	ev, err := s2Dict.Decode(make([]byte, n), packed)
	if err != nil {
		return nil, fmt.Errorf("s2: %w", err)
	}
	return ev, nil
}

// inflate reads an evidenceDeflate stream sealed with ad.
func inflate(ad, deflated []byte) ([]byte, error) {
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(deflated), dictFor(ad)); err != nil {
		return nil, err
	}
	ev, err := io.ReadAll(io.LimitReader(r, maxEvidence+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(ev) > maxEvidence {
		return nil, errors.New("inflates beyond the largest record")
	}
	return ev, nil
}

// SealEvidence seals a record's canonical bytes and signature under the
// data key, bound to the record's id, as ingestion stores them
// (StoredRecord.Sealed): for tools that load records into a hub in bulk
// (benchmark fixtures, migrations between stores).
func (k *Keys) SealEvidence(id [16]byte, body, sig []byte) ([]byte, error) {
	return k.sealEvidence(id[:], body, sig)
}

// sealEvidence seals body and sig bound to ad (a record's id, or its
// alias: the key the record is stored under).
func (k *Keys) sealEvidence(ad, body, sig []byte) ([]byte, error) {
	pt, err := encodeEvidence(body, sig)
	if err != nil {
		return nil, err
	}
	return k.data.Seal(pt, ad)
}

// openEvidence opens what sealEvidence sealed (either format) bound to ad.
func (k *Keys) openEvidence(sealed, ad []byte) (evidence, error) {
	pt, err := k.data.Open(sealed, ad)
	if err != nil {
		return evidence{}, err
	}
	e, err := decodeEvidence(ad, pt)
	if err != nil {
		return e, fmt.Errorf("evidence: %w", err)
	}
	return e, nil
}
