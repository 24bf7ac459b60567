package wire

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// A terminal pins its hub at enrolment with exactly one of:
//   - one CA certificate (PEM CERTIFICATE): the hub's TLS certificate must
//     chain to it and name the hub's host;
//   - the hub's SPKI pin (PEM PinBlockType, the SM3 of the hub
//     certificate's SubjectPublicKeyInfo, from `rchub tls pin`): the hub's
//     certificate must carry that key, whatever signed it.
//
// Never a bundle: a file of several certificates (a system CA store) is
// refused, or any of them could vouch for the hub.

// PinBlockType is the PEM type of an SPKI pin.
const PinBlockType = "RC HUB SPKI PIN"

// ErrPin: the pin file is not exactly one CA certificate or one SPKI pin.
var ErrPin = errors.New("wire: the hub pin must be one CA certificate or one SPKI pin (rchub tls pin), not a bundle")

// Pin is a parsed pin: CA or SPKI (the other is nil).
type Pin struct {
	CA   *x509.Certificate
	SPKI *[gm.SM3Size]byte
}

// SPKIPinPEM returns the SPKI pin of a certificate, as PEM.
func SPKIPinPEM(cert *x509.Certificate) []byte {
	sum := gm.SM3(cert.RawSubjectPublicKeyInfo)
	return pem.EncodeToMemory(&pem.Block{Type: PinBlockType, Bytes: sum[:]})
}

// ParsePin reads a pin file: exactly one PEM block, a CERTIFICATE or an
// SPKI pin, and nothing else but white space.
func ParsePin(data []byte) (*Pin, error) {
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrPin)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: more than one block", ErrPin)
	}
	switch b.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPin, err)
		}
		return &Pin{CA: c}, nil
	case PinBlockType:
		if len(b.Bytes) != gm.SM3Size {
			return nil, fmt.Errorf("%w: an SPKI pin of %d bytes", ErrPin, len(b.Bytes))
		}
		sum := [gm.SM3Size]byte(b.Bytes)
		return &Pin{SPKI: &sum}, nil
	}
	return nil, fmt.Errorf("%w: a PEM %q block", ErrPin, b.Type)
}

// MatchesSPKI reports whether cert carries the pinned key.
func (p *Pin) MatchesSPKI(cert *x509.Certificate) bool {
	return p.SPKI != nil && gm.SM3(cert.RawSubjectPublicKeyInfo) == *p.SPKI
}
