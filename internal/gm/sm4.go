package gm

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm4"
)

// SM4KeySize is the key length of SM4.
const SM4KeySize = 16

// GCMNonceSize is the nonce length SealGCM prepends to its output.
const GCMNonceSize = 12

// AEAD is SM4 in GCM mode. It is safe for concurrent use.
type AEAD struct {
	gcm  cipher.AEAD
	rand io.Reader
}

// NewAEAD returns SM4-GCM under key (16 bytes). Nonces are drawn from r
// (crypto/rand when nil).
//
// WARNING: nonces are random 96-bit values; do not encrypt more than 2^32
// messages under one key.
func NewAEAD(key []byte, r io.Reader) (*AEAD, error) {
	if len(key) != SM4KeySize {
		return nil, ErrKeyLength
	}
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("gm: SM4: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("gm: SM4-GCM: %w", err)
	}
	if r == nil {
		r = rand.Reader
	}
	return &AEAD{gcm: g, rand: r}, nil
}

// Seal encrypts and authenticates plaintext with associated data ad and
// returns nonce || ciphertext || tag.
func (a *AEAD) Seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, GCMNonceSize, GCMNonceSize+len(plaintext)+a.gcm.Overhead())
	if _, err := io.ReadFull(a.rand, nonce); err != nil {
		return nil, fmt.Errorf("gm: nonce: %w", err)
	}
	return a.gcm.Seal(nonce, nonce, plaintext, ad), nil
}

// Open reverses Seal. Any tampering, a wrong key or wrong ad gives ErrDecrypt.
func (a *AEAD) Open(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < GCMNonceSize+a.gcm.Overhead() {
		return nil, ErrDecrypt
	}
	pt, err := a.gcm.Open(nil, sealed[:GCMNonceSize], sealed[GCMNonceSize:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
