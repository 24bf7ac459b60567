package issuer

import (
	"crypto/x509"
	"io"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
)

func TestPKIChainsWithSmx509(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	rnd := gm.DeterministicReader([]byte("issuer-test"))
	root, err := NewRoot(rnd, CertRequest{Subject: Name{CommonName: "根"}, Serial: 1, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(10, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := root.IssueCA(rnd, CertRequest{Subject: Name{CommonName: "省CA"}, Prefix: "44", Serial: 2, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ca.IssueSigner(rnd, CertRequest{Subject: Name{CommonName: "签名"}, Serial: 3, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(2, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	roots, inter := smx509.NewCertPool(), smx509.NewCertPool()
	roots.AddCert(root.Cert)
	inter.AddCert(ca.Cert)
	if _, err := signer.Cert.Verify(smx509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("chain does not verify: %v", err)
	}
	if signer.Cert.SignatureAlgorithm != smx509.SM2WithSM3 || ca.Cert.Subject.SerialNumber != "44" {
		t.Fatalf("algorithm %v, prefix %q", signer.Cert.SignatureAlgorithm, ca.Cert.Subject.SerialNumber)
	}
	if signer.KID != credential.KID(signer.DER) {
		t.Fatal("kid is not SM3(DER)[:8]")
	}
	der, err := ca.CRL(rnd, 7, now, now.AddDate(0, 1, 0), []Revocation{{Serial: signer.Cert.SerialNumber, At: now}})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	if crl.Number.Int64() != 7 || len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("CRL %v %d", crl.Number, len(crl.RevokedCertificateEntries))
	}
	bad, err := ca.IssueSigner(rnd, CertRequest{Subject: Name{CommonName: "坏"}, Serial: 4, NotBefore: now, NotAfter: now.AddDate(1, 0, 0), Tweak: Tweak{CorruptSignature: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Cert.CheckSignatureFrom(ca.Cert); err == nil {
		t.Fatal("corrupted signature verifies")
	}
}

func TestSignCredentialRoundTrip(t *testing.T) {
	rnd := gm.DeterministicReader([]byte("issuer-test-2"))
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	s := rootSigner(t, rnd, now)
	from, until := licenceDates(t)
	c := &credential.Claims{IssuedAt: now.Unix(), Credential: credential.Credential{Version: 1, Kind: credential.KindPermit, Number: "N1", ID: "ID1",
		Holder: "某公司", HolderIDType: credential.HolderIDCreditCode, HolderID: "91440300MA5TEST001", Authority: "某局", AuthorityCode: "440300",
		ValidFrom: from, ValidUntil: until, Permit: &credential.Permit{Scope: "道路普通货物运输"}}}
	text, err := s.SignCredential(rnd, c)
	if err != nil {
		t.Fatal(err)
	}
	d, err := credential.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Key.Public().Verify(d.Sign1.SigStructure(), d.Sign1.Signature); !ok {
		t.Fatal("signature does not verify")
	}
	got, err := d.Claims()
	if err != nil || got.Credential.Permit.Scope != "道路普通货物运输" {
		t.Fatalf("claims: %+v %v", got, err)
	}
	c.Credential.Permit = nil
	if _, err := s.SignCredential(rnd, c); err == nil {
		t.Fatal("signed a kind-2 credential without its permit fields")
	}
}

func TestSignDynamic(t *testing.T) {
	rnd := gm.DeterministicReader([]byte("issuer-test-3"))
	now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	s := rootSigner(t, rnd, now)
	from, until := licenceDates(t)
	cr := credential.Credential{Version: 1, Kind: credential.KindPractitioner, Number: "N", ID: "I", Holder: "张三", HolderIDType: credential.HolderIDResident,
		HolderID: "440304198203151234", Authority: "某局", AuthorityCode: "440300", ValidFrom: from, ValidUntil: until,
		Practitioner: &credential.Practitioner{Categories: []string{"道路货物运输驾驶员"}}}
	text, err := s.SignDynamic(rnd, cr, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := credential.Parse(text)
	c, err := d.Claims()
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasExpiry || c.Expires-c.IssuedAt != int64(DynamicTTL/time.Second) || len(c.CTI) != 16 {
		t.Fatalf("dynamic claims: exp-iat=%d cti=%x", c.Expires-c.IssuedAt, c.CTI)
	}
	static, err := s.SignStatic(rnd, cr, now)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := credential.Parse(static)
	c2, _ := d2.Claims()
	if c2.HasExpiry || c2.CTI != nil {
		t.Fatal("static code carries exp or cti")
	}
}

// rootSigner issues a signer directly under a new root, valid a year from now.
func rootSigner(t *testing.T, rnd io.Reader, now time.Time) *Signer {
	t.Helper()
	root, err := NewRoot(rnd, CertRequest{Subject: Name{CommonName: "根"}, Serial: 1, NotBefore: now, NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := root.IssueSigner(rnd, CertRequest{Subject: Name{CommonName: "签名"}, Serial: 2, NotBefore: now, NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// licenceDates is the validity of the test licences: 2026-01-01 to 2028-01-01.
func licenceDates(t *testing.T) (from, until credential.Date) {
	t.Helper()
	from, err1 := credential.ParseDate("2026-01-01")
	until, err2 := credential.ParseDate("2028-01-01")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return from, until
}
