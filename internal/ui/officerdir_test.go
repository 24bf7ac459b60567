package ui

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// TestSealedOfficerDirectory: the officer directory is the key vault: the
// first officer is a supervisor created without a session, later ones
// need a signed-in supervisor; PINs below the floor are refused; five
// wrong PINs lock an officer out, also after a restart; a directory edited
// outside RoadCheck does not open.
func TestSealedOfficerDirectory(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(demoTime())
	path := filepath.Join(t.TempDir(), "cfg", "officers.db")
	d, err := OpenOfficerDirectory(path, clk, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Count(ctx); n != 0 {
		t.Fatalf("new directory has %d officers", n)
	}
	sup := Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}
	insp := Officer{ID: "1001", Name: "李明", Role: RoleInspector}
	for _, tt := range []struct {
		o    Officer
		pin  string
		want error
	}{
		{o: sup, pin: "1234", want: ErrWeakPIN},
		{o: sup, pin: "12345a", want: ErrWeakPIN},
		{o: Officer{ID: "9 1", Name: "x", Role: RoleInspector}, pin: "123456", want: ErrOfficerFields},
		{o: Officer{ID: "\x1b[31m", Name: "x", Role: RoleInspector}, pin: "123456", want: ErrOfficerFields},
		{o: Officer{ID: "9002", Role: RoleInspector}, pin: "123456", want: ErrOfficerFields},
		{o: sup, pin: "246810"},
		{o: sup, pin: "135790", want: ErrOfficerExists},
		{o: insp, pin: "112233", want: ErrNotAllowed}, // nobody signed in
	} {
		if err := d.Add(ctx, tt.o, tt.pin); !errors.Is(err, tt.want) {
			t.Errorf("Add(%+v, %q) = %v, want %v", tt.o, tt.pin, err, tt.want)
		}
	}
	if data, _ := os.ReadFile(path); bytes.Contains(data, []byte("246810")) {
		t.Error("the PIN is in the database file")
	}
	if o, err := d.SignIn(ctx, "9001", "246810"); err != nil || o != sup {
		t.Fatalf("SignIn = %+v, %v", o, err)
	}
	if err := d.Add(ctx, insp, "112233"); err != nil {
		t.Fatalf("add with the supervisor signed in: %v", err)
	}
	if _, err := d.SignIn(ctx, "4242", "246810"); !errors.Is(err, ErrSignIn) {
		t.Errorf("unknown ID: %v", err)
	}
	// MaxPINAttempts wrong PINs lock the officer out, also with the right
	// PIN and after a restart, until PINLockout has passed.
	for i := 1; i <= MaxPINAttempts; i++ {
		_, err := d.SignIn(ctx, "1001", "000000")
		if want := ErrSignIn; i == MaxPINAttempts {
			if !errors.Is(err, ErrLockedOut) {
				t.Fatalf("attempt %d: %v, want locked out", i, err)
			}
		} else if !errors.Is(err, want) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = OpenOfficerDirectory(path, clk, 1000); err != nil {
		t.Fatal(err)
	}
	_, err = d.SignIn(ctx, "1001", "112233")
	var ue *UserError
	if !errors.Is(err, ErrLockedOut) || !errors.As(err, &ue) || ue.Args[0] != "10:15" {
		t.Fatalf("locked-out sign-in after restart: %v", err)
	}
	if infos, _ := d.Officers(ctx); len(infos) != 2 || infos[0].ID != "1001" || infos[0].LockedUntil.IsZero() {
		t.Fatalf("Officers = %+v", infos)
	}
	clk.Advance(PINLockout)
	if _, err := d.SignIn(ctx, "1001", "112233"); err != nil {
		t.Fatalf("after the lock-out: %v", err)
	}
	// A supervisor resets a forgotten PIN and removes an officer.
	if err := d.ResetPIN(ctx, "1001", "445566"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("reset without a supervisor: %v", err)
	}
	if _, err := d.SignIn(ctx, "9001", "246810"); err != nil {
		t.Fatal(err)
	}
	if err := d.ResetPIN(ctx, "1001", "445566"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SignIn(ctx, "1001", "112233"); !errors.Is(err, ErrSignIn) {
		t.Errorf("the old PIN after the reset: %v", err)
	}
	if _, err := d.SignIn(ctx, "1001", "445566"); err != nil {
		t.Errorf("the new PIN: %v", err)
	}
	if err := d.Remove(ctx, "9001", "9001"); !errors.Is(err, ErrLastSupervisor) {
		t.Errorf("removing oneself: %v", err)
	}
	if err := d.Remove(ctx, "1001", "9001"); err != nil {
		t.Fatal(err)
	}
	if got := d.List(); len(got) != 1 || got[0] != sup {
		t.Errorf("List = %+v", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	// Edited outside RoadCheck (here: one byte of the stored directory,
	// as an attacker who wants another role or no lock-out would):
	// refused.
	db, err := storage.Open(ctx, path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketKeys)
		v := bytes.Clone(b.Get([]byte("dir")))
		i := bytes.Index(v, []byte("陈刚"))
		v[i+len("陈刚")-1] ^= 1
		return b.Put([]byte("dir"), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenOfficerDirectory(path, clk, 1000); !errors.Is(err, keys.ErrDirectory) {
		t.Fatalf("edited directory: %v", err)
	}
}
