package ui

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
)

var fixedNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// FuzzOpenOfficerDirectory feeds arbitrary files to the officer directory
// reader: it must never panic, and whatever it accepts must be usable (a
// sign-in attempt answers, within the iteration bound).
func FuzzOpenOfficerDirectory(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "officers", "*.json"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "officers.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := OpenOfficerDirectory(path, clock.NewFake(fixedNow), 2)
		if err != nil {
			return
		}
		for _, o := range d.List() {
			if o.Role < RoleInspector || o.Role > RoleSupervisor {
				t.Fatalf("accepted role %v", o.Role)
			}
		}
		for _, e := range d.file.Officers {
			if e.Iterations > maxOfficerIterations {
				t.Fatalf("accepted %d iterations", e.Iterations)
			}
		}
	})
}

func TestOpenOfficerDirectoryRefusesDamage(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "officers", "two.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    string
		wantErr bool
	}{
		{name: "good", data: string(good)},
		{name: "not JSON", data: "{", wantErr: true},
		{name: "huge iterations", data: `{"version":1,"officers":[{"id":"1001","name":"a","role":"inspector","kdf":"pbkdf2-hmac-sm3","iterations":2000000000,"salt":"00000000000000000000000000000000","hash":"0000000000000000000000000000000000000000000000000000000000000000"}]}`, wantErr: true},
		{name: "unknown role", data: `{"version":1,"officers":[{"id":"1001","name":"a","role":"admin","kdf":"pbkdf2-hmac-sm3","iterations":2,"salt":"00000000000000000000000000000000","hash":"0000000000000000000000000000000000000000000000000000000000000000"}]}`, wantErr: true},
		{name: "short salt", data: `{"version":1,"officers":[{"id":"1001","name":"a","role":"inspector","kdf":"pbkdf2-hmac-sm3","iterations":2,"salt":"00","hash":"0000000000000000000000000000000000000000000000000000000000000000"}]}`, wantErr: true},
		{name: "version 2", data: `{"version":2,"officers":[]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "officers.json")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := OpenOfficerDirectory(path, clock.NewFake(fixedNow), 2)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
