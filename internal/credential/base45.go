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
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("%w: base45: length %d leaves a single character", ErrMalformed, len(s))
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		n := len(s) - i
		if n > 3 {
			n = 3
		}
		v := 0
		mul := 1
		for j := 0; j < n; j++ {
			c := base45Value[s[i+j]]
			if c < 0 {
				return nil, fmt.Errorf("%w: base45: invalid character %q at %d", ErrMalformed, s[i+j], i+j)
			}
			v += int(c) * mul
			mul *= 45
		}
		switch n {
		case 3:
			if v > 0xffff {
				return nil, fmt.Errorf("%w: base45: triple at %d decodes to %d > 65535", ErrMalformed, i, v)
			}
			out = append(out, byte(v>>8), byte(v))
		case 2:
			if v > 0xff {
				return nil, fmt.Errorf("%w: base45: pair at %d decodes to %d > 255", ErrMalformed, i, v)
			}
			out = append(out, byte(v))
		}
	}
	return out, nil
}
