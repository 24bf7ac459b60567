// Package credential owns the RTC1 wire format: the data model of the three
// road-transport licence kinds (从业资格证 JT/T 1290, 经营许可证 JT/T 1291,
// 道路运输证 JT/T 1292) and the codec that turns them into QR text and back:
//
//	claims (CBOR) → CWT claims set → COSE_Sign1 (SM2/SM3) → zlib → Base45 → "RTC1:"
//
// Decoding enforces every structural limit of the format before doing more
// work (text length, inflated size, CBOR nesting depth, duplicate map keys,
// indefinite lengths, trailing bytes) and reports failures as errors wrapping
// ErrMalformed, ErrUnsupportedVersion or ErrUnsupportedAlg, so the verifier can
// map them to reason codes. Decoding never checks signatures or trust: that is
// package verify's job; this package only exposes the exact bytes to verify
// (Sign1.SigStructure).
//
// Choices the RTC1 specification leaves open are documented in FORMAT.md in
// this directory and covered by test vectors in testdata/vectors.
package credential
