package credential

import (
	"fmt"
	"reflect"
	"testing"
)

// The typed decoding (fieldMap: Parse, DecodeClaims) must agree with the
// generic one (decoder.value: ReadIssuedAt, and the protected-header
// reading ParseSign1 had before it) on every input: the same error, text
// included, or the same claims, authorityCode, alg and kid.

// genericHeader is ParseSign1's reading of the protected header as it was
// on the generic tree, kept as the reference of the typed one.
func genericHeader(protected []byte) (alg any, kid []byte, err error) {
	hdr, err := decodeMap(protected, "protected header")
	if err != nil {
		return nil, nil, err
	}
	if _, ok := intKey(hdr, headerCrit); ok {
		return nil, nil, fmt.Errorf("%w: protected header has crit (RTC1 defines no critical parameter)", ErrMalformed)
	}
	a, ok := intKey(hdr, headerAlg)
	if !ok {
		return nil, nil, fmt.Errorf("%w: protected header has no alg", ErrMalformed)
	}
	switch a.(type) {
	case uint64, int64, string, negBig:
	default:
		return nil, nil, fmt.Errorf("%w: alg of type %T", ErrMalformed, a)
	}
	kidV, ok := intKey(hdr, headerKID)
	if !ok {
		return nil, nil, fmt.Errorf("%w: protected header has no kid", ErrMalformed)
	}
	k, ok := kidV.([]byte)
	if !ok || len(k) != KIDSize {
		return nil, nil, fmt.Errorf("%w: kid is not a %d-byte string", ErrMalformed, KIDSize)
	}
	return a, k, nil
}

// typedHeader is the typed reading, through ParseSign1 on a COSE_Sign1
// that carries protected.
func typedHeader(protected []byte) (alg any, kid []byte, err error) {
	s, err := ParseSign1(sign1(true, protected, []byte{0xa0}, nil, nil))
	if err != nil {
		return nil, nil, err
	}
	if s.AlgOK != (s.Alg == any(int64(AlgSM2SM3))) {
		return nil, nil, fmt.Errorf("AlgOK %v for alg %v", s.AlgOK, s.Alg)
	}
	return s.Alg, s.KID, nil
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// checkTypedDecoding compares both decodings of b as a payload and as a
// protected header.
func checkTypedDecoding(t *testing.T, b []byte) {
	t.Helper()
	m, iat, gerr := ReadIssuedAt(b)
	p, tiat, terr := readPayload(b)
	if errText(gerr) != errText(terr) {
		t.Fatalf("payload %x: generic error %v, typed %v", b, gerr, terr)
	}
	if gerr == nil {
		if iat != tiat {
			t.Fatalf("payload %x: iat %d / %d", b, iat, tiat)
		}
		gd, td := &Decoded{IssuedAt: iat, payload: m}, &Decoded{IssuedAt: iat, fields: *p}
		gc, gerr := gd.Claims()
		tc, terr := td.Claims()
		if errText(gerr) != errText(terr) || !reflect.DeepEqual(gc, tc) {
			t.Fatalf("payload %x: claims differ:\n%+v %v\n%+v %v", b, gc, gerr, tc, terr)
		}
		tc2, terr := DecodeClaims(b)
		if errText(gerr) != errText(terr) || !reflect.DeepEqual(gc, tc2) {
			t.Fatalf("payload %x: DecodeClaims differs: %v", b, terr)
		}
		ga, gok := gd.AuthorityCode()
		ta, tok := td.AuthorityCode()
		if ga != ta || gok != tok {
			t.Fatalf("payload %x: authorityCode %q %v / %q %v", b, ga, gok, ta, tok)
		}
	}
	if len(b) == 0 {
		return // an empty protected header is refused before it is read
	}
	galg, gkid, gerr := genericHeader(b)
	talg, tkid, terr := typedHeader(b)
	if errText(gerr) != errText(terr) || !reflect.DeepEqual(galg, talg) || !reflect.DeepEqual(gkid, tkid) {
		t.Fatalf("header %x: generic %v %x %v, typed %v %x %v", b, galg, gkid, gerr, talg, tkid, terr)
	}
}

// typedSeeds are payloads and protected headers from testdata (the worked
// example and every conformance vector) and the clarification tests.
func typedSeeds(f *testing.F) [][]byte {
	out := [][]byte{readHex(f, "payload.hex"), goodHdr}
	for _, s := range seedTexts(f) {
		cose, err := DecodeText(s)
		if err != nil {
			continue
		}
		v, err := decodeItem(cose, MaxDepth)
		if err != nil {
			continue
		}
		if tg, ok := v.(tagged); ok {
			v = tg.Content
		}
		if arr, ok := v.([]any); ok && len(arr) == 4 {
			for _, i := range []int{0, 2} {
				if b, ok := arr[i].([]byte); ok {
					out = append(out, b)
				}
			}
		}
	}
	edits := []func(c, cr map[int64][]byte){
		func(c, cr map[int64][]byte) {},
		func(c, cr map[int64][]byte) { c[4] = []byte{0x1b, 0xff, 0, 0, 0, 0, 0, 0, 0} },
		func(c, cr map[int64][]byte) { c[4] = []byte{0xc2, 0x44, 0x6a, 0, 0, 0} },
		func(c, cr map[int64][]byte) { c[6] = []byte{0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0} },
		func(c, cr map[int64][]byte) { c[6] = []byte{0xf9, 0x3c, 0x00} },
		func(c, cr map[int64][]byte) { c[7] = bstr([]byte("cti")) },
		func(c, cr map[int64][]byte) { cr[1] = []byte{0x01}; cr[20] = []byte{0x82, 0x61, 'A', 0x60} },
		func(c, cr map[int64][]byte) { cr[1] = []byte{0x01}; cr[20] = []byte{0x82, 0x61, 'A', 0x61, 'B'} },
		func(c, cr map[int64][]byte) { cr[1] = []byte{0x02}; cr[30] = tstr("货运") },
		func(c, cr map[int64][]byte) { cr[41] = tstr("黄绿"); cr[48] = tstr("2027-02-29") },
		func(c, cr map[int64][]byte) { cr[5] = append([]byte{0xd8, 0x64}, tstr("x")...) },
		func(c, cr map[int64][]byte) { cr[5] = tstr(""); cr[9] = tstr("510100") },
		func(c, cr map[int64][]byte) { cr[98] = []byte{0xa1, 0xc2, 0x41, 0x01, 0x00}; c[99] = []byte{0xf7} },
		func(c, cr map[int64][]byte) { cr[0] = []byte{0x38, 0x00} },
	}
	for _, e := range edits {
		out = append(out, claimsPayload(e))
	}
	return out
}

// TestTypedDecodingMutations runs the comparison on every prefix and many
// single-byte changes of the worked example's payload (FuzzTypedDecoding's
// seeds run with every go test too).
func TestTypedDecodingMutations(t *testing.T) {
	p := readHex(t, "payload.hex")
	for i := range p {
		checkTypedDecoding(t, p[:i])
		for _, x := range []byte{0x00, 0x18, 0x1b, 0x3a, 0x5f, 0x60, 0x7f, 0x9f, 0xa0, 0xbf, 0xc1, 0xf7, 0xff} {
			q := append([]byte(nil), p...)
			q[i] = x
			checkTypedDecoding(t, q)
		}
	}
}

// FuzzTypedDecoding compares the typed and the generic decodings of
// arbitrary bytes, as a payload and as a protected header.
func FuzzTypedDecoding(f *testing.F) {
	for _, b := range typedSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkTypedDecoding(t, b) })
}
