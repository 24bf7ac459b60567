package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/keys"
)

var fixedNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// FuzzParseOfficersFile feeds arbitrary files to the reader of the
// officer directory file of earlier versions: it must never panic, and
// what it accepts holds only known roles; the vault's import then takes
// only entries at or above its floor.
func FuzzParseOfficersFile(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "officers", "*.json"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		legacy, err := parseOfficersFile(data)
		if err != nil {
			return
		}
		for _, o := range legacy {
			if !o.Role.Valid() {
				t.Fatalf("accepted role %v", o.Role)
			}
		}
	})
}

// The directory file of an earlier version is read strictly, and the
// import keeps only what is at or above the floor: a hand-edited file
// cannot bring in a 1-iteration hash, a 4-digit PIN that signs in, a role
// the file was not written with, or a lock-out cleared by hand over the
// sealed directory (which, once it has officers, ignores the file).
func TestParseOfficersFile(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "officers", "two.json"))
	if err != nil {
		t.Fatal(err)
	}
	const salt, hash = `"00000000000000000000000000000000"`, `"0000000000000000000000000000000000000000000000000000000000000000"`
	tests := []struct {
		name    string
		data    string
		wantErr bool
		imports int // with the floor at 2 iterations
	}{
		{name: "good", data: string(good), imports: 2},
		{name: "not JSON", data: "{", wantErr: true},
		{name: "unknown role", data: `{"version":1,"officers":[{"id":"1001","name":"a","role":"admin","kdf":"pbkdf2-hmac-sm3","iterations":2,"salt":` + salt + `,"hash":` + hash + `}]}`, wantErr: true},
		{name: "other KDF", data: `{"version":1,"officers":[{"id":"1001","name":"a","role":"inspector","kdf":"sha1","iterations":2,"salt":` + salt + `,"hash":` + hash + `}]}`, wantErr: true},
		{name: "version 2", data: `{"version":2,"officers":[]}`, wantErr: true},
		{name: "huge iterations", data: `{"version":1,"officers":[{"id":"1001","name":"a","role":"inspector","kdf":"pbkdf2-hmac-sm3","iterations":2000000000,"salt":` + salt + `,"hash":` + hash + `}]}`},
		{name: "1 iteration", data: `{"version":1,"officers":[{"id":"1001","name":"a","role":"inspector","kdf":"pbkdf2-hmac-sm3","iterations":1,"salt":` + salt + `,"hash":` + hash + `}]}`},
		{name: "short salt", data: `{"version":1,"officers":[{"id":"1001","name":"a","role":"inspector","kdf":"pbkdf2-hmac-sm3","iterations":2,"salt":"00","hash":` + hash + `}]}`},
		{name: "escape in the ID", data: `{"version":1,"officers":[{"id":"\u001b[2J","name":"a","role":"inspector","kdf":"pbkdf2-hmac-sm3","iterations":2,"salt":` + salt + `,"hash":` + hash + `}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			legacy, err := parseOfficersFile([]byte(tt.data))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			d, err := OpenOfficerDirectory(filepath.Join(t.TempDir(), "officers.db"), clock.NewFake(fixedNow), 2)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			n, _, err := d.Vault().ImportLegacy(context.Background(), legacy)
			if err != nil || n != tt.imports {
				t.Fatalf("imported %d (%v), want %d", n, err, tt.imports)
			}
		})
	}
	// The sealed directory, once it has officers, is not overridden.
	d, err := OpenOfficerDirectory(filepath.Join(t.TempDir(), "officers.db"), clock.NewFake(fixedNow), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Add(context.Background(), Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, "246810"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), OfficersFile)
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.ImportOfficersFile(context.Background(), path); !errors.Is(err, keys.ErrOfficer) {
		t.Fatalf("import over the sealed directory: %v", err)
	}
	if got := d.List(); len(got) != 1 || got[0].ID != "9001" {
		t.Fatalf("directory after the refused import: %+v", got)
	}
}
