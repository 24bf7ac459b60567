package trust

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/storage"
)

func TestSplitPEM(t *testing.T) {
	good := string(issuer.CertPEM([]byte("hello certificate")))
	tests := []struct {
		name      string
		in        string
		wantTypes []string
		wantErrs  []error
	}{
		{name: "one block", in: good, wantTypes: []string{"CERTIFICATE"}, wantErrs: []error{nil}},
		{name: "garbage around blocks", in: "junk\n" + good + "more junk\n" + good, wantTypes: []string{"CERTIFICATE", "CERTIFICATE"}, wantErrs: []error{nil, nil}},
		{name: "damaged base64", in: strings.Replace(good, "aGVs", "a!Vs", 1) + good, wantTypes: []string{"CERTIFICATE", "CERTIFICATE"}, wantErrs: []error{ErrPEM, nil}},
		{name: "truncated file", in: good + good[:40], wantTypes: []string{"CERTIFICATE", "CERTIFICATE"}, wantErrs: []error{nil, ErrPEM}},
		{name: "mismatched END", in: strings.Replace(good, "END CERTIFICATE", "END X509 CRL", 1), wantTypes: []string{"CERTIFICATE"}, wantErrs: []error{ErrPEM}},
		{name: "missing END before next block", in: good[:len(good)-26] + good, wantTypes: []string{"CERTIFICATE", "CERTIFICATE"}, wantErrs: []error{ErrPEM, nil}},
		{name: "CRLF line ends", in: strings.ReplaceAll(good, "\n", "\r\n"), wantTypes: []string{"CERTIFICATE"}, wantErrs: []error{nil}},
		{name: "empty", in: "", wantTypes: nil, wantErrs: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := SplitPEM([]byte(tt.in))
			if len(bs) != len(tt.wantTypes) {
				t.Fatalf("%d blocks, want %d: %+v", len(bs), len(tt.wantTypes), bs)
			}
			for i, b := range bs {
				if b.Type != tt.wantTypes[i] || !errors.Is(b.Err, tt.wantErrs[i]) {
					t.Fatalf("block %d: %s %v, want %s %v", i, b.Type, b.Err, tt.wantTypes[i], tt.wantErrs[i])
				}
				if b.Err == nil && string(b.Bytes) != "hello certificate" {
					t.Fatalf("block %d bytes %q", i, b.Bytes)
				}
			}
		})
	}
}

func TestAddAnchors(t *testing.T) {
	p := newPKI(t)
	s, _, _ := p.store()
	ctx := context.Background()
	tests := []struct {
		name        string
		pem         []byte
		wantOutcome Outcome
		wantErr     error
	}{
		{name: "same anchor again", pem: issuer.CertPEM(p.root.DER), wantOutcome: Unchanged},
		{name: "a CA is not self-signed", pem: issuer.CertPEM(p.gd.DER), wantErr: ErrNotSelfSigned},
		{name: "a signer", pem: issuer.CertPEM(p.signer.DER), wantErr: ErrNotSelfSigned},
		{name: "not a certificate", pem: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), wantErr: ErrParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := s.AddAnchors(ctx, tt.pem)
			if err != nil {
				t.Fatal(err)
			}
			b := rep.Blocks[0]
			if b.Outcome != tt.wantOutcome || !errors.Is(b.Err, tt.wantErr) {
				t.Fatalf("outcome %s err %v", b.Outcome, b.Err)
			}
		})
	}
	if _, err := s.AddAnchors(ctx, []byte("nothing")); !errors.Is(err, ErrNoAnchors) {
		t.Fatalf("empty anchor file: %v", err)
	}
	// A self-signed certificate that is not a CA is refused.
	leafRoot, err := issuer.NewRoot(p.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: "not a CA"}, Serial: 5,
		NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0), Key: p.key(), Tweak: issuer.Tweak{NotCA: true}})
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := s.AddAnchors(ctx, issuer.CertPEM(leafRoot.DER))
	if !errors.Is(rep.Blocks[0].Err, ErrNotCA) {
		t.Fatalf("non-CA root: %v", rep.Blocks[0].Err)
	}
}

