package trust

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/storage"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// pki is a small deterministic PKI: root → 广东 CA (44) → signer.
type pki struct {
	t      testing.TB
	ns     string // seed namespace: PKIs with different ns share no key
	n      int
	root   *issuer.Authority
	gd     *issuer.Authority
	signer *issuer.Signer
}

func (p *pki) rand() io.Reader {
	p.n++
	return gm.DeterministicReader([]byte(fmt.Sprintf("trust-test/%s/%d", p.ns, p.n)))
}

func (p *pki) key() *gm.PrivateKey {
	p.n++
	k, err := gm.ScalarFromSeed([]byte(fmt.Sprintf("trust-test-key/%s/%d", p.ns, p.n)))
	if err != nil {
		p.t.Fatal(err)
	}
	return k
}

func newPKI(t testing.TB) *pki { return newPKINamed(t, "main") }

func newPKINamed(t testing.TB, ns string) *pki {
	t.Helper()
	p := &pki{t: t, ns: ns}
	var err error
	p.root, err = issuer.NewRoot(p.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: "测试根CA"}, Serial: 1,
		NotBefore: t0.AddDate(-5, 0, 0), NotAfter: t0.AddDate(10, 0, 0), Key: p.key()})
	if err != nil {
		t.Fatal(err)
	}
	p.gd = p.ca(p.root, "44", "广东CA", issuer.Tweak{})
	p.signer = p.sign(p.gd, "广东签名", 10, t0.AddDate(-1, 0, 0), t0.AddDate(3, 0, 0), issuer.Tweak{})
	return p
}

func (p *pki) ca(parent *issuer.Authority, prefix, cn string, tw issuer.Tweak) *issuer.Authority {
	p.t.Helper()
	a, err := parent.IssueCA(p.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: cn}, Prefix: prefix, Serial: int64(100 + p.n),
		NotBefore: t0.AddDate(-5, 0, 0), NotAfter: t0.AddDate(8, 0, 0), Key: p.key(), Tweak: tw})
	if err != nil {
		p.t.Fatal(err)
	}
	return a
}

func (p *pki) sign(parent *issuer.Authority, cn string, serial int64, from, until time.Time, tw issuer.Tweak) *issuer.Signer {
	p.t.Helper()
	s, err := parent.IssueSigner(p.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: cn}, Serial: serial,
		NotBefore: from, NotAfter: until, Key: p.key(), Tweak: tw})
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

func (p *pki) list(s *issuer.Signer, l credential.StatusList) []byte {
	p.t.Helper()
	cose, err := s.SignStatusList(p.rand(), &l)
	if err != nil {
		p.t.Fatal(err)
	}
	return cose
}

func (p *pki) crl(a *issuer.Authority, number int64, this time.Time, revoked ...*issuer.Signer) []byte {
	p.t.Helper()
	var rs []issuer.Revocation
	for _, s := range revoked {
		rs = append(rs, issuer.Revocation{Serial: s.Cert.SerialNumber, At: this.Add(-time.Hour)})
	}
	der, err := a.CRL(p.rand(), number, this, this.AddDate(0, 1, 0), rs)
	if err != nil {
		p.t.Fatal(err)
	}
	return der
}

// store opens a trust store in t.TempDir() with p's root as the anchor.
func (p *pki) store() (*Store, *storage.DB, string) {
	p.t.Helper()
	path := filepath.Join(p.t.TempDir(), "terminal.db")
	db, err := storage.Open(context.Background(), path, storage.Options{})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { db.Close() })
	s, err := New(context.Background(), db)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { s.Close() }) // waits for background merges
	if _, err := s.AddAnchors(context.Background(), issuer.CertPEM(p.root.DER)); err != nil {
		p.t.Fatal(err)
	}
	return s, db, path
}

func importBundle(t testing.TB, s *Store, build func(b *issuer.Bundle)) *Report {
	t.Helper()
	var b issuer.Bundle
	build(&b)
	rep, err := s.Import(context.Background(), b.PEM())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
