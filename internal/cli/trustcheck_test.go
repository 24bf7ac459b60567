package cli

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/trust"
)

// TestDamagedStatusFileIsLimitedNeverValid: after the status files are
// damaged, a licence that verified VALID is LIMITED with TRUST_STALE (never
// a silent "not revoked", never a crash); `trust status --check` names the
// damage, exits 1 and drops the lists so the next sync fetches them again.
func TestDamagedStatusFileIsLimitedNeverValid(t *testing.T) {
	dir, db := world(t)
	code := readCode(t, dir, "valid-vehicle")
	at := "2026-11-27T10:00:00+08:00"
	if r := run(t, "", "--db", db, "verify", "--at", at, code); r.code != ExitOK {
		t.Fatalf("before: exit %d %s", r.code, r.stdout)
	}
	// Damage every status file, not the one holding the metadata (the
	// certificates: damaged metadata refuses to open, a test of its own).
	anchorsPEM, err := os.ReadFile(filepath.Join(dir, "anchors.pem"))
	if err != nil {
		t.Fatal(err)
	}
	anchor, _ := pem.Decode(anchorsPEM)
	files, _ := filepath.Glob(filepath.Join(trust.DirFor(db), "*.rsf"))
	hit := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, anchor.Bytes[:64]) {
			continue
		}
		hit++
		for i := len(b) / 3; i < len(b)*2/3; i++ {
			b[i] ^= 0xa5
		}
		os.WriteFile(f, b, 0o600)
	}
	if hit == 0 {
		t.Fatal("no status files")
	}
	r := run(t, "", "--db", db, "verify", "--at", at, "--json", code)
	if r.code != 1 || !strings.Contains(r.stdout, "TRUST_STALE") {
		t.Fatalf("damaged status file: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "--db", db, "trust", "status", "--check", "--at", at)
	if r.code != 1 || !strings.Contains(r.stderr, "damaged") || !strings.Contains(r.stdout, "DAMAGED") {
		t.Fatalf("trust status --check: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Dropped, the lists stay damaged (LIMITED) until their full lists come
	// again; re-importing the bundle brings them back.
	if r := run(t, "", "--db", db, "verify", "--at", at, code); r.code != 1 {
		t.Fatalf("after check: exit %d %s", r.code, r.stdout)
	}
	if r := run(t, "", "--db", db, "trust", "import", filepath.Join(dir, "bundle.pem")); r.code != ExitOK && r.code != 1 {
		t.Fatalf("re-import: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "--db", db, "verify", "--at", at, code); r.code != ExitOK {
		t.Fatalf("after re-import: exit %d %s", r.code, r.stdout)
	}
}