func TestImportCertificates(t *testing.T) {
	p := newPKI(t)
	other := newPKINamed(t, "other") // a second, unrelated hierarchy
	stranger := other.ca(other.root, "44", "外来CA", issuer.Tweak{})
	sz := p.ca(p.gd, "4403", "深圳CA", issuer.Tweak{})
	badPrefix := "4"
	tests := []struct {
		name    string
		der     func() []byte
		wantErr error
	}{
		{name: "city CA inside its province", der: func() []byte { return sz.DER }},
		{name: "CA outside its parent's jurisdiction", der: func() []byte { return p.ca(p.gd, "51", "越权CA", issuer.Tweak{}).DER }, wantErr: ErrJurisdiction},
		{name: "CA without prefix attribute", der: func() []byte { return p.ca(p.root, "", "无前缀CA", issuer.Tweak{}).DER }, wantErr: ErrNoPrefix},
		{name: "CA with a 1-digit prefix", der: func() []byte { return p.ca(p.root, "4", "坏前缀CA", issuer.Tweak{RawPrefix: &badPrefix}).DER }, wantErr: ErrNoPrefix},
		{name: "CA with two prefixes", der: func() []byte { return p.ca(p.root, "44", "双前缀CA", issuer.Tweak{ExtraPrefix: "51"}).DER }, wantErr: ErrNoPrefix},
		{name: "CA without keyCertSign", der: func() []byte { return p.ca(p.root, "45", "无签发权CA", issuer.Tweak{NoCertSign: true}).DER }, wantErr: ErrNotCA},
		{name: "signer without digitalSignature", der: func() []byte {
			return p.sign(p.gd, "错用途", 77, t0, t0.AddDate(1, 0, 0), issuer.Tweak{SignerKeyUsage: x509.KeyUsageKeyEncipherment}).DER
		}, wantErr: ErrSignerUsage},
		{name: "signer marked CA", der: func() []byte {
			return p.sign(p.gd, "CA签名", 78, t0, t0.AddDate(1, 0, 0), issuer.Tweak{SignerIsCA: true}).DER
		}, wantErr: ErrNoPrefix},
		{name: "issued by an unknown CA", der: func() []byte {
			return other.sign(stranger, "外来签名", 79, t0, t0.AddDate(1, 0, 0), issuer.Tweak{}).DER
		}, wantErr: ErrUnknownIssuer},
		{name: "signature by the wrong key", der: func() []byte {
			return p.sign(p.gd, "伪造签名", 80, t0, t0.AddDate(1, 0, 0), issuer.Tweak{CorruptSignature: true}).DER
		}, wantErr: ErrBadSignature},
		{name: "anchor in a bundle", der: func() []byte { return other.root.DER }, wantErr: ErrAnchorInBundle},
		{name: "expired signer is still stored", der: func() []byte {
			return p.sign(p.gd, "过期", 81, t0.AddDate(-3, 0, 0), t0.AddDate(-2, 0, 0), issuer.Tweak{}).DER
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := p.store()
			der := tt.der()
			rep := importBundle(t, s, func(b *issuer.Bundle) {
				b.AddCert(der)
				b.AddCert(p.gd.DER)
			})
			got := rep.Blocks[0]
			if !errors.Is(got.Err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", got.Err, tt.wantErr)
			}
			if (got.Outcome == Stored) != (tt.wantErr == nil) {
				t.Fatalf("outcome %s", got.Outcome)
			}
			if rep.Blocks[1].Outcome != Stored {
				t.Fatalf("the good CA was not stored: %v", rep.Blocks[1].Err)
			}
		})
	}
	// A certificate whose only chain passes through a refused CA is refused.
	s, _, _ := p.store()
	rogue := p.ca(p.gd, "51", "越权CA2", issuer.Tweak{})
	under := p.sign(rogue, "越权签名", 90, t0, t0.AddDate(1, 0, 0), issuer.Tweak{})
	rep := importBundle(t, s, func(b *issuer.Bundle) {
		b.AddCert(under.DER)
		b.AddCert(rogue.DER)
		b.AddCert(p.gd.DER)
	})
	if rep.Blocks[0].Outcome != Skipped || rep.Blocks[1].Outcome != Skipped || rep.Blocks[2].Outcome != Stored {
		t.Fatalf("outcomes: %v %v %v", rep.Blocks[0], rep.Blocks[1], rep.Blocks[2])
	}
}

