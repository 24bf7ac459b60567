package trust

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// BenchmarkImport imports a bundle of 1,000 signer certificates and a
// 10,000-entry status list into a fresh store (fsync on commit).
func BenchmarkImport(b *testing.B) {
	p := newPKI(b)
	var bundle issuer.Bundle
	bundle.AddCert(p.gd.DER)
	var first *issuer.Signer
	for i := 0; i < 1000; i++ {
		s := p.sign(p.gd, fmt.Sprintf("签名%d", i), int64(1000+i), t0.AddDate(-1, 0, 0), t0.AddDate(2, 0, 0), issuer.Tweak{})
		bundle.AddCert(s.DER)
		if first == nil {
			first = s
		}
	}
	entries := make([]credential.StatusEntry, 10000)
	for i := range entries {
		entries[i] = credential.StatusEntry{IDHash: credential.IDHash(fmt.Sprintf("licence-%d", i)), Status: credential.StatusRevoked, Since: t0.Unix()}
	}
	bundle.AddStatusList(p.list(first, credential.StatusList{Issuer: "440100", Sequence: 1, ThisUpdate: t0.Unix(), NextUpdate: t0.Add(time.Hour).Unix(), Entries: entries}))
	data := bundle.PEM()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := storage.Open(context.Background(), filepath.Join(b.TempDir(), "t.db"), storage.Options{})
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.AddAnchors(context.Background(), issuer.CertPEM(p.root.DER)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := s.Import(context.Background(), data)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if rep.Count(Stored) != 1002 {
			b.Fatalf("%d stored", rep.Count(Stored))
		}
		db.Close()
		b.StartTimer()
	}
}
