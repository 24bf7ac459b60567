package credential

import (
	"bytes"
	stdzlib "compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/klauspost/compress/zlib"
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
// Base45, zlib (inflating at most MaxCOSESize bytes, and nothing may follow
// the zlib stream). It returns the COSE bytes. Errors wrap ErrMalformed or
// ErrUnsupportedVersion, or both: a text over MaxTextLength whose prefix is
// "RTC<digits>:" other than "RTC1:" is both too long and of another version.
// Nothing after another version's prefix is examined.
func DecodeText(text string) ([]byte, error) {
	if len(text) > MaxTextLength {
		if v, ok := otherVersion(text); ok {
			return nil, fmt.Errorf("%w: text of %d bytes exceeds %d, %w: prefix RTC%s:", ErrMalformed, len(text), MaxTextLength, ErrUnsupportedVersion, v)
		}
		return nil, fmt.Errorf("%w: text of %d bytes exceeds %d", ErrMalformed, len(text), MaxTextLength)
	}
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		if v, ok := otherVersion(text); ok {
			return nil, fmt.Errorf("%w: prefix RTC%s:", ErrUnsupportedVersion, v)
		}
		return nil, fmt.Errorf("%w: text does not start with %q", ErrMalformed, Prefix)
	}
	z := getInflater()
	defer zlibReaders.Put(z)
	b, err := appendBase45(z.compressed[:0], body)
	if err != nil {
		return nil, err
	}
	z.compressed = b
	return z.inflate()
}

// otherVersion recognises "RTC<digits>:" other than "RTC1:" (so "RTC01:"
// and "RTC0:" too) and returns the digits.
func otherVersion(text string) (string, bool) {
	if strings.HasPrefix(text, Prefix) {
		return "", false
	}
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

// inflater is what decoding a text reuses from one code to the next: the
// Base45-decoded bytes, the zlib reader (klauspost/compress's, reset rather
// than made anew: a new reader costs more than inflating a code) and its
// output buffer.
type inflater struct {
	compressed []byte
	src        bytes.Reader
	zr         io.ReadCloser // nil until the first stream with a valid header
	out        []byte        // what was inflated, before it is copied out
}

var zlibReaders = sync.Pool{New: func() any { return new(inflater) }}

func getInflater() *inflater { return zlibReaders.Get().(*inflater) }

// inflate inflates z.compressed, which must be one zlib stream and
// nothing after it, into a new slice of at most MaxCOSESize bytes (of its
// exact length: the inflater's own buffer takes the stream). It never
// inflates more than MaxCOSESize+1 bytes. The zlib reader reads its
// source byte by byte (a bytes.Reader is an io.ByteReader), so what is
// left of it after the stream's checksum is exactly what follows the
// stream.
func (z *inflater) inflate() ([]byte, error) {
	z.src.Reset(z.compressed)
	var err error
	if z.zr == nil {
		z.zr, err = zlib.NewReader(&z.src)
	} else {
		err = z.zr.(zlib.Resetter).Reset(&z.src, nil)
	}
	if err != nil {
		z.zr = nil // a failed reset leaves the reader unusable
		if errors.Is(err, zlib.ErrHeader) || errors.Is(err, zlib.ErrDictionary) {
			return nil, fmt.Errorf("%w: not a zlib stream: %v", ErrMalformed, err)
		}
		return nil, fmt.Errorf("%w: zlib: %v", ErrMalformed, err)
	}
	if z.out == nil {
		z.out = make([]byte, 0, 4<<10)
	}
	out := z.out[:0]
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)] // grow
		}
		n, err := z.zr.Read(out[len(out):min(cap(out), MaxCOSESize+1)])
		out = out[:len(out)+n]
		if len(out) > MaxCOSESize {
			z.out = out[:0]
			return nil, fmt.Errorf("%w: inflated COSE exceeds %d bytes", ErrMalformed, MaxCOSESize)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			z.out = out[:0]
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: zlib: stream ends early", ErrMalformed)
			}
			return nil, fmt.Errorf("%w: zlib: %v", ErrMalformed, err)
		}
	}
	z.out = out[:0]
	if n := z.src.Len(); n != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the zlib stream", ErrMalformed, n)
	}
	return bytes.Clone(out), nil
}

// EncodeText compresses COSE bytes with zlib (best compression), encodes them
// in Base45 and adds the prefix.
func EncodeText(cose []byte) string {
	var buf bytes.Buffer
	zw, _ := stdzlib.NewWriterLevel(&buf, stdzlib.BestCompression) // level is valid
	zw.Write(cose)
	zw.Close()
	return Prefix + Base45Encode(buf.Bytes())
}

// Decoded is an RTC1 code decoded as far as its structure allows without
// trust: the COSE_Sign1, iat, and the payload's fields for Claims.
type Decoded struct {
	Sign1    *Sign1
	IssuedAt int64
	payload  map[any]any   // the generic decoding, when it was made (ReadIssuedAt)
	fields   payloadFields // the typed decoding (Parse), when payload is nil
	sign1    Sign1         // what Sign1 points to, allocated with the rest
}

// payloadFields is the typed decoding of a payload: the claims map and the
// credential claims map in it.
type payloadFields struct{ top, cred fieldMap }

// read decodes a payload into p as ReadIssuedAt does, but into typed
// fields instead of a generic tree: the same checks in the same order, the
// same errors.
func (p *payloadFields) read(b []byte) (int64, error) {
	if err := readFieldMap(b, "payload", &p.top, &p.cred); err != nil {
		return 0, err
	}
	src := string(b) // one copy; every text claim is cut from it
	p.top.src, p.cred.src = src, src
	return issuedAt(&p.top)
}

// readPayload is payloadFields.read into a new payloadFields.
func readPayload(b []byte) (*payloadFields, int64, error) {
	p := &payloadFields{}
	iat, err := p.read(b)
	if err != nil {
		return nil, 0, err
	}
	return p, iat, nil
}

// Parse runs step 1 of verification: text layers, COSE structure and limits,
// and a payload that is a CBOR map with an integer iat. The alg is not judged
// here (see Sign1.AlgOK).
func Parse(text string) (*Decoded, error) {
	cose, err := DecodeText(text)
	if err != nil {
		return nil, err
	}
	d := &Decoded{}
	if err := parseSign1(cose, &d.sign1); err != nil {
		return nil, err
	}
	d.Sign1 = &d.sign1
	if d.IssuedAt, err = d.fields.read(d.sign1.Payload); err != nil {
		return nil, err
	}
	return d, nil
}

// claims returns the payload's claims map.
func (d *Decoded) claims() claimMap {
	if d.payload != nil {
		return genericMap(d.payload)
	}
	return &d.fields.top
}

// Claims validates the payload against the claims schema (step 6).
func (d *Decoded) Claims() (*Claims, error) { return claimsFrom(d.claims(), d.IssuedAt) }
