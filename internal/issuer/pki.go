package issuer

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
)

// Authority is a CA (root or below) that can issue certificates and CRLs.
type Authority struct {
	Cert   *smx509.Certificate
	DER    []byte
	Key    *gm.PrivateKey
	Prefix string // jurisdiction ("" for a root: it counts as national)
}

// Signer is an end-entity certificate that signs codes and status lists.
type Signer struct {
	Cert *smx509.Certificate
	DER  []byte
	Key  *gm.PrivateKey
	KID  [credential.KIDSize]byte
}

// Name describes a subject.
type Name struct {
	Country      string // default "CN"
	Province     string
	Organization string
	CommonName   string
}

func (n Name) pkix(prefix string) pkix.Name {
	c := n.Country
	if c == "" {
		c = "CN"
	}
	out := pkix.Name{Country: []string{c}, CommonName: n.CommonName}
	if n.Province != "" {
		out.Province = []string{n.Province}
	}
	if n.Organization != "" {
		out.Organization = []string{n.Organization}
	}
	if prefix != "" {
		out.ExtraNames = []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 5}, Value: prefix}}
	}
	return out
}

// CertRequest is what to put in a new certificate. Zero Tweak fields keep
// the RTC1-conformant defaults; test vectors set them to build broken ones.
type CertRequest struct {
	Subject   Name
	Prefix    string // CA jurisdiction, put into Subject serialNumber
	Serial    int64
	NotBefore time.Time
	NotAfter  time.Time
	Key       *gm.PrivateKey // nil: generated from rand
	Tweak     Tweak
}

// Tweak bends a certificate away from the rules, for negative test vectors.
type Tweak struct {
	NotCA            bool          // a CA request without CA=true
	NoCertSign       bool          // a CA without keyCertSign
	SignerIsCA       bool          // a signer with CA=true
	SignerKeyUsage   x509.KeyUsage // a signer's keyUsage (default digitalSignature)
	ExtraPrefix      string        // a second serialNumber attribute
	RawPrefix        *string       // exact serialNumber (may be invalid)
	PathLen          *int          // explicit maxPathLen for a CA
	CorruptSignature bool          // flip a bit of the signature (bad signature)
}

// NewRoot creates a self-signed root CA.
func NewRoot(rand io.Reader, req CertRequest) (*Authority, error) {
	key, err := keyFor(rand, req.Key)
	if err != nil {
		return nil, err
	}
	tmpl := caTemplate(req)
	tmpl.Subject = req.Subject.pkix("")
	der, err := smx509.CreateCertificate(rand, tmpl, tmpl, key.Public().Crypto(), key.Signer())
	if err != nil {
		return nil, fmt.Errorf("issuer: create root: %w", err)
	}
	return newAuthority(der, key, "")
}

func newAuthority(der []byte, key *gm.PrivateKey, prefix string) (*Authority, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issuer: parse new certificate: %w", err)
	}
	return &Authority{Cert: c, DER: der, Key: key, Prefix: prefix}, nil
}

func keyFor(rand io.Reader, k *gm.PrivateKey) (*gm.PrivateKey, error) {
	if k != nil {
		return k, nil
	}
	return gm.GenerateKey(rand)
}

func caTemplate(req CertRequest) *smx509.Certificate {
	t := &smx509.Certificate{
		SerialNumber:          big.NewInt(req.Serial),
		NotBefore:             req.NotBefore,
		NotAfter:              req.NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  !req.Tweak.NotCA,
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	if req.Tweak.NoCertSign {
		t.KeyUsage = x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	}
	if req.Tweak.PathLen != nil {
		t.MaxPathLen = *req.Tweak.PathLen
		t.MaxPathLenZero = *req.Tweak.PathLen == 0
	}
	return t
}

// IssueCA issues a subordinate CA with jurisdiction req.Prefix.
func (a *Authority) IssueCA(rand io.Reader, req CertRequest) (*Authority, error) {
	key, err := keyFor(rand, req.Key)
	if err != nil {
		return nil, err
	}
	tmpl := caTemplate(req)
	prefix := req.Prefix
	if req.Tweak.RawPrefix != nil {
		prefix = *req.Tweak.RawPrefix
	}
	tmpl.Subject = req.Subject.pkix(prefix)
	if req.Tweak.ExtraPrefix != "" {
		tmpl.Subject.ExtraNames = append(tmpl.Subject.ExtraNames, pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier{2, 5, 4, 5}, Value: req.Tweak.ExtraPrefix})
	}
	der, err := a.issue(rand, tmpl, key, req.Tweak)
	if err != nil {
		return nil, err
	}
	return newAuthority(der, key, req.Prefix)
}

