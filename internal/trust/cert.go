package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
)

// Hash identifies a certificate: SM3 over its DER.
type Hash [gm.SM3Size]byte

// String is the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// HashOf returns the SM3 hash of der.
func HashOf(der []byte) Hash { return gm.SM3(der) }

// NationalPrefix is the jurisdiction of an anchor: every code.
const NationalPrefix = "00"

var oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}

// Cert is a stored certificate: an anchor, a CA or a signer.
type Cert struct {
	Hash   Hash
	Cert   *smx509.Certificate
	Pub    *gm.PublicKey
	Anchor bool
	CA     bool // anchors are CAs too
	// Prefix is the jurisdiction of a CA ("00" for anchors); empty for signers.
	Prefix string
	// Parents are the stored CAs (or anchors) that issued this certificate and
	// whose signature on it verified at import. Empty for anchors.
	Parents []*Cert
	KID     [credential.KIDSize]byte

	names           sync.Once // subject and issuer in RFC 2253 form, computed on first use
	subject, issuer string
	identity        Hash
	// paths are the chains of the certificate, enumerated on first use:
	// Parents never change once a chain has been asked for.
	paths atomic.Pointer[[]Chain]
}

// Identity names the CA (or signer) this certificate is a certificate of:
// SM3(RawSubject || SubjectPublicKeyInfo). Certificates with the same
// Subject and the same public key (a renewed or cross-certified CA) are one
// CA (RTC1 clarification 12): its newest CRL and its status lists apply
// whichever of its certificates a chain passes through. The same Subject
// with another key (a key rollover) is another CA.
func (c *Cert) Identity() Hash { return c.identity }

func identityOf(sc *smx509.Certificate) Hash {
	b := make([]byte, 0, len(sc.RawSubject)+len(sc.RawSubjectPublicKeyInfo))
	return HashOf(append(append(b, sc.RawSubject...), sc.RawSubjectPublicKeyInfo...))
}

// Subject is the certificate's subject in RFC 2253 form.
func (c *Cert) Subject() string { c.nameStrings(); return c.subject }

// nameStrings computes the RFC 2253 names once: they are for people, and
// computing them for every stored certificate at load would cost more than
// parsing.
func (c *Cert) nameStrings() {
	c.names.Do(func() { c.subject, c.issuer = c.Cert.Subject.String(), c.Cert.Issuer.String() })
}

// Issuer is the certificate's issuer name in RFC 2253 form.
func (c *Cert) Issuer() string { c.nameStrings(); return c.issuer }

// Label is a short human name: the subject's CN, else its RFC 2253 form.
func (c *Cert) Label() string {
	if c.Cert.Subject.CommonName != "" {
		return c.Cert.Subject.CommonName
	}
	return c.Subject()
}

// Chain is one path from a signer up to an anchor, signer first.
type Chain []*Cert

// Window is the interval in which every certificate of the chain is valid.
func (ch Chain) Window() (notBefore, notAfter time.Time) {
	for i, c := range ch {
		if i == 0 || c.Cert.NotBefore.After(notBefore) {
			notBefore = c.Cert.NotBefore
		}
		if i == 0 || c.Cert.NotAfter.Before(notAfter) {
			notAfter = c.Cert.NotAfter
		}
	}
	return notBefore, notAfter
}

// ValidAt reports whether every certificate of the chain is valid at t.
func (ch Chain) ValidAt(t time.Time) bool {
	nb, na := ch.Window()
	return !t.Before(nb) && !t.After(na)
}

// IssuingCA is the CA that issued the chain's first certificate.
func (ch Chain) IssuingCA() *Cert { return ch[1] }

// parseCert parses der and checks the rules common to every certificate:
// SM2 public key, SM2-with-SM3 signature.
func parseCert(der []byte) (*Cert, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrParse, err)
	}
	if c.SignatureAlgorithm != smx509.SM2WithSM3 {
		return nil, fmt.Errorf("%w: signature algorithm %v", ErrNotSM2, c.SignatureAlgorithm)
	}
	pub, err := gm.NewPublicKey(c.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public key", ErrNotSM2)
	}
	out := &Cert{Hash: HashOf(der), Cert: c, Pub: pub, KID: credential.KID(der),
		identity: identityOf(c)}
	out.CA = c.BasicConstraintsValid && c.IsCA
	return out, nil
}

// Extensions RTC1 lets a certificate mark critical (clarification 11).
var (
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
)

// checkProfile applies the import-time profile rules of clarification 11
// that parseCert and checkRole do not: no critical extension other than
// basicConstraints and keyUsage (name constraints included).
func (c *Cert) checkProfile() error {
	for _, e := range c.Cert.Extensions {
		if e.Critical && !e.Id.Equal(oidBasicConstraints) && !e.Id.Equal(oidKeyUsage) {
			return fmt.Errorf("%w: %v", ErrCriticalExtension, e.Id)
		}
	}
	return nil
}

