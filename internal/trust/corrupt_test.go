package trust

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// damagedWorld is a store holding one CA, one signer, a CRL and a list of
// 3,000 revoked licences, closed; it returns its directory, the list and
// the store's directory listing.
func damagedWorld(t *testing.T) (p *pki, dir string, list []byte) {
	p = newPKI(t)
	s, db, _ := p.store()
	entries := make([]credential.StatusEntry, 3000)
	for i := range entries {
		entries[i] = credential.StatusEntry{IDHash: credential.IDHash(string(rune(0x4e00 + i))), Status: credential.StatusRevoked, Since: t0.Unix() - 3600}
	}
	list = p.list(p.signer, credential.StatusList{Issuer: "440100", Sequence: 1, ThisUpdate: t0.Unix(), NextUpdate: t0.Unix() + 3600, Entries: entries})
	importBundle(t, s, func(b *issuer.Bundle) {
		b.AddCert(p.gd.DER)
		b.AddCert(p.signer.DER)
		b.AddCRL(p.crl(p.gd, 1, t0))
		b.AddStatusList(list)
	})
	dir = s.Dir()
	s.Close()
	db.Close()
	return p, dir, list
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "trust")
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestDamagedTrustFiles flips bytes all over every trust file. Opening and
// using the store must then give an error, report the list damaged, or
// answer correctly — never panic and never say a revoked licence has no
// status (a silent "nothing revoked").
func TestDamagedTrustFiles(t *testing.T) {
	p, dir, _ := damagedWorld(t)
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	detected, correct := 0, 0
	for _, e := range es {
		if e.IsDir() || e.Name() == "LOCK" {
			continue
		}
		size := fileSize(t, filepath.Join(dir, e.Name()))
		step := max(size/40, 1)
		for off := int64(0); off < size; off += step {
			d := copyDir(t, dir)
			f := filepath.Join(d, e.Name())
			b, _ := os.ReadFile(f)
			for i := off; i < off+8 && i < int64(len(b)); i++ {
				b[i] ^= 0x5a
			}
			os.WriteFile(f, b, 0o600)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s at %d: panic: %v", e.Name(), off, r)
					}
				}()
				st, err := Open(ctx, d, Options{ReadOnly: true})
				if err != nil {
					if !errors.Is(err, ErrDamaged) {
						t.Fatalf("%s at %d: open: %v (want ErrDamaged)", e.Name(), off, err)
					}
					detected++
					return
				}
				defer st.Close()
				signers := st.Signers(p.signer.KID[:])
				if len(signers) == 0 {
					detected++ // the certificate did not survive: UNKNOWN_SIGNER
					return
				}
				ca := st.Chains(signers[0])[0].IssuingCA()
				l, ok := st.List(ca, "440100")
				if !ok || l.Damaged {
					detected++
					return
				}
				for i := 0; i < 3000; i += 97 {
					_, found, err := st.LicenceStatus(ctx, ca, "440100", credential.IDHash(string(rune(0x4e00+i))), t0)
					if errors.Is(err, ErrDamaged) {
						detected++
						return
					}
					if err != nil {
						t.Fatalf("%s at %d: lookup: %v", e.Name(), off, err)
					}
					if !found {
						t.Fatalf("%s at %d: revoked licence %d silently has no status", e.Name(), off, i)
					}
				}
				correct++
			}()
		}
	}
	if detected == 0 {
		t.Fatal("no damage was detected at all")
	}
	t.Logf("%d damaged copies detected, %d answered correctly", detected, correct)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestDamagedListIsFetchedAgain: a lookup that finds the entry file damaged
// marks the list; Holdings stops naming it (so sync fetches its full list),
// and the same full list, imported again, repairs it.
func TestDamagedListIsFetchedAgain(t *testing.T) {
	p, dir, list := damagedWorld(t)
	ctx := context.Background()
	// Damage the entry data of every status file (not the manifest or the metadata).
	es, _ := os.ReadDir(dir)
	hit := 0
	for _, e := range es {
		f := filepath.Join(dir, e.Name())
		if e.IsDir() || fileSize(t, f) < 40000 {
			continue
		}
		b, _ := os.ReadFile(f)
		for i := 2000; i < len(b)-20000; i += 512 {
			b[i] ^= 0xff
		}
		os.WriteFile(f, b, 0o600)
		hit++
	}
	if hit == 0 {
		t.Fatal("no entry file found to damage")
	}
	st, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bad, err := st.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].Issuer != "440100" {
		t.Fatalf("Check found %v", bad)
	}
	ca := st.Chains(st.Signers(p.signer.KID[:])[0])[0].IssuingCA()
	if l, ok := st.List(ca, "440100"); !ok || !l.Damaged {
		t.Fatalf("list after Check: %+v %v, want damaged", l, ok)
	}
	if _, found, err := st.LicenceStatus(ctx, ca, "440100", credential.IDHash(string(rune(0x4e00))), t0); found || !errors.Is(err, ErrDamaged) {
		t.Fatalf("lookup in a damaged list: found %v err %v", found, err)
	}
	if _, held := st.Holdings().Lists[ListRef{CA: ca.Hash, Issuer: "440100"}]; held {
		t.Fatal("Holdings still names the damaged list")
	}
	rep, err := st.ImportObjects(ctx, []Object{{Type: BlockStatusList, Digest: HashOf(list), Load: func() ([]byte, error) { return list, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Blocks[0]; got.Outcome != Stored {
		t.Fatalf("re-import of the full list: %s %v", got.Outcome, got.Err)
	}
	if l, ok := st.List(ca, "440100"); !ok || l.Damaged || l.Entries != 3000 {
		t.Fatalf("list after repair: %+v", l)
	}
	if _, found, err := st.LicenceStatus(ctx, ca, "440100", credential.IDHash(string(rune(0x4e00+5))), t0); !found || err != nil {
		t.Fatalf("lookup after repair: found %v err %v", found, err)
	}
}
