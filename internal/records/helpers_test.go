package records

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, credential.CST())

type fixture struct {
	path  string
	db    *storage.DB
	store *Store
	clk   *clock.Fake
}

// newFixture opens a fresh store in a temporary directory with a key file.
func newFixture(t testing.TB, sopts storage.Options) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "terminal.db"), clk: clock.NewFake(t0)}
	f.reopen(t, sopts)
	return f
}

func (f *fixture) reopen(t testing.TB, sopts storage.Options) {
	t.Helper()
	if f.db != nil {
		f.db.Close()
	}
	db, err := storage.Open(context.Background(), f.path, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(context.Background(), db, KeyFile(KeyFilePath(f.path)), Options{Clock: f.clk, DeviceID: "T-TEST-1"})
	if err != nil {
		t.Fatal(err)
	}
	f.db, f.store = db, s
}

// sampleCheck is a vehicle check with personal data.
func sampleCheck(i int) Check {
	return Check{
		Officer:  "010203",
		Location: &Location{Lat: 22.543096, Lon: 114.057865, Place: "G4 京港澳高速 K12+300"},
		KID:      []byte{1, 2, 3, 4, 5, 6, 7, 8},
		IDHash:   []byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, byte(i)},
		Number:   "粤交运管深字440300123456号",
		Kind:     credential.KindVehicle,
		Verdict:  verify.Limited,
		Reasons:  []verify.Reason{verify.StatusUnknown},
		Action:   ActionRelease,
		Notes:    "例行检查",
		Holder:   "深圳市顺达货运有限公司",
		HolderID: "91440300MA5XXXXXX1",
		Plate:    "粤B12345",
	}
}

func mustAppend(t testing.TB, s *Store, c Check) *Record {
	t.Helper()
	r, err := s.Append(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
