package trust

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// rawCert issues a certificate from tmpl under parent with a fresh key of p.
func (p *pki) rawCert(parent *issuer.Authority, tmpl *smx509.Certificate) []byte {
	p.t.Helper()
	k := p.key()
	der, err := smx509.CreateCertificate(p.rand(), tmpl, parent.Cert, k.Public().Crypto(), parent.Key.Signer())
	if err != nil {
		p.t.Fatal(err)
	}
	return der
}

func leafTmpl(cn string, serial int64) *smx509.Certificate {
	return &smx509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, SignatureAlgorithm: smx509.SM2WithSM3}
}

// TestImportProfileClarifications: certificates RTC1 clarifications 10 and
// 11 refuse at import, with the sentinel that says why.
func TestImportProfileClarifications(t *testing.T) {
	p := newPKI(t)
	zero, one := 0, 1
	pl0 := p.ca(p.root, "45", "路径零CA", issuer.Tweak{PathLen: &zero})
	pl1 := p.ca(p.root, "46", "路径一CA", issuer.Tweak{PathLen: &one})
	critical := leafTmpl("关键扩展", 200)
	critical.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 156, 999, 1}, Critical: true, Value: []byte{0x05, 0x00}}}
	nonCritical := leafTmpl("非关键扩展", 201)
	nonCritical.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 156, 999, 1}, Value: []byte{0x05, 0x00}}}
	nameConstraints := &smx509.Certificate{SerialNumber: big.NewInt(202), NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(1, 0, 0),
		Subject:  pkix.Name{CommonName: "名称约束CA", ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidSerialNumber, Value: "47"}}},
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		PermittedDNSDomainsCritical: true, PermittedDNSDomains: []string{"example.cn"}, SignatureAlgorithm: smx509.SM2WithSM3}
	noBC := leafTmpl("无基本约束", 203)
	noBC.BasicConstraintsValid = false
	tests := []struct {
		name    string
		parents [][]byte
		der     func() []byte
		wantErr error
	}{
		{name: "CA below pathLen 0", parents: [][]byte{pl0.DER}, der: func() []byte { return p.ca(pl0, "4501", "路径零下级", issuer.Tweak{}).DER }, wantErr: ErrPathLen},
		{name: "signer below pathLen 0", parents: [][]byte{pl0.DER}, der: func() []byte { return p.sign(pl0, "路径零签名", 204, t0, t0.AddDate(1, 0, 0), issuer.Tweak{}).DER }},
		{name: "CA below pathLen 1", parents: [][]byte{pl1.DER}, der: func() []byte { return p.ca(pl1, "4601", "路径一下级", issuer.Tweak{}).DER }},
		{name: "critical private extension", der: func() []byte { return p.rawCert(p.gd, critical) }, wantErr: ErrCriticalExtension},
		{name: "non-critical private extension", der: func() []byte { return p.rawCert(p.gd, nonCritical) }},
		{name: "critical name constraints", der: func() []byte { return p.rawCert(p.root, nameConstraints) }, wantErr: ErrCriticalExtension},
		{name: "signer without basicConstraints", der: func() []byte { return p.rawCert(p.gd, noBC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := p.store()
			der := tt.der()
			rep := importBundle(t, s, func(b *issuer.Bundle) {
				b.AddCert(p.gd.DER)
				for _, d := range tt.parents {
					b.AddCert(d)
				}
				b.AddCert(der)
			})
			got := rep.Blocks[len(rep.Blocks)-1]
			if !errors.Is(got.Err, tt.wantErr) || (got.Outcome == Stored) != (tt.wantErr == nil) {
				t.Fatalf("outcome %s err %v, want %v", got.Outcome, got.Err, tt.wantErr)
			}
		})
	}
	// Two levels below pathLen 1: the second CA is refused.
	s, _, _ := p.store()
	sub := p.ca(pl1, "4602", "路径一下级二", issuer.Tweak{})
	subsub := p.ca(sub, "460201", "路径一下下级", issuer.Tweak{})
	rep := importBundle(t, s, func(b *issuer.Bundle) {
		b.AddCert(pl1.DER)
		b.AddCert(sub.DER)
		b.AddCert(subsub.DER)
	})
	if rep.Blocks[1].Outcome != Stored || !errors.Is(rep.Blocks[2].Err, ErrPathLen) {
		t.Fatalf("pathLen 1, two levels: %v / %v", rep.Blocks[1].Err, rep.Blocks[2].Err)
	}
	// An anchor with a critical private extension is refused as well.
	rootTmpl := &smx509.Certificate{SerialNumber: big.NewInt(300), Subject: pkix.Name{CommonName: "关键扩展根"},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, SignatureAlgorithm: smx509.SM2WithSM3,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 156, 999, 2}, Critical: true, Value: []byte{0x05, 0x00}}}}
	k := p.key()
	rootDER, err := smx509.CreateCertificate(p.rand(), rootTmpl, rootTmpl, k.Public().Crypto(), k.Signer())
	if err != nil {
		t.Fatal(err)
	}
	arep, err := s.AddAnchors(context.Background(), issuer.CertPEM(rootDER))
	if err != nil || !errors.Is(arep.Blocks[0].Err, ErrCriticalExtension) {
		t.Fatalf("anchor with a critical extension: %v %v", err, arep.Blocks[0].Err)
	}
}