func TestImportOrderAndPersistence(t *testing.T) {
	p := newPKI(t)
	s, db, path := p.store()
	sz := p.ca(p.gd, "4403", "深圳CA", issuer.Tweak{})
	szs := p.sign(sz, "深圳签名", 11, t0.AddDate(-1, 0, 0), t0.AddDate(2, 0, 0), issuer.Tweak{})
	full := p.list(szs, credential.StatusList{Issuer: "440300", Sequence: 5, ThisUpdate: t0.Add(-48 * time.Hour).Unix(), NextUpdate: t0.Add(96 * time.Hour).Unix(),
		Entries: []credential.StatusEntry{
			{IDHash: credential.IDHash("a"), Status: credential.StatusRevoked, Since: t0.Add(-72 * time.Hour).Unix()},
			{IDHash: credential.IDHash("b"), Status: credential.StatusSuspended, Since: t0.Add(-72 * time.Hour).Unix()},
		}})
	delta := p.list(szs, credential.StatusList{Issuer: "440300", Sequence: 6, Base: 5, ThisUpdate: t0.Add(-24 * time.Hour).Unix(), NextUpdate: t0.Add(120 * time.Hour).Unix(),
		Entries: []credential.StatusEntry{
			{IDHash: credential.IDHash("b"), Status: credential.StatusActive, Since: t0.Add(-24 * time.Hour).Unix()},
			{IDHash: credential.IDHash("c"), Status: credential.StatusSuspended, Since: t0.Add(time.Hour).Unix()},
		}})
	// Children before parents, delta before its full list.
	rep := importBundle(t, s, func(b *issuer.Bundle) {
		b.AddStatusList(delta)
		b.AddCert(szs.DER)
		b.AddStatusList(full)
		b.AddCert(sz.DER)
		b.AddCert(p.gd.DER)
		b.AddCRL(p.crl(p.gd, 1, t0.Add(-time.Hour)))
	})
	if n := rep.Count(Stored); n != 6 {
		for _, b := range rep.Blocks {
			t.Log(b.Block.Type, b.Label, b.Outcome, b.Err)
		}
		t.Fatalf("%d stored, want 6", n)
	}
	check := func(s *Store) {
		t.Helper()
		signers := s.Signers(szs.KID[:])
		if len(signers) != 1 {
			t.Fatalf("kid lookup: %d signers", len(signers))
		}
		chains := s.Chains(signers[0])
		if len(chains) != 1 || len(chains[0]) != 4 || chains[0].IssuingCA().Prefix != "4403" {
			t.Fatalf("chain: %+v", chains)
		}
		ca := chains[0].IssuingCA()
		l, ok := s.List(ca, "440300")
		if !ok || l.Sequence != 6 || l.Entries != 2 {
			t.Fatalf("list: %+v %v", l, ok)
		}
		for _, tt := range []struct {
			id    string
			found bool
			st    credential.Status
		}{{"a", true, credential.StatusRevoked}, {"b", false, 0}, {"c", false, 0}, {"zzz", false, 0}} {
			e, found, err := s.LicenceStatus(context.Background(), ca, "440300", credential.IDHash(tt.id), t0)
			if err != nil || found != tt.found || (found && e.Status != tt.st) {
				t.Fatalf("status of %s: %+v %v %v", tt.id, e, found, err)
			}
		}
		// "c" takes effect one hour after t0.
		if _, found, _ := s.LicenceStatus(context.Background(), ca, "440300", credential.IDHash("c"), t0.Add(2*time.Hour)); !found {
			t.Fatal("entry c not in effect after its since")
		}
		if _, ok := s.List(p.gdAuthorityCert(s), "440300"); ok {
			t.Fatal("list stored under the wrong CA")
		}
	}
	check(s)
	db.Close()
	db2, err := storage.Open(context.Background(), path, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	s2, err := New(context.Background(), db2)
	if err != nil {
		t.Fatal(err)
	}
	check(s2)
}

// gdAuthorityCert finds the stored Guangdong CA.
func (p *pki) gdAuthorityCert(s *Store) *Cert {
	return s.snapshot().certs[HashOf(p.gd.DER)]
}

func TestImportStatusListRules(t *testing.T) {
	p := newPKI(t)
	sc := p.ca(p.root, "51", "四川CA", issuer.Tweak{})
	scs := p.sign(sc, "四川签名", 12, t0.AddDate(-1, 0, 0), t0.AddDate(2, 0, 0), issuer.Tweak{})
	expired := p.sign(p.gd, "过期签名", 13, t0.AddDate(-3, 0, 0), t0.AddDate(-2, 0, 0), issuer.Tweak{})
	revoked := p.sign(p.gd, "吊销签名", 14, t0.AddDate(-1, 0, 0), t0.AddDate(2, 0, 0), issuer.Tweak{})
	list := func(s *issuer.Signer, issuerCode string, seq, base uint64) []byte {
		return p.list(s, credential.StatusList{Issuer: issuerCode, Sequence: seq, Base: base, ThisUpdate: t0.Unix(), NextUpdate: t0.Add(time.Hour).Unix()})
	}
	base := func(b *issuer.Bundle) {
		b.AddCert(p.gd.DER)
		b.AddCert(sc.DER)
		b.AddCert(p.signer.DER)
		b.AddCert(scs.DER)
		b.AddCert(expired.DER)
		b.AddCert(revoked.DER)
		b.AddCRL(p.crl(p.gd, 1, t0.Add(-time.Hour), revoked))
		b.AddStatusList(list(p.signer, "440100", 10, 0))
	}
	tests := []struct {
		name    string
		block   []byte
		wantErr error
	}{
		{name: "next delta", block: list(p.signer, "440100", 11, 10)},
		{name: "newer full list", block: list(p.signer, "440100", 12, 0)},
		{name: "rollback", block: list(p.signer, "440100", 9, 0), wantErr: ErrRollback},
		{name: "same sequence, other bytes", block: list(p.signer, "440100", 10, 0), wantErr: ErrRollback},
		{name: "delta on the wrong base", block: list(p.signer, "440100", 12, 11), wantErr: ErrDeltaBase},
		{name: "delta with nothing stored", block: list(p.signer, "440300", 3, 2), wantErr: ErrDeltaBase},
		{name: "another province's list", block: list(scs, "440100", 11, 0), wantErr: ErrJurisdiction},
		{name: "signer expired at thisUpdate", block: list(expired, "440600", 1, 0), wantErr: ErrSignerInvalid},
		{name: "signer revoked", block: list(revoked, "440600", 1, 0), wantErr: ErrSignerRevoked},
		{name: "unknown kid", block: list(p.sign(p.gd, "未导入", 15, t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0), issuer.Tweak{}), "440600", 1, 0), wantErr: ErrUnknownIssuer},
		{name: "not a status list", block: []byte{0xa0}, wantErr: ErrStatusList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := p.store()
			setup := importBundle(t, s, base)
			for _, b := range setup.Blocks {
				if b.Outcome != Stored {
					t.Fatalf("setup block %s %s: %v", b.Block.Type, b.Label, b.Err)
				}
			}
			rep := importBundle(t, s, func(b *issuer.Bundle) { b.AddStatusList(tt.block) })
			got := rep.Blocks[0]
			if !errors.Is(got.Err, tt.wantErr) || (got.Outcome == Stored) != (tt.wantErr == nil) {
				t.Fatalf("outcome %s err %v, want %v", got.Outcome, got.Err, tt.wantErr)
			}
		})
	}
}

