package statusfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// damageFixture builds a store with two full lists (key 0 and 1), a delta
// on key 0 and a meta blob, and returns its model.
func damageFixture(t *testing.T, dir string) *model {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := newModel()
	full := func(k, from int) []Entry {
		es := make([]Entry, 1500)
		for i := range es {
			es[i] = Entry{IDHash: hashN(from + i), Status: uint8(1 + i%2), Since: int64(i)}
		}
		return es
	}
	err = s.Update(context.Background(), func(tx *Tx) error {
		for k := 0; k < 2; k++ {
			es := full(k, k*100000)
			m.replace(testKey(k), es)
			if err := tx.Replace(testKey(k), seqOf(es)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	delta := []Entry{{IDHash: hashN(3), Status: 0, Since: 1}, {IDHash: hashN(7), Status: 2, Since: 9000}}
	for i := 0; i < 300; i++ { // an overlay of several leaves
		delta = append(delta, Entry{IDHash: hashN(i * 7), Status: uint8(i % 3), Since: int64(i * 10)})
	}
	m.append(testKey(0), delta)
	m.meta = []byte("certificates and CRLs")
	if err := s.Update(context.Background(), func(tx *Tx) error {
		tx.SetMeta(m.meta)
		return tx.Append(testKey(0), delta)
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func readManifestOf(t *testing.T, dir string) *manifest {
	t.Helper()
	m, _, _, err := (&Store{dir: dir, files: map[uint64]*mfile{}}).readManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if off < 0 {
		st, _ := f.Stat()
		off += st.Size()
	}
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// lookupAll looks up every hash of every list; it fails on a wrong answer
// and returns the errors by key.
func lookupAll(t *testing.T, v *View, m *model) map[Key][]error {
	t.Helper()
	errs := map[Key][]error{}
	for _, k := range m.keys() {
		for _, h := range m.hashes(k) {
			for _, at := range []int64{1000, 10000} {
				got, ok, err := v.Lookup(k, h, at)
				if err != nil {
					errs[k] = append(errs[k], err)
					continue
				}
				want, wantOK := m.lookup(k, h, at)
				if ok != wantOK || got != want {
					t.Fatalf("Lookup(%v, %x, %d) = %v %v, want %v %v", k, h[:4], at, got, ok, want, wantOK)
				}
			}
		}
	}
	return errs
}

// TestDamagedListFile: damage in one list's files is reported for that
// list only, by Lookup (a *KeyError wrapping ErrDamaged, never a wrong
// answer or a crash) and by Check; dropping and replacing the list heals.
func TestDamagedListFile(t *testing.T) {
	base := func(m *manifest) fileInfo { k, _ := m.findKey(testKey(0)); return m.files[m.keys[k].runs[0].file] }
	seg := func(m *manifest) fileInfo { k, _ := m.findKey(testKey(0)); return m.files[m.keys[k].runs[1].file] }
	tests := []struct {
		name   string
		file   func(*manifest) fileInfo
		damage func(t *testing.T, path string, fi fileInfo)
	}{
		{"data byte", base, func(t *testing.T, p string, fi fileInfo) { flipByte(t, p, 5000) }},
		{"digest node", base, func(t *testing.T, p string, fi fileInfo) { flipByte(t, p, -fi.hdrLen-40) }},
		{"header root", base, func(t *testing.T, p string, fi fileInfo) { flipByte(t, p, -3) }},
		{"header magic", base, func(t *testing.T, p string, fi fileInfo) { flipByte(t, p, -fi.hdrLen) }},
		{"data magic", base, func(t *testing.T, p string, fi fileInfo) { flipByte(t, p, 0) }},
		{"truncated", base, func(t *testing.T, p string, fi fileInfo) { os.Truncate(p, fi.size-1) }},
		{"missing", base, func(t *testing.T, p string, fi fileInfo) { os.Remove(p) }},
		{"overlay byte", seg, func(t *testing.T, p string, fi fileInfo) { flipByte(t, p, 20) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			m := damageFixture(t, dir)
			fi := tc.file(readManifestOf(t, dir))
			tc.damage(t, filepath.Join(dir, fileName(fi.id)), fi)
			s := openStore(t, dir)
			v, err := s.View(ctx)
			if err != nil {
				t.Fatal(err)
			}
			errs := lookupAll(t, v, m)
			v.Release()
			if len(errs[testKey(0)]) == 0 || len(errs) != 1 {
				t.Fatalf("lookup errors %v, want some for key 0 only", errs)
			}
			for _, err := range errs[testKey(0)] {
				var ke *KeyError
				if !errors.Is(err, ErrDamaged) || !errors.As(err, &ke) || ke.Key != testKey(0) {
					t.Fatalf("error %v: want a *KeyError for key 0 wrapping ErrDamaged", err)
				}
			}
			bad, err := s.Check(ctx)
			if err != nil || !slices.Equal(bad, []Key{testKey(0)}) {
				t.Fatalf("Check = %v, %v; want key 0", bad, err)
			}
			// Compact leaves the damaged list and reports it.
			if err := s.Compact(ctx); !errors.Is(err, ErrDamaged) {
				t.Fatalf("Compact = %v, want ErrDamaged", err)
			}
			// Heal: drop and fetch the list again.
			es := m.lists[testKey(0)][:1500]
			m.replace(testKey(0), es)
			if err := s.Update(ctx, func(tx *Tx) error {
				tx.Drop(testKey(0))
				return tx.Replace(testKey(0), seqOf(es))
			}); err != nil {
				t.Fatal(err)
			}
			compareStore(t, s, m, []int64{0, 2500, 10000})
			if bad, err := s.Check(ctx); err != nil || len(bad) != 0 {
				t.Fatalf("Check after heal = %v, %v", bad, err)
			}
		})
	}
}

// TestTruncatedWhileMapped: a file truncated under a live mapping gives
// ErrDamaged (the fault is recovered), not a crash. (The first page stays
// as it was: bytes already verified are not checked again.)
func TestTruncatedWhileMapped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := damageFixture(t, dir)
	fi := readManifestOf(t, dir).files[readManifestOf(t, dir).keys[0].runs[0].file]
	s := openStore(t, dir)
	v, err := s.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if _, _, err := v.Lookup(testKey(0), hashN(0), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, fileName(fi.id)), 4096); err != nil {
		t.Fatal(err)
	}
	errs := lookupAll(t, v, m)
	if len(errs[testKey(0)]) == 0 {
		t.Fatal("no error after truncation")
	}
	for _, err := range errs[testKey(0)] {
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("error %v, want ErrDamaged", err)
		}
	}
}

// TestDamagedManifestAndMeta: a damaged manifest or meta blob fails View,
// Update and Check with ErrDamaged (a ViewLazy fails at LoadMeta and
// ReadMeta; Open still works and removes nothing); Reset makes an empty
// store again.
func TestDamagedManifestAndMeta(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(dir string) string
	}{
		{"manifest", func(dir string) string { return filepath.Join(dir, manifestName) }},
		{"meta", func(dir string) string { return filepath.Join(dir, fileName(readManifestOf(t, dir).meta)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			damageFixture(t, dir)
			flipByte(t, tc.path(dir), 30)
			files := listDir(t, dir)
			s := openStore(t, dir)
			if got := listDir(t, dir); !slices.Equal(got, files) {
				t.Fatalf("Open removed files: %v -> %v", files, got)
			}
			if _, err := s.View(ctx); !errors.Is(err, ErrDamaged) {
				t.Fatalf("View = %v, want ErrDamaged", err)
			}
			if tc.name == "manifest" {
				if _, err := s.ViewLazy(ctx); !errors.Is(err, ErrDamaged) {
					t.Fatalf("ViewLazy = %v, want ErrDamaged", err)
				}
			} else {
				v, err := s.ViewLazy(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.LoadMeta(); !errors.Is(err, ErrDamaged) {
					t.Fatalf("LoadMeta = %v, want ErrDamaged", err)
				}
				if _, err := v.ReadMeta(0, 10); !errors.Is(err, ErrDamaged) {
					t.Fatalf("ReadMeta = %v, want ErrDamaged", err)
				}
				if v.Meta() != nil {
					t.Fatal("Meta of a damaged blob is not nil")
				}
				v.Release()
			}
			if _, err := s.Check(ctx); !errors.Is(err, ErrDamaged) {
				t.Fatalf("Check = %v, want ErrDamaged", err)
			}
			err := s.Update(ctx, func(tx *Tx) error { return tx.Append(testKey(5), nil) })
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("Update = %v, want ErrDamaged", err)
			}
			if err := s.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			compareStore(t, s, newModel(), nil)
			checkClean(t, dir)
		})
	}
}

// TestOpenRemovesOrphans: files of an unfinished commit go at Open, and
// files a View of this process still uses stay until it is released.
func TestOpenRemovesOrphans(t *testing.T) {
	dir := t.TempDir()
	m := damageFixture(t, dir)
	want := listDir(t, dir)
	for _, name := range []string{fileName(999), manifestTmp} {
		os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "README"), []byte("not ours"), 0o644)
	s := openStore(t, dir)
	if got := listDir(t, dir); !slices.Equal(got, append(want, "README")) {
		t.Fatalf("files after Open: %v, want %v", got, want)
	}
	compareStore(t, s, m, []int64{0, 10000})
}

// TestLockedWriter: an Update waits for another process's writer and gives
// up with ErrLocked when its context ends.
func TestLockedWriter(t *testing.T) {
	dir := t.TempDir()
	a, b := openStore(t, dir), openStore(t, dir)
	inside, release := make(chan struct{}), make(chan struct{})
	go a.Update(context.Background(), func(tx *Tx) error {
		close(inside)
		<-release
		return nil
	})
	<-inside
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := b.Update(ctx, func(tx *Tx) error { return nil })
	close(release)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Update = %v, want ErrLocked", err)
	}
	if err := b.Update(context.Background(), func(tx *Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
