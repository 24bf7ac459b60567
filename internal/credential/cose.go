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

// AppendSigStructure appends the Sig_structure to dst (a buffer the caller
// reuses) and returns the extended slice.
func (s *Sign1) AppendSigStructure(dst []byte) []byte {
	return appendSigStructure(dst, s.Protected, s.Payload)
}

func sigStructure(protected, payload []byte) []byte {
	return appendSigStructure(make([]byte, 0, sigStructureLen(protected, payload)), protected, payload)
}

func sigStructureLen(protected, payload []byte) int {
	const context = "Signature1"
	return 1 + 1 + len(context) + 9 + len(protected) + 1 + 9 + len(payload)
}

func appendSigStructure(b, protected, payload []byte) []byte {
	const context = "Signature1"
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
	s := &Sign1{}
	if err := parseSign1(b, s); err != nil {
		return nil, err
	}
	return s, nil
}

// algSM2SM3 is AlgSM2SM3 as Sign1.Alg holds it, boxed once.
var algSM2SM3 any = int64(AlgSM2SM3)

// parseSign1 is ParseSign1 into s (left partly set on error).
func parseSign1(b []byte, s *Sign1) error {
	d, ks := pooledDecoder(b, MaxDepth)
	defer d.release(ks)
	if m, ok := d.peekMajor(); ok && m == majorTag {
		_, _, num, err := d.head()
		if err != nil {
			return fmt.Errorf("COSE_Sign1: %w", err)
		}
		if num != coseSign1Tag {
			return fmt.Errorf("%w: COSE_Sign1: unexpected tag %d", ErrMalformed, num)
		}
		if m, ok := d.peekMajor(); ok && m == majorTag {
			return fmt.Errorf("%w: COSE_Sign1: more than one tag", ErrMalformed)
		}
	}
	major, _, n, err := d.head()
	if err != nil {
		return fmt.Errorf("COSE_Sign1: %w", err)
	}
	if major != majorArray || n != 4 {
		return fmt.Errorf("%w: COSE_Sign1 is not an array of 4", ErrMalformed)
	}
	if err := d.container(major, n, 0); err != nil {
		return fmt.Errorf("COSE_Sign1: %w", err)
	}
	if s.Protected, err = d.bstrField("protected header"); err != nil {
		return err
	}
	if m, ok := d.peekMajor(); !ok || m != majorMap {
		return fmt.Errorf("unprotected header: %w: unprotected header is not a map", ErrMalformed)
	}
	if _, err := d.value(1, false); err != nil {
		return fmt.Errorf("unprotected header: %w", err)
	}
	if s.Payload, err = d.bstrField("payload"); err != nil {
		return err
	}
	if s.Signature, err = d.bstrField("signature"); err != nil {
		return err
	}
	if err := d.end(); err != nil {
		return fmt.Errorf("COSE_Sign1: %w", err)
	}
	if len(s.Protected) == 0 {
		return fmt.Errorf("%w: empty protected header (no alg, no kid)", ErrMalformed)
	}
	var hdr fieldMap
	if err := readFieldMap(s.Protected, "protected header", &hdr, nil); err != nil {
		return err
	}
	if _, ok := hdr.get(headerCrit); ok {
		return fmt.Errorf("%w: protected header has crit (RTC1 defines no critical parameter)", ErrMalformed)
	}
	alg, ok := hdr.get(headerAlg)
	if !ok {
		return fmt.Errorf("%w: protected header has no alg", ErrMalformed)
	}
	switch alg.kind {
	case kindUint:
		s.Alg = alg.u
	case kindInt:
		if alg.i == AlgSM2SM3 {
			s.Alg = algSM2SM3
		} else {
			s.Alg = alg.i
		}
	case kindText:
		s.Alg = alg.s
	case kindNegBig:
		s.Alg = negBig(alg.u)
	default:
		return fmt.Errorf("%w: alg of type %s", ErrMalformed, alg.typ)
	}
	s.AlgOK = s.Alg == algSM2SM3
	kid, ok := hdr.get(headerKID)
	if !ok {
		return fmt.Errorf("%w: protected header has no kid", ErrMalformed)
	}
	if kid.kind != kindBytes || len(kid.b) != KIDSize {
		return fmt.Errorf("%w: kid is not a %d-byte string", ErrMalformed, KIDSize)
	}
	s.KID = kid.b
	return nil
}

// bstrField reads a COSE_Sign1 field that must be an untagged byte string
// and returns its content.
func (d *decoder) bstrField(name string) ([]byte, error) {
	if m, ok := d.peekMajor(); !ok || m != majorBytes {
		if name == "payload" {
			return nil, fmt.Errorf("%w: payload is not a byte string (detached payloads are not allowed)", ErrMalformed)
		}
		return nil, fmt.Errorf("%w: %s is not a byte string", ErrMalformed, name)
	}
	_, _, n, err := d.head()
	if err != nil {
		return nil, err
	}
	return d.str(majorBytes, n)
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