func TestImportCRLs(t *testing.T) {
	p := newPKI(t)
	s, _, _ := p.store()
	c1 := p.crl(p.gd, 5, t0)
	rep := importBundle(t, s, func(b *issuer.Bundle) {
		b.AddCert(p.gd.DER)
		b.AddCert(p.signer.DER)
		b.AddCRL(c1)
	})
	if rep.Count(Stored) != 3 {
		t.Fatalf("setup: %+v", rep.Blocks)
	}
	stranger := newPKINamed(t, "stranger")
	sca := stranger.ca(stranger.root, "44", "外来", issuer.Tweak{})
	tests := []struct {
		name        string
		crl         []byte
		wantOutcome Outcome
		wantErr     error
	}{
		{name: "same CRL again", crl: c1, wantOutcome: Unchanged},
		{name: "lower number", crl: p.crl(p.gd, 4, t0.Add(time.Hour)), wantErr: ErrNotNewer},
		{name: "same number, same thisUpdate", crl: p.crl(p.gd, 5, t0), wantErr: ErrNotNewer},
		{name: "unknown issuer", crl: stranger.crl(sca, 9, t0), wantErr: ErrUnknownIssuer},
		{name: "same number, later thisUpdate", crl: p.crl(p.gd, 5, t0.Add(time.Minute)), wantOutcome: Stored},
		{name: "higher number revokes the signer", crl: p.crl(p.gd, 6, t0.Add(time.Hour), p.signer), wantOutcome: Stored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := importBundle(t, s, func(b *issuer.Bundle) { b.AddCRL(tt.crl) })
			got := rep.Blocks[0]
			if got.Outcome != tt.wantOutcome || !errors.Is(got.Err, tt.wantErr) {
				t.Fatalf("outcome %s err %v", got.Outcome, got.Err)
			}
		})
	}
	signer := s.Signers(p.signer.KID[:])[0]
	if !s.Revoked(s.Chains(signer)[0]) {
		t.Fatal("signer not revoked by the newest CRL")
	}
}

func TestImportAllOrNothingOnDatabaseFailure(t *testing.T) {
	p := newPKI(t)
	s, db, path := p.store()
	db.Close()
	ro, err := storage.Open(context.Background(), path, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	s2, err := New(context.Background(), ro)
	if err != nil {
		t.Fatal(err)
	}
	var b issuer.Bundle
	b.AddCert(p.gd.DER)
	if _, err := s2.Import(context.Background(), b.PEM()); !errors.Is(err, storage.ErrReadOnly) {
		t.Fatalf("import into read-only db: %v", err)
	}
	if len(s2.snapshot().certs) != 1 {
		t.Fatal("index changed although nothing was stored")
	}
	_ = s
	if !bytes.Contains(b.PEM(), []byte("CERTIFICATE")) {
		t.Fatal("bundle empty")
	}
}
