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
//     its body repeats): what sealing writes, unless it would not be
//     smaller.
//
// Compression comes before the encryption (sealed bytes do not compress).
const evidenceDeflate = 0x01

// evidenceDict is the preset dictionary of evidenceDeflate: words of
// Chinese road-transport records (licence types, company forms, road
// kinds, province abbreviations), verification reason and stop warning
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

// evidenceLevel is the DEFLATE level of evidenceDeflate: klauspost's
// level 6 resets without clearing its tables (compress/flate clears
// 640 KiB at each reset, several times the cost of compressing a record)
// and compresses a record within a few bytes of level 9.
const evidenceLevel = 6

// maxEvidence bounds what an evidence inflates to: the largest record body
// and its signature, with their framing.
const maxEvidence = records.MaxBodySize + 1024

var (
	deflaters = sync.Pool{New: func() any {
		w, err := flate.NewWriterDict(nil, evidenceLevel, evidenceDict)
		if err != nil {
			panic(err) // the level is valid
		}
		return w
	}}
	inflaters = sync.Pool{New: func() any { return flate.NewReaderDict(bytes.NewReader(nil), evidenceDict) }}
)

// dictFor is the preset dictionary of an evidence sealed with ad.
func dictFor(ad []byte) []byte {
	return append(evidenceDict[:len(evidenceDict):len(evidenceDict)], ad...)
}

// encodeEvidence is the plaintext sealed with ad for a record's canonical
// bytes and signature: evidenceDeflate and the compressed CBOR, or the
// CBOR itself when compressing does not make it smaller.
func encodeEvidence(ad, body, sig []byte) ([]byte, error) {
	ev, err := cbor.Marshal(evidence{Body: body, Sig: sig})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(ev))
	buf.WriteByte(evidenceDeflate)
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.ResetDict(&buf, dictFor(ad))
	if _, err := w.Write(ev); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if buf.Len() >= len(ev) {
		return ev, nil
	}
	return buf.Bytes(), nil
}

// decodeEvidence reads a plaintext of either evidence format, sealed with
// ad.
func decodeEvidence(ad, pt []byte) (evidence, error) {
	var e evidence
	if len(pt) > 0 && pt[0] == evidenceDeflate {
		r := inflaters.Get().(io.ReadCloser)
		defer inflaters.Put(r)
		if err := r.(flate.Resetter).Reset(bytes.NewReader(pt[1:]), dictFor(ad)); err != nil {
			return e, err
		}
		ev, err := io.ReadAll(io.LimitReader(r, maxEvidence+1))
		if err != nil {
			return e, fmt.Errorf("inflate: %w", err)
		}
		if len(ev) > maxEvidence {
			return e, errors.New("inflates beyond the largest record")
		}
		pt = ev
	}
	err := cbor.Unmarshal(pt, &e)
	return e, err
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
	pt, err := encodeEvidence(ad, body, sig)
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
