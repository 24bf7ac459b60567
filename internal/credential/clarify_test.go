package credential

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// tstr encodes a text string in preferred form.
func tstr(s string) []byte { return append(appendHead(nil, majorText, uint64(len(s))), s...) }

// bstr encodes a byte string in preferred form.
func bstr(b []byte) []byte { return append(appendHead(nil, majorBytes, uint64(len(b))), b...) }

// TestDecoderClarifications pins clarifications 3, 4 and 6 at the CBOR
// level: what the decoder accepts and refuses.
func TestDecoderClarifications(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{name: "non-shortest heads are accepted", in: []byte{0xb8, 0x02, 0x18, 0x01, 0x19, 0x00, 0x05, 0x78, 0x01, 'a', 0x1a, 0, 0, 0, 1}},
		{name: "unsorted keys are accepted", in: []byte{0xa2, 0x06, 0x01, 0x01, 0x02}},
		{name: "duplicate key through a non-shortest head", in: []byte{0xa2, 0x06, 0x01, 0x18, 0x06, 0x02}, wantErr: ErrMalformed},
		{name: "duplicate text key through a non-shortest head", in: []byte{0xa2, 0x61, 'a', 0x01, 0x78, 0x01, 'a', 0x02}, wantErr: ErrMalformed},
		{name: "duplicate float key of two widths", in: []byte{0xa2, 0xf9, 0x3c, 0x00, 0x01, 0xfa, 0x3f, 0x80, 0x00, 0x00, 0x02}, wantErr: ErrMalformed},
		{name: "two NaN keys are one key", in: []byte{0xa2, 0xf9, 0x7e, 0x00, 0x01, 0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 0x02}, wantErr: ErrMalformed},
		{name: "int 1 and float 1.0 are different keys", in: []byte{0xa2, 0x01, 0x01, 0xf9, 0x3c, 0x00, 0x02}},
		{name: "tagged key differs from its content", in: []byte{0xa2, 0x01, 0x01, 0xd8, 0x64, 0x01, 0x02}},
		{name: "same tagged key twice", in: []byte{0xa2, 0xc2, 0x41, 0x05, 0x01, 0xc2, 0x41, 0x05, 0x02}, wantErr: ErrMalformed},
		{name: "bignum key is just a tagged key", in: []byte{0xa1, 0xc2, 0x41, 0x05, 0x01}},
		{name: "array key", in: []byte{0xa1, 0x81, 0x01, 0x02}, wantErr: ErrMalformed},
		{name: "map key", in: []byte{0xa1, 0xa0, 0x02}, wantErr: ErrMalformed},
		{name: "tagged array key", in: []byte{0xa1, 0xd8, 0x64, 0x80, 0x02}, wantErr: ErrMalformed},
		{name: "array key deep inside", in: []byte{0xa1, 0x01, 0x81, 0xa1, 0x81, 0x01, 0x02}, wantErr: ErrMalformed},
		{name: "duplicates in an inner map", in: []byte{0xa2, 0x01, 0xa2, 0x01, 0x01, 0x01, 0x02, 0x02, 0x03}, wantErr: ErrMalformed},
		{name: "same key in sibling maps", in: []byte{0xa2, 0x01, 0xa1, 0x01, 0x01, 0x02, 0xa1, 0x01, 0x01}},
		{name: "tag 0 with any content is kept, not parsed", in: []byte{0xc0, 0x61, 'A'}},
		{name: "tag 2 with a text content is kept", in: []byte{0xc2, 0x61, 'A'}},
		{name: "invalid UTF-8 text", in: []byte{0x62, 0xc3, 0x28}, wantErr: ErrMalformed},
		{name: "invalid UTF-8 text key", in: []byte{0xa1, 0x62, 0xc3, 0x28, 0x01}, wantErr: ErrMalformed},
		{name: "many keys, one repeated", in: manyKeys(100, true), wantErr: ErrMalformed},
		{name: "many keys", in: manyKeys(100, false)},
		{name: "deep tags do not recurse", in: append(bytes.Repeat([]byte{0xc1}, 100000), 0x01)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeItem(tt.in, MaxDepth)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("decode: err = %v, want %v", err, tt.wantErr)
			}
			if err := checkCBOR(tt.in, MaxDepth); !errors.Is(err, tt.wantErr) {
				t.Fatalf("check: err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func manyKeys(n int, repeat bool) []byte {
	b := appendHead(nil, majorMap, uint64(n))
	for i := 0; i < n; i++ {
		k := uint64(i)
		if repeat && i == n-1 {
			k = 17
		}
		b = append(appendHead(b, majorUint, k), 0x00)
	}
	return b
}

// TestDecodedTypes checks that tags are never stripped or interpreted and
// that integers keep their range.
func TestDecodedTypes(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{0xd9, 0xd9, 0xf7, 0x01}, "credential.tagged{Number:0xd9f7, Nested:false, Content:0x1}"},
		{[]byte{0xc1, 0x1a, 0x5f, 0, 0, 0}, "credential.tagged{Number:0x1, Nested:false, Content:0x5f000000}"},
		{[]byte{0xd2, 0xd2, 0x80}, "credential.tagged{Number:0x12, Nested:true, Content:[]interface {}{}}"},
		{[]byte{0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "-9223372036854775808"},
		{[]byte{0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}, "-1-9223372036854775808"},
		{[]byte{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "0xffffffffffffffff"},
		{[]byte{0xf9, 0x3c, 0x00}, "1"},
		{[]byte{0xa2, 0x01, 0x02, 0x61, 'x', 0x03}, "map[interface {}]interface {}{0x1:0x2}"},
	}
	for _, tt := range tests {
		v, err := decodeItem(tt.in, MaxDepth)
		if err != nil {
			t.Fatalf("%x: %v", tt.in, err)
		}
		got := fmt.Sprintf("%#v", v)
		if n, ok := v.(negBig); ok {
			got = n.String()
		}
		if got != tt.want {
			t.Errorf("%x: got %s, want %s", tt.in, got, tt.want)
		}
	}
}

// sign1 builds COSE_Sign1 bytes from raw parts (tag 18 when tag is true).
func sign1(tag bool, protected, unprotected, payload, sig []byte) []byte {
	var b []byte
	if tag {
		b = append(b, 0xd2)
	}
	return cat(b, []byte{0x84}, bstr(protected), unprotected, bstr(payload), bstr(sig))
}

func protectedOf(parts ...[]byte) []byte {
	return cat(appendHead(nil, majorMap, uint64(len(parts)/2)), cat(parts...))
}

var (
	kid8    = bstr([]byte("12345678"))
	algSM2  = []byte{0x3a, 0x00, 0x01, 0x00, 0x3f} // -65600
	goodHdr = protectedOf([]byte{0x01}, algSM2, []byte{0x04}, kid8)
)

// TestParseSign1Clarifications pins clarifications 4, 5 and 6.
func TestParseSign1Clarifications(t *testing.T) {
	payload := []byte{0xa1, 0x06, 0x01}
	sig := make([]byte, 64)
	tests := []struct {
		name    string
		cose    []byte
		wantErr error
		algOK   bool
	}{
		{name: "tagged", cose: sign1(true, goodHdr, []byte{0xa0}, payload, sig), algOK: true},
		{name: "untagged", cose: sign1(false, goodHdr, []byte{0xa0}, payload, sig), algOK: true},
		{name: "tag 18 twice", cose: append([]byte{0xd2}, sign1(true, goodHdr, []byte{0xa0}, payload, sig)...), wantErr: ErrMalformed},
		{name: "CWT tag 61 around tag 18", cose: append([]byte{0xd8, 0x3d}, sign1(true, goodHdr, []byte{0xa0}, payload, sig)...), wantErr: ErrMalformed},
		{name: "self-described CBOR tag", cose: append([]byte{0xd9, 0xd9, 0xf7}, sign1(false, goodHdr, []byte{0xa0}, payload, sig)...), wantErr: ErrMalformed},
		{name: "tagged protected bstr", cose: cat([]byte{0x84, 0xd8, 0x18}, bstr(goodHdr), []byte{0xa0}, bstr(payload), bstr(sig)), wantErr: ErrMalformed},
		{name: "tagged unprotected map", cose: sign1(false, goodHdr, []byte{0xd8, 0x64, 0xa0}, payload, sig), wantErr: ErrMalformed},
		{name: "unprotected contents ignored", cose: sign1(false, goodHdr, cat([]byte{0xa3, 0x01, 0x61, 'x', 0x02, 0x80, 0x04}, bstr([]byte{1})), payload, sig), algOK: true},
		{name: "unprotected with an array key", cose: sign1(false, goodHdr, []byte{0xa1, 0x81, 0x01, 0x01}, payload, sig), wantErr: ErrMalformed},
		{name: "unprotected with a duplicate key", cose: sign1(false, goodHdr, []byte{0xa2, 0x01, 0x01, 0x01, 0x02}, payload, sig), wantErr: ErrMalformed},
		{name: "unprotected not a map", cose: sign1(false, goodHdr, []byte{0x80}, payload, sig), wantErr: ErrMalformed},
		{name: "crit in protected", cose: sign1(false, protectedOf([]byte{0x01}, algSM2, []byte{0x02}, []byte{0x81, 0x01}, []byte{0x04}, kid8), []byte{0xa0}, payload, sig), wantErr: ErrMalformed},
		{name: "unknown protected parameter ignored", cose: sign1(false, protectedOf([]byte{0x01}, algSM2, []byte{0x03}, tstr("x"), []byte{0x04}, kid8), []byte{0xa0}, payload, sig), algOK: true},
		{name: "alg as bytes", cose: sign1(false, protectedOf([]byte{0x01}, bstr([]byte{1}), []byte{0x04}, kid8), []byte{0xa0}, payload, sig), wantErr: ErrMalformed},
		{name: "tagged alg", cose: sign1(false, protectedOf([]byte{0x01}, append([]byte{0xd8, 0x64}, algSM2...), []byte{0x04}, kid8), []byte{0xa0}, payload, sig), wantErr: ErrMalformed},
		{name: "alg only unprotected", cose: sign1(false, protectedOf([]byte{0x04}, kid8), cat([]byte{0xa1, 0x01}, algSM2), payload, sig), wantErr: ErrMalformed},
		{name: "alg below int64 is another alg", cose: sign1(false, protectedOf([]byte{0x01}, []byte{0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{0x04}, kid8), []byte{0xa0}, payload, sig)},
		{name: "alg in a non-shortest head", cose: sign1(false, protectedOf([]byte{0x01}, []byte{0x3b, 0, 0, 0, 0, 0, 0x01, 0x00, 0x3f}, []byte{0x04}, kid8), []byte{0xa0}, payload, sig), algOK: true},
		{name: "tagged kid", cose: sign1(false, protectedOf([]byte{0x01}, algSM2, []byte{0x04}, append([]byte{0xd8, 0x64}, kid8...)), []byte{0xa0}, payload, sig), wantErr: ErrMalformed},
		{name: "kid of 7 bytes", cose: sign1(false, protectedOf([]byte{0x01}, algSM2, []byte{0x04}, bstr([]byte("1234567"))), []byte{0xa0}, payload, sig), wantErr: ErrMalformed},
		{name: "tagged payload", cose: cat([]byte{0x84}, bstr(goodHdr), []byte{0xa0, 0xd8, 0x18}, bstr(payload), bstr(sig)), wantErr: ErrMalformed},
		{name: "tagged signature", cose: cat([]byte{0x84}, bstr(goodHdr), []byte{0xa0}, bstr(payload), []byte{0xd8, 0x40}, bstr(sig)), wantErr: ErrMalformed},
		{name: "array of 5", cose: cat([]byte{0x85}, bstr(goodHdr), []byte{0xa0}, bstr(payload), bstr(sig), []byte{0x00}), wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSign1(tt.cose)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && s.AlgOK != tt.algOK {
				t.Fatalf("AlgOK = %v", s.AlgOK)
			}
		})
	}
}

// TestReadIssuedAtClarifications pins clarification 7 for iat (step 1).
func TestReadIssuedAtClarifications(t *testing.T) {
	tests := []struct {
		name    string
		iat     []byte
		want    int64
		wantErr error
	}{
		{name: "uint", iat: []byte{0x1a, 0x6a, 0x00, 0x00, 0x00}, want: 0x6a000000},
		{name: "non-shortest uint", iat: []byte{0x1b, 0, 0, 0, 0, 0x6a, 0x00, 0x00, 0x00}, want: 0x6a000000},
		{name: "negative", iat: []byte{0x38, 0x63}, want: -100},
		{name: "int64 max", iat: []byte{0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, want: math.MaxInt64},
		{name: "int64 min", iat: []byte{0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, want: math.MinInt64},
		{name: "beyond int64", iat: []byte{0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0}, wantErr: ErrMalformed},
		{name: "below int64", iat: []byte{0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}, wantErr: ErrMalformed},
		{name: "bignum", iat: []byte{0xc2, 0x44, 0x6a, 0, 0, 0}, wantErr: ErrMalformed},
		{name: "epoch-time tag", iat: []byte{0xc1, 0x1a, 0x6a, 0x00, 0x00, 0x00}, wantErr: ErrMalformed},
		{name: "self-described tag", iat: []byte{0xd9, 0xd9, 0xf7, 0x1a, 0x6a, 0x00, 0x00, 0x00}, wantErr: ErrMalformed},
		{name: "float", iat: []byte{0xfb, 0x41, 0xda, 0x80, 0, 0, 0, 0, 0}, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := ReadIssuedAt(cat([]byte{0xa1, 0x06}, tt.iat))
			if !errors.Is(err, tt.wantErr) || (err == nil && got != tt.want) {
				t.Fatalf("iat %d, err %v", got, err)
			}
		})
	}
}

// claimsPayload builds a valid kind-3 payload with edits applied to the
// claims (c) and credential (cr) maps, whose values are raw CBOR.
func claimsPayload(edit func(c, cr map[int64][]byte)) []byte {
	cr := map[int64][]byte{0: {0x01}, 1: {0x03}, 3: tstr("粤交运管深字001号"), 4: tstr("4403001"), 5: tstr("测试运输"), 6: {0x02},
		7: tstr("91440300MA5TEST001"), 8: tstr("测试交通运输局"), 9: tstr("440300"), 11: tstr("2026-01-01"), 12: tstr("2029-12-31"),
		40: tstr("粤B12345")}
	c := map[int64][]byte{1: tstr("440300"), 6: {0x1a, 0x69, 0x00, 0x00, 0x00}}
	edit(c, cr)
	enc := func(m map[int64][]byte) []byte {
		b := appendHead(nil, majorMap, uint64(len(m)))
		for k, v := range m {
			if k < 0 {
				b = appendHead(b, majorNeg, uint64(-1-k))
			} else {
				b = appendHead(b, majorUint, uint64(k))
			}
			b = append(b, v...)
		}
		return b
	}
	if cr != nil {
		c[-70000] = enc(cr)
	}
	return enc(c)
}

// TestClaimsClarifications pins clarifications 7, 8, 9 and 4 for the claims
// (step 6).
func TestClaimsClarifications(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c, cr map[int64][]byte)
		wantErr error
	}{
		{name: "valid", edit: func(c, cr map[int64][]byte) {}},
		{name: "exp before iat", edit: func(c, cr map[int64][]byte) { c[4] = []byte{0x1a, 0x68, 0xff, 0xff, 0xff} }, wantErr: ErrMalformed},
		{name: "exp equal to iat", edit: func(c, cr map[int64][]byte) { c[4] = []byte{0x1a, 0x69, 0x00, 0x00, 0x00} }},
		{name: "exp beyond int64", edit: func(c, cr map[int64][]byte) { c[4] = []byte{0x1b, 0xff, 0, 0, 0, 0, 0, 0, 0} }, wantErr: ErrMalformed},
		{name: "exp bignum", edit: func(c, cr map[int64][]byte) { c[4] = []byte{0xc2, 0x44, 0x6a, 0, 0, 0} }, wantErr: ErrMalformed},
		{name: "until equal to from", edit: func(c, cr map[int64][]byte) { cr[12] = tstr("2026-01-01") }},
		{name: "issued after until", edit: func(c, cr map[int64][]byte) { cr[10] = tstr("2031-01-01") }},
		{name: "empty plate colour", edit: func(c, cr map[int64][]byte) { cr[41] = tstr("") }, wantErr: ErrMalformed},
		{name: "plate colour 黄绿", edit: func(c, cr map[int64][]byte) { cr[41] = tstr("黄绿") }},
		{name: "year 0000", edit: func(c, cr map[int64][]byte) { cr[11] = tstr("0000-01-01") }, wantErr: ErrMalformed},
		{name: "year 9999", edit: func(c, cr map[int64][]byte) { cr[12] = tstr("9999-12-31") }},
		{name: "full-width digits in authorityCode", edit: func(c, cr map[int64][]byte) { cr[9], c[1] = tstr("４４０３００"), tstr("４４０３００") }, wantErr: ErrMalformed},
		{name: "empty optional title", edit: func(c, cr map[int64][]byte) { cr[2] = tstr("") }},
		{name: "tagged holder", edit: func(c, cr map[int64][]byte) { cr[5] = append([]byte{0xd8, 0x64}, tstr("x")...) }, wantErr: ErrMalformed},
		{name: "tag inside an unknown claim", edit: func(c, cr map[int64][]byte) { c[99] = []byte{0xc0, 0x61, 'A'}; cr[99] = []byte{0xc2, 0x61, 'A'} }},
		{name: "tagged key in the credential", edit: func(c, cr map[int64][]byte) { cr[98] = []byte{0xa1, 0xc2, 0x41, 0x01, 0x00} }},
	}
	// The credential map wrapped in tag 100 has the wrong type.
	payload := claimsPayload(func(c, cr map[int64][]byte) {})
	i := bytes.Index(payload, []byte{0x3a, 0x00, 0x01, 0x11, 0x6f}) + 5
	if _, err := DecodeClaims(cat(payload[:i], []byte{0xd8, 0x64}, payload[i:])); !errors.Is(err, ErrMalformed) {
		t.Fatalf("tagged credential map: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeClaims(claimsPayload(tt.edit))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestAuthorityCodeOfMalformedClaims: step 6 needs the authorityCode even
// when the claims are otherwise malformed (clarification 20).
func TestAuthorityCodeOfMalformedClaims(t *testing.T) {
	for _, tt := range []struct {
		code string
		ok   bool
	}{{"510100", true}, {"51010", false}, {"５１０１００", false}} {
		payload := claimsPayload(func(c, cr map[int64][]byte) { cr[5] = tstr(""); cr[9] = tstr(tt.code) })
		d := &Decoded{}
		m, _, err := ReadIssuedAt(payload)
		if err != nil {
			t.Fatal(err)
		}
		d.payload = m
		if _, err := d.Claims(); !errors.Is(err, ErrMalformed) {
			t.Fatalf("claims accepted: %v", err)
		}
		got, ok := d.AuthorityCode()
		if ok != tt.ok || (ok && got != tt.code) {
			t.Fatalf("%q: got %q %v", tt.code, got, ok)
		}
	}
}

// TestDecodeTextVersionAndLength pins clarification 1 and the step-1 part
// of clarification 20.
func TestDecodeTextVersionAndLength(t *testing.T) {
	long := strings.Repeat("0", MaxTextLength)
	tests := []struct {
		name    string
		text    string
		wantErr []error
	}{
		{name: "RTC01", text: "RTC01:00", wantErr: []error{ErrUnsupportedVersion}},
		{name: "RTC0", text: "RTC0:00", wantErr: []error{ErrUnsupportedVersion}},
		{name: "RTC2 garbage after", text: "RTC2:abc", wantErr: []error{ErrUnsupportedVersion}},
		{name: "too long RTC2", text: "RTC2:" + long, wantErr: []error{ErrMalformed, ErrUnsupportedVersion}},
		{name: "too long RTC1", text: Prefix + long, wantErr: []error{ErrMalformed}},
		{name: "too long HC1", text: "HC1:" + long, wantErr: []error{ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeText(tt.text)
			for _, want := range []error{ErrMalformed, ErrUnsupportedVersion} {
				if errors.Is(err, want) != containsErr(tt.wantErr, want) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			}
		})
	}
	// Clarification 2: one byte after the zlib stream.
	if _, err := DecodeText(Prefix + Base45Encode(append(zlibOf([]byte{0xa0}), 0x00))); !errors.Is(err, ErrMalformed) {
		t.Fatalf("byte after zlib: %v", err)
	}
}

func containsErr(errs []error, e error) bool {
	for _, x := range errs {
		if x == e {
			return true
		}
	}
	return false
}

// listPayload builds a status-list payload from raw CBOR values per key.
func listPayload(edit func(m map[uint64][]byte)) []byte {
	entry := func(h byte, st byte, since []byte) []byte {
		return cat([]byte{0x83}, bstr(bytes.Repeat([]byte{h}, 16)), []byte{st}, since)
	}
	m := map[uint64][]byte{
		1: tstr("440300"), 2: {0x05}, 3: {0x00}, 4: {0x1a, 0x69, 0, 0, 0}, 5: {0x1a, 0x69, 0x10, 0, 0},
		6: cat([]byte{0x82}, entry(1, 1, []byte{0x1a, 0x68, 0, 0, 0}), entry(2, 2, []byte{0x3a, 0, 0, 0, 0})),
	}
	edit(m)
	b := appendHead(nil, majorMap, uint64(len(m)))
	for k := uint64(0); k < 100; k++ {
		if v, ok := m[k]; ok {
			b = append(appendHead(b, majorUint, k), v...)
		}
	}
	return b
}

func listCOSE(payload []byte) []byte {
	return sign1(true, goodHdr, []byte{0xa0}, payload, make([]byte, 64))
}

// TestStatusListClarifications pins clarifications 7, 9 and 17 (and 3 and
// 4) for status lists: every list-level refusal.
func TestStatusListClarifications(t *testing.T) {
	e := func(h byte, st byte, since []byte) []byte {
		return cat([]byte{0x83}, bstr(bytes.Repeat([]byte{h}, 16)), []byte{st}, since)
	}
	one := func(entries ...[]byte) []byte {
		return cat(appendHead(nil, majorArray, uint64(len(entries))), cat(entries...))
	}
	since := []byte{0x1a, 0x68, 0, 0, 0}
	tests := []struct {
		name    string
		edit    func(m map[uint64][]byte)
		mutate  func(p []byte) []byte // applied to the encoded payload
		wantErr error
		count   int
	}{
		{name: "valid", edit: func(m map[uint64][]byte) {}, count: 2},
		{name: "unknown keys ignored", edit: func(m map[uint64][]byte) { m[7] = []byte{0xc0, 0x61, 'x'}; m[0] = []byte{0xa1, 0x01, 0x80} }, count: 2},
		{name: "sequence 0", edit: func(m map[uint64][]byte) { m[2] = []byte{0x00} }, wantErr: ErrMalformed},
		{name: "base equal to sequence", edit: func(m map[uint64][]byte) { m[3] = []byte{0x05} }, wantErr: ErrMalformed},
		{name: "base above sequence", edit: func(m map[uint64][]byte) { m[3] = []byte{0x06} }, wantErr: ErrMalformed},
		{name: "delta", edit: func(m map[uint64][]byte) { m[3] = []byte{0x04} }, count: 2},
		{name: "nextUpdate before thisUpdate", edit: func(m map[uint64][]byte) { m[5] = []byte{0x1a, 0x68, 0xff, 0xff, 0xff} }, wantErr: ErrMalformed},
		{name: "nextUpdate equal to thisUpdate", edit: func(m map[uint64][]byte) { m[5] = m[4] }, count: 2},
		{name: "idHash twice", edit: func(m map[uint64][]byte) { m[6] = one(e(1, 1, since), e(1, 2, since)) }, wantErr: ErrMalformed},
		{name: "issuer of 5 digits", edit: func(m map[uint64][]byte) { m[1] = tstr("44030") }, wantErr: ErrMalformed},
		{name: "issuer with full-width digits", edit: func(m map[uint64][]byte) { m[1] = tstr("４４０３００") }, wantErr: ErrMalformed},
		{name: "issuer as an integer", edit: func(m map[uint64][]byte) { m[1] = []byte{0x1a, 0x00, 0x06, 0xb7, 0x7c} }, wantErr: ErrMalformed},
		{name: "thisUpdate beyond int64", edit: func(m map[uint64][]byte) { m[4] = []byte{0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0} }, wantErr: ErrMalformed},
		{name: "nextUpdate bignum", edit: func(m map[uint64][]byte) { m[5] = []byte{0xc2, 0x44, 0x69, 0x10, 0, 0} }, wantErr: ErrMalformed},
		{name: "thisUpdate as epoch-time tag", edit: func(m map[uint64][]byte) { m[4] = []byte{0xc1, 0x1a, 0x69, 0, 0, 0} }, wantErr: ErrMalformed},
		{name: "thisUpdate as float", edit: func(m map[uint64][]byte) { m[4] = []byte{0xfb, 0x41, 0xda, 0x40, 0, 0, 0, 0, 0} }, wantErr: ErrMalformed},
		{name: "since below int64", edit: func(m map[uint64][]byte) { m[6] = one(e(1, 1, []byte{0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0})) }, wantErr: ErrMalformed},
		{name: "since int64 min", edit: func(m map[uint64][]byte) {
			m[6] = one(e(1, 1, []byte{0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
		}, count: 1},
		{name: "since bignum", edit: func(m map[uint64][]byte) { m[6] = one(e(1, 1, []byte{0xc2, 0x41, 0x01})) }, wantErr: ErrMalformed},
		{name: "since as text", edit: func(m map[uint64][]byte) { m[6] = one(e(1, 1, tstr("2026"))) }, wantErr: ErrMalformed},
		{name: "status 3", edit: func(m map[uint64][]byte) { m[6] = one(e(1, 3, since)) }, wantErr: ErrMalformed},
		{name: "status in a non-shortest head", edit: func(m map[uint64][]byte) {
			m[6] = one(cat([]byte{0x83}, bstr(make([]byte, 16)), []byte{0x18, 0x02}, since))
		}, count: 1},
		{name: "tagged status", edit: func(m map[uint64][]byte) {
			m[6] = one(cat([]byte{0x83}, bstr(make([]byte, 16)), []byte{0xd8, 0x64, 0x01}, since))
		}, wantErr: ErrMalformed},
		{name: "idHash of 15 bytes", edit: func(m map[uint64][]byte) { m[6] = one(cat([]byte{0x83}, bstr(make([]byte, 15)), []byte{0x01}, since)) }, wantErr: ErrMalformed},
		{name: "entry of 4 items", edit: func(m map[uint64][]byte) {
			m[6] = one(cat([]byte{0x84}, bstr(make([]byte, 16)), []byte{0x01}, since, []byte{0x00}))
		}, wantErr: ErrMalformed},
		{name: "tagged entries", edit: func(m map[uint64][]byte) { m[6] = append([]byte{0xd8, 0x64}, one()...) }, wantErr: ErrMalformed},
		{name: "empty entries", edit: func(m map[uint64][]byte) { m[6] = one() }, count: 0},
		{name: "entries missing", edit: func(m map[uint64][]byte) { delete(m, 6) }, wantErr: ErrMalformed},
		{name: "issuer missing", edit: func(m map[uint64][]byte) { delete(m, 1) }, wantErr: ErrMalformed},
		{name: "duplicate key through a non-shortest head", edit: func(m map[uint64][]byte) {},
			mutate: func(p []byte) []byte { return cat([]byte{0xa7}, p[1:], []byte{0x18, 0x02, 0x06}) }, wantErr: ErrMalformed},
		{name: "array key", edit: func(m map[uint64][]byte) {},
			mutate: func(p []byte) []byte { return cat([]byte{0xa7}, p[1:], []byte{0x81, 0x01, 0x00}) }, wantErr: ErrMalformed},
		{name: "payload nested 17 deep in an unknown key", edit: func(m map[uint64][]byte) { m[9] = cat(bytes.Repeat([]byte{0x81}, 15), []byte{0x80}) }, wantErr: ErrMalformed},
		{name: "payload nested 16 deep in an unknown key", edit: func(m map[uint64][]byte) { m[9] = cat(bytes.Repeat([]byte{0x81}, 14), []byte{0x80}) }, count: 2},
		{name: "trailing byte in the payload", edit: func(m map[uint64][]byte) {}, mutate: func(p []byte) []byte { return append(p, 0x00) }, wantErr: ErrMalformed},
		{name: "payload not a map", edit: func(m map[uint64][]byte) {}, mutate: func(p []byte) []byte { return []byte{0x80} }, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := listPayload(tt.edit)
			if tt.mutate != nil {
				payload = tt.mutate(payload)
			}
			checkList(t, listCOSE(payload), tt.wantErr, tt.count)
		})
	}
}

// checkList parses cose with both forms and checks that they agree.
func checkList(t *testing.T, cose []byte, wantErr error, count int) {
	t.Helper()
	_, l, err := ParseStatusList(cose)
	if !errors.Is(err, wantErr) {
		t.Fatalf("err = %v, want %v", err, wantErr)
	}
	var got []StatusEntry
	_, h, err2 := ParseStatusListFunc(cose, func(e StatusEntry) error { got = append(got, e); return nil })
	if (err == nil) != (err2 == nil) {
		t.Fatalf("forms disagree: %v / %v", err, err2)
	}
	if err != nil {
		return
	}
	if len(l.Entries) != count || h.Count != count || len(got) != count {
		t.Fatalf("entries %d/%d/%d, want %d", len(l.Entries), h.Count, len(got), count)
	}
	if *h != *l.Header() {
		t.Fatalf("headers differ: %+v / %+v", h, l.Header())
	}
	for i := range got {
		if got[i] != l.Entries[i] {
			t.Fatalf("entry %d differs", i)
		}
	}
}

// TestStatusListFuncStops: an error from yield stops the walk and is
// returned as is.
func TestStatusListFuncStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, _, err := ParseStatusListFunc(listCOSE(listPayload(func(map[uint64][]byte) {})), func(StatusEntry) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err %v after %d entries", err, n)
	}
}

// TestStatusListLarge checks the bucketed duplicate search on a large list,
// with and without a repeated idHash.
func TestStatusListLarge(t *testing.T) {
	cose := bigListCOSE(t, 20_000)
	checkList(t, cose, nil, 20_000)
	// Repeat entry 0's idHash at entry 19,999.
	p, err := ParseSign1(cose)
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Clone(p.Payload)
	first := bytes.Index(payload, []byte{0x83, 0x50}) + 2
	last := bytes.LastIndex(payload, []byte{0x83, 0x50}) + 2
	copy(payload[last:last+16], payload[first:first+16])
	checkList(t, listCOSE(payload), ErrMalformed, 0)
	// All hashes in one bucket: still found.
	var h [IDHashSize]byte
	hashes := make([][IDHashSize]byte, 10_000)
	for i := range hashes {
		binary.BigEndian.PutUint64(h[8:], uint64(i*7919%10_000))
		hashes[i] = h
	}
	if _, dup := repeatedHash(hashes); dup {
		t.Fatal("false duplicate")
	}
	hashes[5000] = hashes[17]
	if _, dup := repeatedHash(hashes); !dup {
		t.Fatal("duplicate in one bucket not found")
	}
}