// TestCRLSignRequired: a CRL whose CA certificate has a keyUsage without
// cRLSign is refused (clarification 14).
func TestCRLSignRequired(t *testing.T) {
	p := newPKI(t)
	s, _, _ := p.store()
	tmpl := &smx509.Certificate{SerialNumber: big.NewInt(400), NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(1, 0, 0),
		Subject:  pkix.Name{CommonName: "只签证书CA", ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidSerialNumber, Value: "46"}}},
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, SignatureAlgorithm: smx509.SM2WithSM3}
	k := p.key()
	der, err := smx509.CreateCertificate(p.rand(), tmpl, p.root.Cert, k.Public().Crypto(), p.root.Key.Signer())
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	patched := *c
	patched.KeyUsage |= x509.KeyUsageCRLSign // x509 signs CRLs only for certificates that allow it
	crl, err := (&issuer.Authority{Cert: &patched, Key: k}).CRL(p.rand(), 1, t0, t0.AddDate(0, 1, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := importBundle(t, s, func(b *issuer.Bundle) {
		b.AddCert(der)
		b.AddCRL(crl)
	})
	if rep.Blocks[0].Outcome != Stored || !errors.Is(rep.Blocks[1].Err, ErrCRLSign) {
		t.Fatalf("outcomes: %v / %v", rep.Blocks[0].Err, rep.Blocks[1].Err)
	}
}

// TestCAIdentity: certificates with the same Subject and key are one CA
// (clarification 12): their CRL applies whichever certificate a chain
// passes through, including a certificate of the CA imported after the CRL;
// the same Subject with another key is another CA.
func TestCAIdentity(t *testing.T) {
	p := newPKI(t)
	s, _, _ := p.store()
	key := p.key()
	req := func(serial int64, from, until time.Time) issuer.CertRequest {
		return issuer.CertRequest{Subject: issuer.Name{CommonName: "续期CA"}, Prefix: "45", Serial: serial, NotBefore: from, NotAfter: until, Key: key}
	}
	r1, err := p.root.IssueCA(p.rand(), req(500, t0.AddDate(-5, 0, 0), t0.AddDate(5, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.root.IssueCA(p.rand(), req(501, t0.AddDate(-1, 0, 0), t0.AddDate(8, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	other, err := p.root.IssueCA(p.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: "续期CA"}, Prefix: "45", Serial: 502,
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(8, 0, 0), Key: p.key()})
	if err != nil {
		t.Fatal(err)
	}
	signer := p.sign(r1, "续期签名", 503, t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0), issuer.Tweak{})
	// The CRL (signed with the CA's key) arrives with the first certificate.
	importBundle(t, s, func(b *issuer.Bundle) {
		b.AddCert(r1.DER)
		b.AddCRL(p.crl(r1, 1, t0, signer))
	})
	// The renewed certificate, a rolled-over key under the same Subject and
	// the signer arrive later: the signer chains through both certificates
	// of the CA, and the CRL covers both chains.
	rep := importBundle(t, s, func(b *issuer.Bundle) {
		b.AddCert(r2.DER)
		b.AddCert(other.DER)
		b.AddCert(signer.DER)
	})
	if rep.Count(Stored) != 3 {
		t.Fatalf("second import: %+v", rep.Blocks)
	}
	idx := s.snapshot()
	c1, c2, c3 := idx.certs[HashOf(r1.DER)], idx.certs[HashOf(r2.DER)], idx.certs[HashOf(other.DER)]
	if c1.Identity() != c2.Identity() || c1.Identity() == c3.Identity() {
		t.Fatal("identities: renewed certificates differ or a rolled-over key is the same CA")
	}
	sc := s.Signers(signer.KID[:])[0]
	chains := s.Chains(sc)
	if len(chains) != 2 {
		t.Fatalf("%d chains, want 2", len(chains))
	}
	for _, ch := range chains {
		if !s.Revoked(ch) {
			t.Fatalf("chain through %s is not revoked by the CA's CRL", ch.IssuingCA().Hash)
		}
		if s.CRLOf(ch.IssuingCA()) == nil {
			t.Fatal("CRLOf misses the CA's CRL")
		}
	}
	if s.CRLOf(c3) != nil {
		t.Fatal("the CRL was given to another key under the same Subject")
	}
}
