package credential

import "fmt"

// base45Alphabet is the RFC 9285 alphabet, in value order.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

var base45Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = int8(i)
	}
	return t
}()

// Base45Encode encodes b as RFC 9285 Base45.
func Base45Encode(b []byte) string {
	out := make([]byte, 0, (len(b)/2)*3+2)
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])<<8 | int(b[i+1])
		out = append(out, base45Alphabet[n%45], base45Alphabet[(n/45)%45], base45Alphabet[n/2025])
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return string(out)
}

// Base45Decode decodes RFC 9285 Base45 strictly: only the 45 characters of
// the alphabet (no lower case), no dangling single character, and no triple
// above 65535 or pair above 255. Errors wrap ErrMalformed.
func Base45Decode(s string) ([]byte, error) {
	return appendBase45(make([]byte, 0, base45Len(s)), s)
}

// base45Len is the decoded length of s (when it decodes).
func base45Len(s string) int { return len(s)/3*2 + len(s)%3/2 }

// appendBase45 is Base45Decode appending to dst.
func appendBase45(dst []byte, s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("%w: base45: length %d leaves a single character", ErrMalformed, len(s))
	}
	i := 0
	for ; i+3 <= len(s); i += 3 {
		c0, c1, c2 := base45Value[s[i]], base45Value[s[i+1]], base45Value[s[i+2]]
		if c0|c1|c2 < 0 {
			return nil, base45BadChar(s, i)
		}
		v := int(c0) + int(c1)*45 + int(c2)*2025
		if v > 0xffff {
			return nil, fmt.Errorf("%w: base45: triple at %d decodes to %d > 65535", ErrMalformed, i, v)
		}
		dst = append(dst, byte(v>>8), byte(v))
	}
	if i < len(s) { // a final pair
		c0, c1 := base45Value[s[i]], base45Value[s[i+1]]
		if c0|c1 < 0 {
			return nil, base45BadChar(s, i)
		}
		v := int(c0) + int(c1)*45
		if v > 0xff {
			return nil, fmt.Errorf("%w: base45: pair at %d decodes to %d > 255", ErrMalformed, i, v)
		}
		dst = append(dst, byte(v))
	}
	return dst, nil
}

// base45BadChar reports the first character from s[i] on that is not in
// the alphabet.
func base45BadChar(s string, i int) error {
	for base45Value[s[i]] >= 0 {
		i++
	}
	return fmt.Errorf("%w: base45: invalid character %q at %d", ErrMalformed, s[i], i)
}
