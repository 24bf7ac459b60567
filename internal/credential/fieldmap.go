package credential

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The claims schema (claims.go) reads a CBOR map through claimMap, from one
// of two decodings of the same bytes:
//
//   - genericMap, the generic tree of decoder.value (map[any]any, []any …),
//     which ReadIssuedAt returns;
//   - *fieldMap, the typed decoding that Parse and DecodeClaims use: one
//     walk of the payload, with exactly the checks of the generic walk in
//     the same order (so the same errors), that records where the value of
//     each key the format defines lies and builds nothing else.
//
// Both give the schema the same claims (FuzzTypedPayload compares them), so
// the strictness rules live in the decoder and in the schema, once each.

// claimMap is a CBOR map of claims as the schema reads it: by integer key.
type claimMap interface {
	get(k int64) (claim, bool)
}

// claimKind is the type of a claim as the schema tells types apart.
type claimKind uint8

const (
	kindOther  claimKind = iota // a tagged value, a float or another simple value
	kindUint                    // major type 0 (any uint64)
	kindInt                     // major type 1 within int64
	kindNegBig                  // major type 1 below math.MinInt64: -1-u
	kindBytes
	kindText
	kindArray
	kindMap
)

// claim is one decoded value, untagged unless its kind is kindOther (a tag
// is never stripped: a tagged value has the wrong type wherever the format
// defines a value).
type claim struct {
	kind claimKind
	u    uint64   // kindUint, kindNegBig
	i    int64    // kindInt
	s    string   // kindText
	b    []byte   // kindBytes (aliasing the input)
	m    claimMap // kindMap: the map's fields when the schema reads them, else nil
	n    int      // kindArray: number of items
	// items yields the items of a kindArray claim in order.
	items func(yield func(claim) bool)
	// typ is the Go type of the generic decoding (%T), for messages.
	typ string
}

// genericMap is a map as decoder.value builds it.
type genericMap map[any]any

func (m genericMap) get(k int64) (claim, bool) {
	v, ok := intKey(m, k)
	if !ok {
		return claim{}, false
	}
	return genericClaim(v), true
}

func genericClaim(v any) claim {
	switch x := v.(type) {
	case uint64:
		return claim{kind: kindUint, u: x, typ: "uint64"}
	case int64:
		return claim{kind: kindInt, i: x, typ: "int64"}
	case negBig:
		return claim{kind: kindNegBig, u: uint64(x), typ: "credential.negBig"}
	case []byte:
		return claim{kind: kindBytes, b: x, typ: "[]uint8"}
	case string:
		return claim{kind: kindText, s: x, typ: "string"}
	case []any:
		return claim{kind: kindArray, n: len(x), typ: "[]interface {}", items: func(yield func(claim) bool) {
			for _, e := range x {
				if !yield(genericClaim(e)) {
					return
				}
			}
		}}
	case map[any]any:
		return claim{kind: kindMap, m: genericMap(x), typ: "map[interface {}]interface {}"}
	}
	return claim{kind: kindOther, typ: fmt.Sprintf("%T", v)}
}

// fieldSlot is where fieldMap keeps the value of key k: every key the
// claims schema and the protected header define has one; -1 for others.
func fieldSlot(k int64) int {
	switch {
	case k >= keyVersion && k <= keyValidUntil: // 0–12, also alg, crit, kid and the CWT claims
		return int(k)
	case k >= keyCategories && k <= keyIntegrityDate: // 20–25
		return int(k) - keyCategories + 13
	case k >= keyPermitScope && k <= keyEconomicType: // 30–32
		return int(k) - keyPermitScope + 19
	case k >= keyPlate && k <= keyReviewUntil: // 40–48
		return int(k) - keyPlate + 22
	case k == claimRTC:
		return fieldSlots - 1
	}
	return -1
}

// fieldSlots is the number of keys fieldSlot places.
const fieldSlots = 32

// span is the position of one encoded data item in a fieldMap's input:
// b[off:end]; end 0 means absent.
type span struct{ off, end uint32 }

// fieldMap is the typed decoding of a CBOR map that has been checked in
// full: the span of the value of every key that has a fieldSlot, and, for
// a payload, the credential claims map read the same way.
type fieldMap struct {
	b   []byte
	src string // b as a string, when made: text values are cut from it
	val [fieldSlots]span
	sub *fieldMap // the value of claimRTC, when it is an untagged map read into it
}

func (f *fieldMap) set(k int64, off, end int) {
	if i := fieldSlot(k); i >= 0 {
		f.val[i] = span{uint32(off), uint32(end)}
	}
}

func (f *fieldMap) get(k int64) (claim, bool) {
	i := fieldSlot(k)
	if i < 0 || f.val[i].end == 0 {
		return claim{}, false
	}
	sp := f.val[i]
	c := f.claimAt(int(sp.off), int(sp.end))
	if k == claimRTC && c.kind == kindMap && f.sub != nil {
		c.m = f.sub
	}
	return c, true
}

