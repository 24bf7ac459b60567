package keys

import (
	"os"
	"path/filepath"
	"testing"
)

func seeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	if len(files) == 0 {
		f.Fatalf("no seeds testdata/%s", pattern)
	}
	for _, s := range files {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseDirectory: the directory parser never panics, and what it
// accepts is within the limits.
func FuzzParseDirectory(f *testing.F) {
	seeds(f, "directory-*.cbor")
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseDirectory(data, 2)
		if err != nil {
			return
		}
		for _, e := range d.Officers {
			if !ValidOfficerID(e.ID) || !e.Role.Valid() || e.Iter < 2 || e.Iter > maxIterations || e.PINLen < MinPINLength {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}

// FuzzParseSlot: the legacy key-slot parser never panics and bounds the
// PBKDF2 cost it accepts.
func FuzzParseSlot(f *testing.F) {
	seeds(f, "slot-*.cbor")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSlot(data)
		if err != nil {
			return
		}
		if s.Iter > maxSlotIterations || len(s.Salt) != 16 {
			t.Fatalf("accepted %+v", s)
		}
	})
}
