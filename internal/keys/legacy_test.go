package keys

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
)

func legacyOfficer(t *testing.T, id string, role Role, pin string, iter int) LegacyOfficer {
	t.Helper()
	salt := make([]byte, 16)
	rand.Read(salt)
	h, err := pbkdfForTest(pin, salt, iter)
	if err != nil {
		t.Fatal(err)
	}
	return LegacyOfficer{ID: id, Name: "官员 " + id, Role: role, Iterations: iter, Salt: salt, Hash: h}
}

// TestImportLegacy: the officers of an earlier version's directory file
// come into the vault once; below-floor entries are skipped; each
// officer's first sign-in moves them to a sealed slot with the data key
// their old PIN slot unlocks, and the old slots go; a PIN below the floor
// is refused until a supervisor resets it.
func TestImportLegacy(t *testing.T) {
	ctx := context.Background()
	for name, mk := range devices(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := openDB(t, filepath.Join(dir, "terminal.db"))
			// A terminal of the earlier GUI: per-officer PIN slots (with a
			// low PBKDF2 count: the test's speed).
			k, err := Create(ctx, db, withParams(OfficerPIN("1001", "100110"), 1000), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			for id, pin := range map[string]string{"9001": "900190", "4004": "1234"} {
				if err := AddSlot(ctx, db, k, withParams(OfficerPIN(id, pin), 1000)); err != nil {
					t.Fatal(err)
				}
			}
			clk := clock.NewFake(t0)
			v, err := OpenVault(ctx, db, mk(dir), VaultOptions{Clock: clk, Iterations: 1000})
			if err != nil {
				t.Fatal(err)
			}
			n, skipped, err := v.ImportLegacy(ctx, []LegacyOfficer{
				legacyOfficer(t, "1001", RoleInspector, "100110", 1000),
				legacyOfficer(t, "9001", RoleSupervisor, "900190", 1000),
				legacyOfficer(t, "4004", RoleInspector, "1234", 1000),       // a hand-edited 4-digit PIN
				legacyOfficer(t, "7007", RoleSupervisor, "700770", 1),       // a 1-iteration hash
				legacyOfficer(t, "x\x1b[2J", RoleInspector, "111111", 1000), // an escape sequence
			})
			if err != nil || n != 3 || len(skipped) != 2 || skipped[0].ID != "7007" {
				t.Fatalf("import: %d %+v %v", n, skipped, err)
			}
			if o, ok := v.Officer("1001"); !ok || !o.Legacy {
				t.Fatalf("imported officer: %+v", o)
			}
			if _, _, err := v.ImportLegacy(ctx, nil); !errors.Is(err, ErrOfficer) {
				t.Fatalf("second import: %v", err)
			}
			if _, err := v.SignIn(ctx, "1001", "100111"); !errors.Is(err, ErrSignIn) {
				t.Fatalf("wrong PIN: %v", err)
			}
			s, err := v.SignIn(ctx, "1001", "100110")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Keyring().PublicDER(), k.PublicDER()) {
				t.Fatal("another keyring after the migration")
			}
			if o, _ := v.Officer("1001"); o.Legacy || o.Failures != 0 {
				t.Fatalf("after the first sign-in: %+v", o)
			}
			if _, err := v.SignIn(ctx, "4004", "1234"); !errors.Is(err, ErrWeakPIN) {
				t.Fatalf("4-digit PIN: %v", err)
			}
			sup, err := v.SignIn(ctx, "9001", "900190")
			if err != nil {
				t.Fatal(err)
			}
			if err := sup.ResetPIN(ctx, "4004", "400440"); err != nil {
				t.Fatal(err)
			}
			if _, err := v.SignIn(ctx, "4004", "400440"); err != nil {
				t.Fatalf("after the reset: %v", err)
			}
			// Every officer is sealed now: the old PIN slots are gone, so a
			// copy of the database no longer yields to a PIN search alone.
			if slots, err := Slots(ctx, db); err != nil || len(slots) != 0 {
				t.Fatalf("legacy slots left: %v %v", slots, err)
			}
			// Reopened, the directory is what was written.
			v2 := openVault(t, db, mk(dir), clk)
			if got := v2.Officers(); len(got) != 3 || got[0].Legacy || got[1].Legacy || got[2].Legacy {
				t.Fatalf("reopened: %+v", got)
			}
		})
	}
}

// TestImportLegacyFreshTerminal: officers imported on a terminal that
// never stored a record: the first sign-in creates the device keys.
func TestImportLegacyFreshTerminal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "terminal.db"))
	v := openVault(t, db, FileDevice(filepath.Join(dir, "terminal.db.device")), clock.NewFake(t0))
	if n, _, err := v.ImportLegacy(ctx, []LegacyOfficer{legacyOfficer(t, "9001", RoleSupervisor, "900190", 2)}); err != nil || n != 1 {
		t.Fatalf("import: %d %v", n, err)
	}
	s, err := v.SignIn(ctx, "9001", "900190")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := Exists(ctx, db); !ok || s.Keyring() == nil {
		t.Fatal("no device keys after the first sign-in")
	}
	if _, err := v.SignIn(ctx, "9001", "900190"); err != nil {
		t.Fatalf("second sign-in: %v", err)
	}
}