// IssueSigner issues an end-entity signer certificate.
func (a *Authority) IssueSigner(rand io.Reader, req CertRequest) (*Signer, error) {
	key, err := keyFor(rand, req.Key)
	if err != nil {
		return nil, err
	}
	ku := x509.KeyUsageDigitalSignature
	if req.Tweak.SignerKeyUsage != 0 {
		ku = req.Tweak.SignerKeyUsage
	}
	tmpl := &smx509.Certificate{
		SerialNumber:          big.NewInt(req.Serial),
		Subject:               req.Subject.pkix(""),
		NotBefore:             req.NotBefore,
		NotAfter:              req.NotAfter,
		KeyUsage:              ku,
		BasicConstraintsValid: true,
		IsCA:                  req.Tweak.SignerIsCA,
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	if req.Tweak.SignerIsCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	der, err := a.issue(rand, tmpl, key, req.Tweak)
	if err != nil {
		return nil, err
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issuer: parse new certificate: %w", err)
	}
	return &Signer{Cert: c, DER: der, Key: key, KID: credential.KID(der)}, nil
}

func (a *Authority) issue(rand io.Reader, tmpl *smx509.Certificate, key *gm.PrivateKey, tw Tweak) ([]byte, error) {
	der, err := smx509.CreateCertificate(rand, tmpl, a.Cert, key.Public().Crypto(), a.Key.Signer())
	if err != nil {
		return nil, fmt.Errorf("issuer: create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	if tw.CorruptSignature {
		der[len(der)-1] ^= 0x01 // the last byte of s: still valid DER, no longer a valid signature
	}
	return der, nil
}

// Revocation is one entry of a CRL.
type Revocation struct {
	Serial *big.Int
	At     time.Time
}

// CRL issues an X.509 v2 CRL signed by a.
func (a *Authority) CRL(rand io.Reader, number int64, thisUpdate, nextUpdate time.Time, revoked []Revocation) ([]byte, error) {
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(number),
		ThisUpdate: thisUpdate,
		NextUpdate: nextUpdate,
	}
	for _, r := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At})
	}
	der, err := smx509.CreateRevocationList(rand, tmpl, a.Cert, a.Key.Signer())
	if err != nil {
		return nil, fmt.Errorf("issuer: create CRL: %w", err)
	}
	return der, nil
}

// Sign wraps payload in a COSE_Sign1 signed by s (alg SM2-SM3, kid of s).
func (s *Signer) Sign(rand io.Reader, payload []byte) ([]byte, error) {
	return credential.EncodeSign1(s.KID[:], payload, func(m []byte) ([]byte, error) { return s.Key.Sign(rand, m) })
}

// SignCredential signs claims into RTC1 QR text.
func (s *Signer) SignCredential(rand io.Reader, c *credential.Claims) (string, error) {
	payload, err := c.EncodePayload()
	if err != nil {
		return "", err
	}
	cose, err := s.Sign(rand, payload)
	if err != nil {
		return "", err
	}
	return credential.EncodeText(cose), nil
}

// SignStatusList signs a status list into the COSE bytes of a bundle block.
func (s *Signer) SignStatusList(rand io.Reader, l *credential.StatusList) ([]byte, error) {
	payload, err := l.EncodePayload()
	if err != nil {
		return nil, err
	}
	return s.Sign(rand, payload)
}

// Bundle is a trust bundle under construction.
type Bundle struct {
	blocks []*pem.Block
}

// AddCert adds a CERTIFICATE block.
func (b *Bundle) AddCert(der []byte) {
	b.blocks = append(b.blocks, &pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// AddCRL adds an X509 CRL block.
func (b *Bundle) AddCRL(der []byte) {
	b.blocks = append(b.blocks, &pem.Block{Type: "X509 CRL", Bytes: der})
}

// AddStatusList adds an RTC STATUS LIST block.
func (b *Bundle) AddStatusList(cose []byte) {
	b.blocks = append(b.blocks, &pem.Block{Type: "RTC STATUS LIST", Bytes: cose})
}

// PEM returns the bundle file.
func (b *Bundle) PEM() []byte {
	var out []byte
	for _, blk := range b.blocks {
		out = append(out, pem.EncodeToMemory(blk)...)
	}
	return out
}

// CertPEM returns der as one PEM CERTIFICATE block.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// DynamicTTL is how long a dynamic phone code stays acceptable by default.
const DynamicTTL = 5 * time.Minute

// SignStatic signs a printed code for cr: iat is at, no exp, no cti.
func (s *Signer) SignStatic(rand io.Reader, cr credential.Credential, at time.Time) (string, error) {
	return s.SignCredential(rand, &credential.Claims{IssuedAt: at.Unix(), Credential: cr})
}

// SignDynamic signs a short-lived code for a phone screen: iat is at, exp is
// at+ttl (DynamicTTL when zero), and a random 16-byte cti read from rand.
func (s *Signer) SignDynamic(rand io.Reader, cr credential.Credential, at time.Time, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = DynamicTTL
	}
	cti := make([]byte, 32) // read a full block: see gm.DeterministicReader
	if _, err := io.ReadFull(rand, cti); err != nil {
		return "", fmt.Errorf("issuer: cti: %w", err)
	}
	return s.SignCredential(rand, &credential.Claims{IssuedAt: at.Unix(), Expires: at.Add(ttl).Unix(), HasExpiry: true, CTI: cti[:16], Credential: cr})
}
