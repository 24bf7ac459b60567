package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// ContentType is the media type of a request or response body that is an
// envelope (its binary form, Marshal).
const ContentType = "application/vnd.roadcheck.sealed"

// Version and algorithm of envelopes.
const (
	Version   = 1
	Algorithm = "SM2+SM4-GCM"
)

// Content types sealed by RoadCheck.
const (
	TypePush    = "push"    // wire.PushRequest
	TypeRecords = "records" // wire.RecordsResponse with personal fields
	TypeReveal  = "reveal"  // a revealed record
)

// MaxSize bounds an envelope's plaintext (a push body).
const MaxSize = 64 << 20

// Errors.
var (
	ErrMalformed = errors.New("envelope: malformed envelope")
	// ErrRecipient: the envelope is sealed to another key.
	ErrRecipient = errors.New("envelope: sealed to another key")
	// ErrOpen: the envelope does not open (tampered, or the wrong type).
	ErrOpen = errors.New("envelope: cannot be opened (tampered, or not of the expected type)")
)

// Envelope is a sealed payload.
type Envelope struct {
	V     int    `json:"v"`
	Alg   string `json:"alg"`
	KeyID string `json:"kid"`  // KeyID of the recipient's key
	Type  string `json:"typ"`  // content type (Type*)
	Key   []byte `json:"key"`  // SM2 ciphertext of the 16-byte SM4 content key
	Data  []byte `json:"data"` // SM4-GCM: nonce || ciphertext || tag
}

// KeyID names a public key: the first 8 bytes of SM3 of its PKIX DER, hex.
func KeyID(pub *gm.PublicKey) (string, error) {
	der, err := pub.MarshalPKIX()
	if err != nil {
		return "", err
	}
	h := gm.SM3(der)
	return hex.EncodeToString(h[:8]), nil
}

func ad(typ, kid string) []byte {
	return []byte("RC-ENVELOPE-1\n" + Algorithm + "\n" + typ + "\n" + kid)
}

// Seal seals plaintext of type typ to the key to.
func Seal(to *gm.PublicKey, typ string, plaintext []byte) (*Envelope, error) {
	if len(plaintext) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrMalformed, len(plaintext), MaxSize)
	}
	kid, err := KeyID(to)
	if err != nil {
		return nil, err
	}
	cek := make([]byte, gm.SM4KeySize)
	if _, err := rand.Read(cek); err != nil {
		return nil, err
	}
	a, err := gm.NewAEAD(cek, nil)
	if err != nil {
		return nil, err
	}
	data, err := a.Seal(plaintext, ad(typ, kid))
	if err != nil {
		return nil, err
	}
	wrapped, err := to.Encrypt(nil, cek)
	if err != nil {
		return nil, err
	}
	return &Envelope{V: Version, Alg: Algorithm, KeyID: kid, Type: typ, Key: wrapped, Data: data}, nil
}

// magic begins the binary form of an envelope.
const magic = "RCE1"

// Marshal seals plaintext and returns the envelope's binary form.
func Marshal(to *gm.PublicKey, typ string, plaintext []byte) ([]byte, error) {
	e, err := Seal(to, typ, plaintext)
	if err != nil {
		return nil, err
	}
	return e.MarshalBinary()
}

// MarshalBinary encodes e: "RCE1", the type (1 byte of length, then the
// type), the recipient key id (8 bytes), the wrapped key (2 bytes of
// length big-endian, then the key), then the sealed data to the end.
func (e *Envelope) MarshalBinary() ([]byte, error) {
	kid, err := hex.DecodeString(e.KeyID)
	if err != nil || len(kid) != 8 || len(e.Type) == 0 || len(e.Type) > 255 || len(e.Key) > 0xffff {
		return nil, fmt.Errorf("%w: key id %q, type %q", ErrMalformed, e.KeyID, e.Type)
	}
	b := make([]byte, 0, len(magic)+1+len(e.Type)+8+2+len(e.Key)+len(e.Data))
	b = append(b, magic...)
	b = append(b, byte(len(e.Type)))
	b = append(b, e.Type...)
	b = append(b, kid...)
	b = append(b, byte(len(e.Key)>>8), byte(len(e.Key)))
	b = append(b, e.Key...)
	return append(b, e.Data...), nil
}

// Parse reads an envelope's binary form (Marshal), strictly.
func Parse(b []byte) (*Envelope, error) {
	bad := func(what string) (*Envelope, error) { return nil, fmt.Errorf("%w: %s", ErrMalformed, what) }
	if !bytes.HasPrefix(b, []byte(magic)) {
		return bad("not an envelope (no RCE1)")
	}
	b = b[len(magic):]
	if len(b) < 1 || len(b) < 1+int(b[0]) || b[0] == 0 {
		return bad("no type")
	}
	typ := string(b[1 : 1+int(b[0])])
	b = b[1+int(b[0]):]
	if len(b) < 8+2 {
		return bad("no key id")
	}
	kid := hex.EncodeToString(b[:8])
	n := int(b[8])<<8 | int(b[9])
	b = b[10:]
	if n != gm.SM4KeySize+gm.SM2Overhead || len(b) < n+gm.GCMNonceSize+16 {
		return bad(fmt.Sprintf("wrapped key of %d bytes, or no data", n))
	}
	if len(b)-n > MaxSize+gm.GCMNonceSize+16 {
		return bad("too large")
	}
	return &Envelope{V: Version, Alg: Algorithm, KeyID: kid, Type: typ, Key: bytes.Clone(b[:n]), Data: bytes.Clone(b[n:])}, nil
}

// Open opens an envelope of type typ with the recipient's private key.
// ErrRecipient when it is sealed to another key, ErrOpen when it does not
// open (tampered, or of another type).
func (e *Envelope) Open(key *gm.PrivateKey, typ string) ([]byte, error) {
	kid, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	if e.KeyID != kid {
		return nil, fmt.Errorf("%w: sealed to key %s, this is key %s", ErrRecipient, e.KeyID, kid)
	}
	if e.Type != typ {
		return nil, fmt.Errorf("%w: a %q envelope where %q was expected", ErrOpen, e.Type, typ)
	}
	cek, err := key.Decrypt(e.Key)
	if err != nil || len(cek) != gm.SM4KeySize {
		return nil, ErrOpen
	}
	a, err := gm.NewAEAD(cek, nil)
	if err != nil {
		return nil, ErrOpen
	}
	pt, err := a.Open(e.Data, ad(e.Type, e.KeyID))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// Unmarshal parses an envelope's binary form and opens it.
func Unmarshal(b []byte, key *gm.PrivateKey, typ string) ([]byte, error) {
	e, err := Parse(b)
	if err != nil {
		return nil, err
	}
	return e.Open(key, typ)
}
