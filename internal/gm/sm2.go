package gm

import (
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// SignatureSize is the length of a raw SM2 signature r || s.
const SignatureSize = 64

// PrivateKey is an SM2 private key. It implements crypto.Signer (DER output,
// SM3 with the default ID) so smx509 can sign certificates and CRLs with it.
type PrivateKey struct {
	k *sm2.PrivateKey
}

// PublicKey is an SM2 public key.
type PublicKey struct {
	k *ecdsa.PublicKey
}

// GenerateKey returns a fresh SM2 key drawn from r (crypto/rand when nil).
//
// WARNING: r must be a cryptographically secure source for any key that
// protects real data; deterministic readers are for demo worlds and tests.
func GenerateKey(r io.Reader) (*PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	k, err := sm2.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("gm: generate SM2 key: %w", err)
	}
	return &PrivateKey{k: k}, nil
}

// NewPrivateKeyFromScalar builds a key from a 32-byte big-endian scalar d.
func NewPrivateKeyFromScalar(d []byte) (*PrivateKey, error) {
	k, err := sm2.NewPrivateKey(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSM2Key, err)
	}
	return &PrivateKey{k: k}, nil
}

// Public returns the public half.
func (p *PrivateKey) Public() *PublicKey { return &PublicKey{k: &p.k.PublicKey} }

// Signer returns the key as a crypto.Signer for smx509 (certificates, CRLs).
func (p *PrivateKey) Signer() *sm2.PrivateKey { return p.k }

// MarshalPKCS8 returns the PKCS#8 DER encoding of the key.
func (p *PrivateKey) MarshalPKCS8() ([]byte, error) {
	der, err := smx509.MarshalPKCS8PrivateKey(p.k)
	if err != nil {
		return nil, fmt.Errorf("gm: marshal private key: %w", err)
	}
	return der, nil
}

// ParsePKCS8 parses a PKCS#8 DER SM2 private key.
func ParsePKCS8(der []byte) (*PrivateKey, error) {
	k, err := smx509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("gm: parse private key: %w", err)
	}
	sk, ok := k.(*sm2.PrivateKey)
	if !ok {
		return nil, ErrNotSM2Key
	}
	return &PrivateKey{k: sk}, nil
}

// Sign signs msg with SM2 over SM3 using the default distinguishing
// identifier 1234567812345678 and returns the raw 64-byte r || s.
func (p *PrivateKey) Sign(r io.Reader, msg []byte) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	der, err := sm2.SignASN1(r, p.k, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("gm: SM2 sign: %w", err)
	}
	return derToRaw(der)
}

// NewPublicKey wraps an SM2 public key taken from a parsed certificate.
func NewPublicKey(k any) (*PublicKey, error) {
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(ek) {
		return nil, ErrNotSM2Key
	}
	return &PublicKey{k: ek}, nil
}

// ParsePublicKeyUncompressed parses 04 || x || y.
func ParsePublicKeyUncompressed(b []byte) (*PublicKey, error) {
	k, err := sm2.NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSM2Key, err)
	}
	return &PublicKey{k: k}, nil
}

// ParsePKIX parses a PKIX (SubjectPublicKeyInfo) DER SM2 public key.
func ParsePKIX(der []byte) (*PublicKey, error) {
	k, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("gm: parse public key: %w", err)
	}
	return NewPublicKey(k)
}

// MarshalPKIX returns the PKIX DER encoding of the key.
func (k *PublicKey) MarshalPKIX() ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(k.k)
	if err != nil {
		return nil, fmt.Errorf("gm: marshal public key: %w", err)
	}
	return der, nil
}

// Crypto returns the key in the form smx509 templates take.
func (k *PublicKey) Crypto() *ecdsa.PublicKey { return k.k }

// Equal reports whether k and o are the same key.
func (k *PublicKey) Equal(o *PublicKey) bool { return o != nil && k.k.Equal(o.k) }

// Verify reports whether sig (raw r || s, 64 bytes) is a valid SM2 signature
// over msg with SM3 and the default distinguishing identifier. A signature of
// another length returns ErrSignatureLength; a wrong signature returns false, nil.
func (k *PublicKey) Verify(msg, sig []byte) (bool, error) {
	if len(sig) != SignatureSize {
		return false, ErrSignatureLength
	}
	der, err := rawToDER(sig)
	if err != nil {
		return false, err
	}
	return sm2.VerifyASN1WithSM2(k.k, nil, msg, der), nil
}

// VerifyDER verifies an ASN.1 DER SM2 signature (the form certificates use).
func (k *PublicKey) VerifyDER(msg, der []byte) bool {
	return sm2.VerifyASN1WithSM2(k.k, nil, msg, der)
}

func rawToDER(sig []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(sig[:32]))
		b.AddASN1BigInt(new(big.Int).SetBytes(sig[32:]))
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("gm: encode signature: %w", err)
	}
	return der, nil
}

func derToRaw(der []byte) ([]byte, error) {
	var r, s big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() ||
		r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 256 || s.BitLen() > 256 {
		return nil, fmt.Errorf("gm: malformed DER signature")
	}
	out := make([]byte, SignatureSize)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}