// pathLen returns the certificate's pathLenConstraint, or -1 when it has
// none.
func (c *Cert) pathLen() int {
	if c.Cert.MaxPathLen > 0 || (c.Cert.MaxPathLen == 0 && c.Cert.MaxPathLenZero) {
		return c.Cert.MaxPathLen
	}
	return -1
}

// selfIssued reports whether the certificate's issuer and subject names are
// the same (RFC 5280 section 6.1: such certificates do not count against a
// pathLenConstraint).
func (c *Cert) selfIssued() bool { return bytes.Equal(c.Cert.RawIssuer, c.Cert.RawSubject) }

// pathLenOK reports whether every pathLenConstraint on the chain allows the
// CA certificates below it (RFC 5280 section 4.2.1.9): a CA certificate
// with pathLenConstraint n may be followed by at most n non-self-issued CA
// certificates before the signer. A chain that starts at a CA certificate
// counts it too, so a CA certificate below a CA with pathLenConstraint 0
// is not allowed.
func (ch Chain) pathLenOK() bool {
	below := 0 // non-self-issued CA certificates below ch[j]
	for j, c := range ch {
		if j > 0 {
			if n := c.pathLen(); n >= 0 && below > n {
				return false
			}
		}
		if c.CA && !c.selfIssued() {
			below++
		}
	}
	return true
}

// checkRole applies the CA rules: a CA has CA=true, keyCertSign and exactly
// one jurisdiction prefix; a signer is not a CA and, where keyUsage is
// present, has digitalSignature.
func (c *Cert) checkRole() error {
	if !c.CA {
		if c.Cert.KeyUsage != 0 && c.Cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			return ErrSignerUsage
		}
		return nil
	}
	if c.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return ErrNotCA
	}
	if c.Anchor {
		c.Prefix = NationalPrefix
		return nil
	}
	var prefixes []string
	for _, atv := range c.Cert.Subject.Names {
		if atv.Type.Equal(oidSerialNumber) {
			s, _ := atv.Value.(string)
			prefixes = append(prefixes, s)
		}
	}
	if len(prefixes) != 1 || !isPrefix(prefixes[0]) {
		return fmt.Errorf("%w: found %q", ErrNoPrefix, prefixes)
	}
	c.Prefix = prefixes[0]
	return nil
}

func isPrefix(s string) bool {
	if len(s) != 2 && len(s) != 4 && len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Covers reports whether a CA with jurisdiction prefix may speak for code
// (a division code or a narrower prefix): "00" covers everything.
func Covers(prefix, code string) bool {
	return prefix == NationalPrefix || strings.HasPrefix(code, prefix)
}

// issuedBy checks that parent issued c: names match, parent is a CA with
// keyCertSign, the signature verifies, and a CA child stays inside the
// parent's jurisdiction.
func (c *Cert) issuedBy(parent *Cert) error {
	if !parent.CA {
		return ErrNotCA
	}
	if !bytes.Equal(c.Cert.RawIssuer, parent.Cert.RawSubject) {
		return ErrUnknownIssuer
	}
	if err := c.Cert.CheckSignatureFrom(parent.Cert); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if c.CA && !Covers(parent.Prefix, c.Prefix) {
		return fmt.Errorf("%w: prefix %s under %s", ErrJurisdiction, c.Prefix, parent.Prefix)
	}
	return nil
}

// chains enumerates the paths from c up to an anchor (c first) that every
// pathLenConstraint on them allows (clarification 11), once: the caller
// must not modify them. The graph is acyclic because a parent is always
// stored before its children; a certificate's Parents are set before it
// is stored, and never change after (an import makes new Certs).
func (c *Cert) chains() []Chain {
	if p := c.paths.Load(); p != nil {
		return *p
	}
	out := c.enumerateChains()
	c.paths.Store(&out)
	return out
}

func (c *Cert) enumerateChains() []Chain {
	if c.Anchor {
		return []Chain{{c}}
	}
	var out []Chain
	for _, p := range c.Parents {
		for _, pc := range p.chains() {
			if ch := append(Chain{c}, pc...); ch.pathLenOK() {
				out = append(out, ch)
			}
		}
	}
	return out
}

// allowedParents returns the parents of c through which at least one chain
// to an anchor meets every pathLenConstraint.
func (c *Cert) allowedParents() []*Cert {
	var out []*Cert
	for _, p := range c.Parents {
		for _, pc := range p.chains() {
			if append(Chain{c}, pc...).pathLenOK() {
				out = append(out, p)
				break
			}
		}
	}
	return out
}
