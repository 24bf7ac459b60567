package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// ContentType is the media type of a request or response body that is an
// envelope (JSON).
const ContentType = "application/vnd.roadcheck.sealed+json"

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

func ad(typ, kid string) []byte { return []byte("RC-ENVELOPE-1\n" + Algorithm + "\n" + typ + "\n" + kid) }

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

// Marshal seals plaintext and returns the envelope's JSON.
func Marshal(to *gm.PublicKey, typ string, plaintext []byte) ([]byte, error) {
	e, err := Seal(to, typ, plaintext)
	if err != nil {
		return nil, err
	}
	return json.Marshal(e)
}

// Parse reads an envelope's JSON (strictly: no unknown fields).
func Parse(b []byte) (*Envelope, error) {
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if e.V != Version || e.Alg != Algorithm || e.Type == "" || len(e.Key) != gm.SM4KeySize+gm.SM2Overhead || len(e.Data) < gm.GCMNonceSize+16 {
		return nil, fmt.Errorf("%w: version %d, algorithm %q, type %q, key of %d bytes", ErrMalformed, e.V, e.Alg, e.Type, len(e.Key))
	}
	return &e, nil
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

// Unmarshal parses an envelope's JSON and opens it.
func Unmarshal(b []byte, key *gm.PrivateKey, typ string) ([]byte, error) {
	e, err := Parse(b)
	if err != nil {
		return nil, err
	}
	return e.Open(key, typ)
}
