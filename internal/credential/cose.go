package credential

import (
	"fmt"
	"math"

	"github.com/fxamacker/cbor/v2"
)

// AlgSM2SM3 is the private-use COSE algorithm value RTC1 assigns to
// "SM2 signature with SM3 digest and the default distinguishing identifier".
const AlgSM2SM3 = -65600

// KIDSize is the length of a key identifier: the first 8 bytes of SM3 over
// the signer certificate's DER.
const KIDSize = 8

// coseSign1Tag is the CBOR tag of COSE_Sign1 (RFC 9052).
const coseSign1Tag = 18

const (
	headerAlg = 1
	headerKID = 4
)

var (
	decMode cbor.DecMode
	encMode cbor.EncMode
)

func init() {
	var err error
	decMode, err = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  65535, // depth is checked by checkCBOR, which does not count tags
		MaxArrayElements: math.MaxInt32,
		MaxMapPairs:      math.MaxInt32,
		IntDec:           cbor.IntDecConvertNone,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
}

// Sign1 is a decoded COSE_Sign1 whose structure and header rules have been
// checked, but whose signature has not.
type Sign1 struct {
	// Protected is the protected header exactly as carried (the bstr's content).
	Protected []byte
	// Alg is the protected alg; AlgOK reports whether it is AlgSM2SM3.
	Alg   any
	AlgOK bool
	// KID is the protected kid (KIDSize bytes).
	KID []byte
	// Payload is the payload bstr's content.
	Payload []byte
	// Signature is the signature bstr's content, of any length.
	Signature []byte
}

// SigStructure returns the bytes that are signed: the CBOR encoding of
// ["Signature1", protected, h”, payload] (RFC 9052 section 4.4).
func (s *Sign1) SigStructure() []byte { return sigStructure(s.Protected, s.Payload) }

func sigStructure(protected, payload []byte) []byte {
	b, err := encMode.Marshal([]any{"Signature1", protected, []byte{}, payload})
	if err != nil {
		panic("credential: encoding Sig_structure: " + err.Error()) // cannot fail for these types
	}
	return b
}

// decodeMap decodes b, which must be one CBOR map within the depth limit,
// into a generic map (duplicate keys, indefinite lengths and invalid UTF-8
// refused).
func decodeMap(b []byte, what string) (map[any]any, error) {
	if err := checkCBOR(b, MaxDepth); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var v any
	if err := decMode.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	m, ok := v.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a map", ErrMalformed, what)
	}
	return m, nil
}

// ParseSign1 decodes a COSE_Sign1 (tagged 18 or untagged) and checks the
// RTC1 rules of its structure: definite lengths, no duplicate keys, depth, no
// trailing bytes, a protected header that is a map holding an 8-byte kid, an
// attached payload. An alg other than AlgSM2SM3 is reported through AlgOK, not
// as an error, so the caller can order its checks; a missing or non-integer,
// non-text alg is ErrMalformed.
func ParseSign1(b []byte) (*Sign1, error) {
	if err := checkCBOR(b, MaxDepth); err != nil {
		return nil, fmt.Errorf("COSE_Sign1: %w", err)
	}
	var v any
	if err := decMode.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%w: COSE_Sign1: %v", ErrMalformed, err)
	}
	if t, ok := v.(cbor.Tag); ok {
		if t.Number != coseSign1Tag {
			return nil, fmt.Errorf("%w: COSE_Sign1: unexpected tag %d", ErrMalformed, t.Number)
		}
		v = t.Content
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 4 {
		return nil, fmt.Errorf("%w: COSE_Sign1 is not an array of 4", ErrMalformed)
	}
	protected, ok := arr[0].([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: protected header is not a byte string", ErrMalformed)
	}
	if _, ok := arr[1].(map[any]any); !ok {
		return nil, fmt.Errorf("%w: unprotected header is not a map", ErrMalformed)
	}
	payload, ok := arr[2].([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: payload is not a byte string (detached payloads are not allowed)", ErrMalformed)
	}
	sig, ok := arr[3].([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: signature is not a byte string", ErrMalformed)
	}
	s := &Sign1{Protected: protected, Payload: payload, Signature: sig}
	if len(protected) == 0 {
		return nil, fmt.Errorf("%w: empty protected header (no alg, no kid)", ErrMalformed)
	}
	hdr, err := decodeMap(protected, "protected header")
	if err != nil {
		return nil, err
	}
	alg, ok := intKey(hdr, headerAlg)
	if !ok {
		return nil, fmt.Errorf("%w: protected header has no alg", ErrMalformed)
	}
	switch a := alg.(type) {
	case uint64, int64, string:
		s.Alg = a
		s.AlgOK = a == any(int64(AlgSM2SM3))
	default:
		return nil, fmt.Errorf("%w: alg of type %T", ErrMalformed, alg)
	}
	kidV, ok := intKey(hdr, headerKID)
	if !ok {
		return nil, fmt.Errorf("%w: protected header has no kid", ErrMalformed)
	}
	kid, ok := kidV.([]byte)
	if !ok || len(kid) != KIDSize {
		return nil, fmt.Errorf("%w: kid is not a %d-byte string", ErrMalformed, KIDSize)
	}
	s.KID = kid
	return s, nil
}

// intKey looks up integer key k in a generically decoded CBOR map.
func intKey(m map[any]any, k int64) (any, bool) {
	if k >= 0 {
		v, ok := m[uint64(k)]
		return v, ok
	}
	v, ok := m[k]
	return v, ok
}

// EncodeSign1 builds a tagged COSE_Sign1 with protected {1: alg, 4: kid}, an
// empty unprotected map, payload and the signature returned by sign over the
// Sig_structure.
func EncodeSign1(kid, payload []byte, sign func(sigStructure []byte) ([]byte, error)) ([]byte, error) {
	return EncodeSign1Alg(AlgSM2SM3, kid, payload, sign)
}

// EncodeSign1Alg is EncodeSign1 with an explicit alg, for test vectors only.
func EncodeSign1Alg(alg any, kid, payload []byte, sign func(sigStructure []byte) ([]byte, error)) ([]byte, error) {
	protected, err := encMode.Marshal(map[int]any{headerAlg: alg, headerKID: kid})
	if err != nil {
		return nil, fmt.Errorf("credential: encode protected header: %w", err)
	}
	return EncodeSign1Raw(protected, map[any]any{}, payload, sign)
}

// EncodeSign1Raw builds a tagged COSE_Sign1 from an already encoded protected
// header and an unprotected map. Test vectors use it to build codes that break
// header rules on purpose.
func EncodeSign1Raw(protected []byte, unprotected map[any]any, payload []byte, sign func(sigStructure []byte) ([]byte, error)) ([]byte, error) {
	sig, err := sign(sigStructure(protected, payload))
	if err != nil {
		return nil, err
	}
	b, err := encMode.Marshal(cbor.Tag{Number: coseSign1Tag, Content: []any{protected, unprotected, payload, sig}})
	if err != nil {
		return nil, fmt.Errorf("credential: encode COSE_Sign1: %w", err)
	}
	return b, nil
}

// MarshalDeterministic encodes v with RFC 8949 section 4.2.1 core
// deterministic encoding.
func MarshalDeterministic(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("credential: encode: %w", err)
	}
	return b, nil
}
