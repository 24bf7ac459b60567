package trust

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// TestCorruptedDatabase damages a populated database file page by page:
// opening it and using the store must give an error or work, never panic.
func TestCorruptedDatabase(t *testing.T) {
	p := newPKI(t)
	s, db, path := p.store()
	entries := make([]credential.StatusEntry, 300)
	for i := range entries {
		entries[i] = credential.StatusEntry{IDHash: credential.IDHash(string(rune('a' + i))), Status: credential.StatusRevoked, Since: t0.Unix()}
	}
	importBundle(t, s, func(b *issuer.Bundle) {
		b.AddCert(p.gd.DER)
		b.AddCert(p.signer.DER)
		b.AddCRL(p.crl(p.gd, 1, t0))
		b.AddStatusList(p.list(p.signer, credential.StatusList{Issuer: "440100", Sequence: 1, ThisUpdate: t0.Unix(), NextUpdate: t0.Unix() + 3600, Entries: entries}))
	})
	db.Close()
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	damaged, worked := 0, 0
	for off := 0; off < len(good); off += page / 4 {
		bad := append([]byte(nil), good...)
		for i := off; i < off+64 && i < len(bad); i++ {
			bad[i] ^= 0x5a
		}
		f := filepath.Join(t.TempDir(), "bad.db")
		if err := os.WriteFile(f, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("offset %d: panic: %v", off, r)
				}
			}()
			db, err := storage.Open(context.Background(), f, storage.Options{ReadOnly: true})
			if err != nil {
				if !errors.Is(err, storage.ErrDamaged) {
					t.Fatalf("offset %d: open: %v", off, err)
				}
				damaged++
				return
			}
			defer db.Close()
			st, err := New(context.Background(), db)
			if err != nil {
				damaged++
				return
			}
			for _, c := range st.Signers(p.signer.KID[:]) {
				for _, ch := range st.Chains(c) {
					st.Revoked(ch)
					if _, _, err := st.LicenceStatus(context.Background(), ch.IssuingCA(), "440100", credential.IDHash("b"), t0); err != nil {
						damaged++
						return
					}
				}
			}
			worked++
		}()
	}
	if damaged == 0 {
		t.Fatal("no corruption was detected at all")
	}
	t.Logf("%d corruptions detected, %d left readable data", damaged, worked)
}