// claimAt decodes the checked item b[off:end] as decoder.value would type it.
func (f *fieldMap) claimAt(off, end int) claim { return claimAt(f.b, f.src, off, end) }

// claimAt decodes the checked item b[off:end] (src is b as a string, or
// empty) as decoder.value would type it.
func claimAt(b []byte, src string, off, end int) claim {
	major, ai, val, content := checkedHead(b, off)
	switch major {
	case majorUint:
		return claim{kind: kindUint, u: val, typ: "uint64"}
	case majorNeg:
		if val > math.MaxInt64 {
			return claim{kind: kindNegBig, u: val, typ: "credential.negBig"}
		}
		return claim{kind: kindInt, i: -1 - int64(val), typ: "int64"}
	case majorBytes:
		return claim{kind: kindBytes, b: b[content:end:end], typ: "[]uint8"}
	case majorText:
		if src != "" {
			return claim{kind: kindText, s: src[content:end], typ: "string"}
		}
		return claim{kind: kindText, s: string(b[content:end]), typ: "string"}
	case majorArray:
		return claim{kind: kindArray, n: int(val), typ: "[]interface {}", items: func(yield func(claim) bool) {
			d := decoder{b: b[:end], i: content, max: math.MaxInt}
			for range val {
				off := d.i
				if _, err := d.value(0, false); err != nil {
					return // cannot happen: checked
				}
				if !yield(claimAt(b, src, off, d.i)) {
					return
				}
			}
		}}
	case majorMap:
		return claim{kind: kindMap, typ: "map[interface {}]interface {}"}
	case majorTag:
		return claim{kind: kindOther, typ: "credential.tagged"}
	}
	switch ai {
	case 20, 21:
		return claim{kind: kindOther, typ: "bool"}
	case 22:
		return claim{kind: kindOther, typ: "<nil>"}
	case 25, 26, 27:
		return claim{kind: kindOther, typ: "float64"}
	}
	return claim{kind: kindOther, typ: "credential.simpleValue"}
}

// checkedHead reads the head at b[off] of an item the decoder has checked
// (so well formed): its major type, additional information, argument, and
// where its content starts.
func checkedHead(b []byte, off int) (major, ai byte, val uint64, content int) {
	major, ai = b[off]>>5, b[off]&0x1f
	off++
	switch ai {
	case 24:
		return major, ai, uint64(b[off]), off + 1
	case 25:
		return major, ai, uint64(binary.BigEndian.Uint16(b[off:])), off + 2
	case 26:
		return major, ai, uint64(binary.BigEndian.Uint32(b[off:])), off + 4
	case 27:
		return major, ai, binary.BigEndian.Uint64(b[off:]), off + 8
	}
	return major, ai, uint64(ai), off // ai < 24: checked items have no 28–31
}

// readFieldMap decodes b, which must hold one CBOR map within the limits,
// into f, with the checks of decodeMap in the same order and the same
// errors (what names b in them). With sub not nil, the value of claimRTC,
// when it is an untagged map, is read into sub too. f and sub take b as
// their input; f.src and sub.src are left empty.
func readFieldMap(b []byte, what string, f, sub *fieldMap) error {
	if len(b) > math.MaxUint32 {
		// Beyond what a span holds; no caller gets near (a COSE_Sign1 is
		// at most MaxStatusListSize bytes, a code's MaxCOSESize).
		return fmt.Errorf("%w: %s of %d bytes", ErrMalformed, what, len(b))
	}
	d, ks := pooledDecoder(b, MaxDepth)
	defer d.release(ks)
	f.b = b
	if sub != nil {
		sub.b = b
	}
	if m, ok := d.peekMajor(); !ok || m != majorMap {
		// decodeMap checks the whole item before its type.
		if _, err := d.value(0, false); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := d.end(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return fmt.Errorf("%w: %s is not a map", ErrMalformed, what)
	}
	_, _, n, err := d.head()
	if err == nil {
		err = d.fields(0, n, f, sub)
	}
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// fields reads the n pairs of a map whose head has just been read, at
// depth as value(depth) reads one, with the same checks in the same order:
// it is value's map case, recording in f the span of the values of the
// keys f keeps (and reading the value of claimRTC into sub when sub is
// not nil and the value is an untagged map).
func (d *decoder) fields(depth int, n uint64, f, sub *fieldMap) error {
	if err := d.container(majorMap, n, depth); err != nil {
		return err
	}
	mark := d.beginKeys()
	for range n {
		k, isInt, err := d.keyOf()
		if err != nil {
			return err
		}
		off := d.i
		if isInt && k == claimRTC && sub != nil && d.i < len(d.b) && d.b[d.i]>>5 == majorMap {
			_, _, m, err := d.head()
			if err != nil {
				return err
			}
			if err := d.fields(depth+1, m, sub, nil); err != nil {
				return err
			}
			f.sub = sub
		} else if _, err := d.value(depth+1, false); err != nil {
			return err
		}
		if isInt {
			f.set(k, off, d.i)
		}
	}
	return d.endKeys(mark)
}
