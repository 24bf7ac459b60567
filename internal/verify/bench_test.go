package verify_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/verify"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// benchCode is the demo world's kind-3 code and a warm verifier for it.
func benchCode(b *testing.B) (*verify.Verifier, *demo.World, string) {
	b.Helper()
	w, err := demo.Build(demo.DefaultSeed, demo.ReferenceTime)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range w.Samples {
		if s.Name == "valid-vehicle" {
			v := verify.New(newStore(b, w.AnchorsPEM, w.BundlePEM), nil, verify.DefaultPolicy())
			if res := v.Verify(context.Background(), s.Text, w.At); res.Verdict != verify.Valid {
				b.Fatalf("warm-up: %s %v", res.Verdict, res.Reasons)
			}
			return v, w, s.Text
		}
	}
	b.Fatal("no valid-vehicle sample")
	return nil, nil, ""
}

// BenchmarkVerify is a full offline verification of a typical kind-3 code
// against a warm trust store: decode, chain and CRL checks, one SM2 verify,
// claims, status-list lookup in bbolt.
func BenchmarkVerify(b *testing.B) {
	v, w, text := benchCode(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := v.Verify(ctx, text, w.At); res.Verdict != verify.Valid {
			b.Fatal(res.Verdict)
		}
	}
}

// BenchmarkRawSM2Verify is a bare gmsm SM2 verification of the same code's
// 64-byte signature over the same Sig_structure bytes: the floor that
// BenchmarkVerify is compared with.
func BenchmarkRawSM2Verify(b *testing.B) {
	_, w, text := benchCode(b)
	pub, msg, sig := rawSM2Input(b, w, text)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !rawSM2Verify(pub, msg, sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// rawSM2Input is what a bare verification of text's signature takes: the
// signer's key, the Sig_structure bytes and the raw r||s signature.
func rawSM2Input(b *testing.B, w *demo.World, text string) (*ecdsa.PublicKey, []byte, []byte) {
	b.Helper()
	d, err := credential.Parse(text)
	if err != nil {
		b.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(w.Signers["shenzhen"].DER)
	if err != nil {
		b.Fatal(err)
	}
	return cert.PublicKey.(*ecdsa.PublicKey), d.Sign1.SigStructure(), d.Sign1.Signature
}

// rawSM2Verify is a bare gmsm verification; the raw r||s must become DER
// for gmsm, which is part of it.
func rawSM2Verify(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	var bld cryptobyte.Builder
	bld.AddASN1(asn1.SEQUENCE, func(c *cryptobyte.Builder) {
		c.AddASN1BigInt(new(big.Int).SetBytes(sig[:32]))
		c.AddASN1BigInt(new(big.Int).SetBytes(sig[32:]))
	})
	der, _ := bld.Bytes()
	return sm2.VerifyASN1WithSM2(pub, nil, msg, der)
}
