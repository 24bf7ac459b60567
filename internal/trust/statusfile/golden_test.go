package statusfile

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/store")

const goldenStore = "testdata/store"

// goldenModel is the content of testdata/store: two full lists (one with
// extreme sinces), deltas making idHashes with several entries, a delta
// on a list with no full list, and a meta blob.
func goldenModel() (*model, []func(tx *Tx) error) {
	m := newModel()
	var ops []func(tx *Tx) error
	full := func(k int, es []Entry) {
		m.replace(testKey(k), es)
		ops = append(ops, func(tx *Tx) error { return tx.Replace(testKey(k), seqOf(es)) })
	}
	delta := func(k int, es []Entry) {
		m.append(testKey(k), es)
		ops = append(ops, func(tx *Tx) error { return tx.Append(testKey(k), es) })
	}
	a := make([]Entry, 300)
	for i := range a {
		a[i] = Entry{IDHash: hashN(i), Status: uint8(1 + i%2), Since: 1_700_000_000 + int64(i)*3600}
	}
	full(0, a)
	full(1, []Entry{{IDHash: hashN(1000), Status: 1, Since: -5}, {IDHash: hashN(1001), Status: 2, Since: 1 << 40}})
	delta(0, []Entry{{IDHash: hashN(3), Status: 0, Since: 1_800_000_000}, {IDHash: hashN(4), Status: 1, Since: 1_800_000_000},
		{IDHash: hashN(5000), Status: 2, Since: 1_700_000_000}})
	delta(0, []Entry{{IDHash: hashN(3), Status: 2, Since: 1_900_000_000}, {IDHash: hashN(7), Status: 1, Since: 1}})
	delta(2, []Entry{{IDHash: hashN(9), Status: 1, Since: 10}, {IDHash: hashN(9), Status: 0, Since: 20}})
	m.meta = []byte("golden meta: certificates, CRLs and list headers")
	ops = append(ops, func(tx *Tx) error { tx.SetMeta(m.meta); return nil })
	return m, ops
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	os.MkdirAll(dst, 0o755)
	for _, name := range listDir(t, src) {
		if name == lockName {
			continue
		}
		in, err := os.Open(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
}

// TestGoldenStore reads the committed store in testdata/store (the file
// format must stay readable) and compares it with the model; with -update
// it writes the store again (each operation one Update, then a Compact of
// list 1 only would change nothing: the deltas stay as overlays).
func TestGoldenStore(t *testing.T) {
	m, ops := goldenModel()
	if *update {
		os.RemoveAll(goldenStore)
		s, err := Open(context.Background(), goldenStore)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			if err := s.Update(context.Background(), op); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		os.Remove(filepath.Join(goldenStore, lockName))
	}
	dir := t.TempDir()
	copyDir(t, goldenStore, dir)
	s := openStore(t, dir)
	compareStore(t, s, m, []int64{-10, 0, 15, 25, 1_700_000_000, 1_800_000_000, 1_900_000_000, 1 << 41})
	if bad, err := s.Check(context.Background()); err != nil || len(bad) != 0 {
		t.Fatalf("Check = %v, %v", bad, err)
	}
	if st := s.Stats(); st.Overlays != 3 || st.Files != 6 {
		t.Fatalf("Stats = %+v, want 3 overlays in 6 files", st)
	}
}
