package credential

import (
	"fmt"

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

var encMode cbor.EncMode

func init() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
}

// headerCrit is the COSE crit parameter, which RTC1 does not allow.
const headerCrit = 2

// Sign1 is a decoded COSE_Sign1 whose structure and header rules have been
// checked, but whose signature has not. Its byte slices alias the input of
// ParseSign1.
type Sign1 struct {
	// Protected is the protected header exactly as carried (the bstr's content).
	Protected []byte
	// Alg is the protected alg (uint64, int64, string, or an integer below
	// math.MinInt64); AlgOK reports whether it is AlgSM2SM3.
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
// ["Signature1", protected, h”, payload] (RFC 9052 section 4.4), built in
// one allocation of exactly its size.
func (s *Sign1) SigStructure() []byte { return sigStructure(s.Protected, s.Payload) }

func sigStructure(protected, payload []byte) []byte {
	const context = "Signature1"
	n := 1 + 1 + len(context) + 9 + len(protected) + 1 + 9 + len(payload)
	b := make([]byte, 0, n)
	b = append(b, 0x84)
	b = append(appendHead(b, majorText, uint64(len(context))), context...)
	b = append(appendHead(b, majorBytes, uint64(len(protected))), protected...)
	b = append(b, 0x40)
	b = append(appendHead(b, majorBytes, uint64(len(payload))), payload...)
	return b
}

// decodeMap decodes b, which must be one CBOR map within the limits of
// section 1 and clarification 3, into a map holding its integer keys (see
// decoder.value).
func decodeMap(b []byte, what string) (map[any]any, error) {
	v, err := decodeItem(b, MaxDepth)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	m, ok := v.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a map", ErrMalformed, what)
	}
	return m, nil
}

// ParseSign1 decodes a COSE_Sign1 and checks the RTC1 rules of its
// structure: at most one tag, and only tag 18, around it; definite lengths,
// no duplicate keys, depth, no trailing bytes; an array of a bstr protected
// header, an unprotected map (checked, its contents ignored), a bstr payload
// (detached payloads are refused) and a bstr signature; a protected header
// that is a map holding an alg that is an integer or text, an 8-byte kid and
// no crit. An alg other than AlgSM2SM3 is reported through AlgOK, not as an
// error, so the caller can order its checks. Errors wrap ErrMalformed. The
// returned Sign1 aliases b; nothing of the payload is copied.
func ParseSign1(b []byte) (*Sign1, error) {
	d := newDecoder(b, MaxDepth)
	if m, ok := d.peekMajor(); ok && m == majorTag {
		_, _, num, err := d.head()
		if err != nil {
			return nil, fmt.Errorf("COSE_Sign1: %w", err)
		}
		if num != coseSign1Tag {
			return nil, fmt.Errorf("%w: COSE_Sign1: unexpected tag %d", ErrMalformed, num)
		}
		if m, ok := d.peekMajor(); ok && m == majorTag {
			return nil, fmt.Errorf("%w: COSE_Sign1: more than one tag", ErrMalformed)
		}
	}
	major, _, n, err := d.head()
	if err != nil {
		return nil, fmt.Errorf("COSE_Sign1: %w", err)
	}
	if major != majorArray || n != 4 {
		return nil, fmt.Errorf("%w: COSE_Sign1 is not an array of 4", ErrMalformed)
	}
	if err := d.container(major, n, 0); err != nil {
		return nil, fmt.Errorf("COSE_Sign1: %w", err)
	}
	field := func(name string, want byte) ([]byte, error) {
		m, ok := d.peekMajor()
		if !ok || m != want {
			if want == majorBytes && name == "payload" {
				return nil, fmt.Errorf("%w: payload is not a byte string (detached payloads are not allowed)", ErrMalformed)
			}
			if want == majorMap {
				return nil, fmt.Errorf("%w: unprotected header is not a map", ErrMalformed)
			}
			return nil, fmt.Errorf("%w: %s is not a byte string", ErrMalformed, name)
		}
		if want == majorMap {
			_, err := d.value(1, false)
			return nil, err
		}
		_, _, n, err := d.head()
		if err != nil {
			return nil, err
		}
		return d.str(majorBytes, n)
	}
	s := &Sign1{}
	if s.Protected, err = field("protected header", majorBytes); err != nil {
		return nil, err
	}
	if _, err = field("unprotected header", majorMap); err != nil {
		return nil, fmt.Errorf("unprotected header: %w", err)
	}
	if s.Payload, err = field("payload", majorBytes); err != nil {
		return nil, err
	}
	if s.Signature, err = field("signature", majorBytes); err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("COSE_Sign1: %w", err)
	}
	if len(s.Protected) == 0 {
		return nil, fmt.Errorf("%w: empty protected header (no alg, no kid)", ErrMalformed)
	}
	hdr, err := decodeMap(s.Protected, "protected header")
	if err != nil {
		return nil, err
	}
	if _, ok := intKey(hdr, headerCrit); ok {
		return nil, fmt.Errorf("%w: protected header has crit (RTC1 defines no critical parameter)", ErrMalformed)
	}
	alg, ok := intKey(hdr, headerAlg)
	if !ok {
		return nil, fmt.Errorf("%w: protected header has no alg", ErrMalformed)
	}
	switch a := alg.(type) {
	case uint64, int64, string, negBig:
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
