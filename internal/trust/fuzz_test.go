package trust

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary bundles to the importer of a real store that
// holds the vectors' anchor: it must never panic, and every block must be
// reported with an outcome.
func FuzzImport(f *testing.F) {
	ctxs, _ := filepath.Glob(filepath.Join("..", "verify", "testdata", "vectors", "contexts", "*", "bundle.pem"))
	for _, name := range ctxs {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // a truncated file
	}
	anchors, err := os.ReadFile(filepath.Join("..", "verify", "testdata", "vectors", "contexts", "main", "anchors.pem"))
	if err != nil {
		f.Fatal(err)
	}
	p := newPKI(f)
	s, _, _ := p.store()
	if _, err := s.AddAnchors(context.Background(), anchors); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, bundle []byte) {
		rep, err := s.Import(context.Background(), bundle)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(SplitPEM(bundle)); len(rep.Blocks) != n {
			t.Fatalf("%d blocks reported, %d in input", len(rep.Blocks), n)
		}
		for _, b := range rep.Blocks {
			if (b.Outcome == Skipped) != (b.Err != nil) {
				t.Fatalf("block %d: outcome %s with err %v", b.Block.Index, b.Outcome, b.Err)
			}
		}
	})
}

// FuzzSplitPEM checks the PEM splitter on arbitrary input.
func FuzzSplitPEM(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "verify", "testdata", "vectors", "contexts", "main", "bundle.pem"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("-----BEGIN X-----\n-----END X-----\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, b := range SplitPEM(in) {
			if (b.Err == nil) == (b.Bytes == nil && b.Type != "") && b.Err == nil && len(b.Bytes) != 0 {
				t.Fatalf("block %d inconsistent", b.Index)
			}
		}
	})
}
