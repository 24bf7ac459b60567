package credential

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strings"
)

// Prefix starts every RTC1 QR text.
const Prefix = "RTC1:"

// Limits of section 1 of the format.
const (
	// MaxTextLength is the longest QR text, prefix included: the QR
	// alphanumeric capacity of version 40 at level L.
	MaxTextLength = 4296
	// MaxCOSESize is the largest inflated COSE_Sign1.
	MaxCOSESize = 16 << 10
)

// DecodeText undoes the text layers of an RTC1 code: length limit, prefix,
// Base45, zlib (inflating at most MaxCOSESize bytes). It returns the COSE
// bytes. Errors wrap ErrMalformed or ErrUnsupportedVersion.
func DecodeText(text string) ([]byte, error) {
	if len(text) > MaxTextLength {
		return nil, fmt.Errorf("%w: text of %d bytes exceeds %d", ErrMalformed, len(text), MaxTextLength)
	}
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		if v, ok := otherVersion(text); ok {
			return nil, fmt.Errorf("%w: prefix RTC%s:", ErrUnsupportedVersion, v)
		}
		return nil, fmt.Errorf("%w: text does not start with %q", ErrMalformed, Prefix)
	}
	compressed, err := Base45Decode(body)
	if err != nil {
		return nil, err
	}
	return inflate(compressed)
}

// otherVersion recognises "RTC<digits>:" and returns the digits.
func otherVersion(text string) (string, bool) {
	rest, ok := strings.CutPrefix(text, "RTC")
	if !ok {
		return "", false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n >= len(rest) || rest[n] != ':' {
		return "", false
	}
	return rest[:n], true
}

func inflate(compressed []byte) ([]byte, error) {
	src := bytes.NewReader(compressed)
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("%w: not a zlib stream: %v", ErrMalformed, err)
	}
	defer zr.Close()
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(zr, MaxCOSESize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: zlib: %v", ErrMalformed, err)
	}
	if n > MaxCOSESize {
		return nil, fmt.Errorf("%w: inflated COSE exceeds %d bytes", ErrMalformed, MaxCOSESize)
	}
	if src.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the zlib stream", ErrMalformed, src.Len())
	}
	return out.Bytes(), nil
}

// EncodeText compresses COSE bytes with zlib (best compression), encodes them
// in Base45 and adds the prefix.
func EncodeText(cose []byte) string {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression) // level is valid
	zw.Write(cose)
	zw.Close()
	return Prefix + Base45Encode(buf.Bytes())
}

// Decoded is an RTC1 code decoded as far as its structure allows without
// trust: the COSE_Sign1, iat, and the raw payload map for DecodeClaims.
type Decoded struct {
	Sign1    *Sign1
	IssuedAt int64
	payload  map[any]any
}

// Parse runs step 1 of verification: text layers, COSE structure and limits,
// and a payload that is a CBOR map with an integer iat. The alg is not judged
// here (see Sign1.AlgOK).
func Parse(text string) (*Decoded, error) {
	cose, err := DecodeText(text)
	if err != nil {
		return nil, err
	}
	s, err := ParseSign1(cose)
	if err != nil {
		return nil, err
	}
	m, iat, err := ReadIssuedAt(s.Payload)
	if err != nil {
		return nil, err
	}
	return &Decoded{Sign1: s, IssuedAt: iat, payload: m}, nil
}

// Claims validates the payload against the claims schema (step 6).
func (d *Decoded) Claims() (*Claims, error) { return claimsFromMap(d.payload, d.IssuedAt) }
