package gm

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
)

// SM2 public-key encryption (GB/T 32918.4), for wrapping short secrets such
// as the content key of a sealed envelope. Ciphertexts are in the plain
// C1 || C3 || C2 form with an uncompressed C1 (65 + 32 + len(msg) bytes).

// ErrEncrypt is returned when SM2 encryption fails or the message is empty.
var ErrEncrypt = errors.New("gm: SM2 encryption failed")

// SM2Overhead is how much longer an SM2 ciphertext is than its message.
const SM2Overhead = 65 + SM3Size

// Encrypt encrypts msg (1 byte or more; meant for keys, not bulk data) to
// the key with SM2, drawing randomness from r (crypto/rand when nil).
func (k *PublicKey) Encrypt(r io.Reader, msg []byte) ([]byte, error) {
	if len(msg) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrEncrypt)
	}
	if r == nil {
		r = rand.Reader
	}
	ct, err := sm2.Encrypt(r, k.k, msg, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncrypt, err)
	}
	return ct, nil
}

// Decrypt reverses PublicKey.Encrypt with the private key. Any tampering or
// a ciphertext for another key gives ErrDecrypt.
func (p *PrivateKey) Decrypt(ct []byte) ([]byte, error) {
	if len(ct) <= SM2Overhead {
		return nil, ErrDecrypt
	}
	pt, err := sm2.Decrypt(p.k, ct)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
