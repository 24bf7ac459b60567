package credential

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// referenceBase45Decode is the character-by-character decoder
// Base45Decode replaced, kept as the reference it must agree with.
func referenceBase45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("%w: base45: length %d leaves a single character", ErrMalformed, len(s))
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		n := min(len(s)-i, 3)
		v, mul := 0, 1
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

func checkBase45(t *testing.T, s string) {
	t.Helper()
	got, err := Base45Decode(s)
	want, werr := referenceBase45Decode(s)
	if errText(err) != errText(werr) || !bytes.Equal(got, want) {
		t.Fatalf("%q: %x %v, reference %x %v", s, got, err, want, werr)
	}
	if err == nil && len(got) != base45Len(s) {
		t.Fatalf("%q: %d bytes, base45Len %d", s, len(got), base45Len(s))
	}
}

// FuzzBase45Reference compares Base45Decode with the reference decoder:
// the same bytes or the same error.
func FuzzBase45Reference(f *testing.F) {
	for _, s := range seedTexts(f) {
		f.Add(strings.TrimPrefix(s, Prefix))
	}
	for _, s := range []string{"", "GGW", "GG", "0", "00", "000", "::", "::::", "FGW", "FG", "a00", "0a0", "00a", "0a", "GGa", "aGW"} {
		f.Add(s)
	}
	f.Fuzz(checkBase45)
}
