package statusfile

import (
	"context"
	"runtime"
	"testing"
)

// generationOf returns the generation a new lazy View of s sees.
func generationOf(t *testing.T, s *Store) uint64 {
	t.Helper()
	v, err := s.ViewLazy(context.Background())
	if err != nil {
		t.Fatalf("ViewLazy: %v", err)
	}
	defer v.Release()
	return v.Generation()
}

// commitOne commits one Update through s that appends one entry to key i.
func commitOne(t *testing.T, s *Store, i int) {
	t.Helper()
	err := s.Update(context.Background(), func(tx *Tx) error {
		return tx.Append(testKey(i%crashKeys), []Entry{{IDHash: hashN(i), Status: 1, Since: int64(i)}})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// TestCommitsOfAnotherStoreSeen: a commit through another Store on the
// directory (another process, as far as the counter goes: its own mapping
// of LOCK) is seen by the first View that starts after the commit
// returned, while Views between commits take the generation without a
// stat.
func TestCommitsOfAnotherStoreSeen(t *testing.T) {
	dir := t.TempDir()
	s, other := openStore(t, dir), openStore(t, dir)
	if runtime.GOOS == "linux" && (s.changes == nil || other.changes == nil) {
		t.Fatal("no commit counter on Linux")
	}
	for i := 1; i <= 20; i++ {
		writer, reader := other, s
		if i%3 == 0 {
			writer, reader = s, other
		}
		before := generationOf(t, reader)
		generationOf(t, reader) // a View between commits
		if reader.changes != nil && !reader.curCounted {
			t.Fatalf("round %d: a View between commits does not rely on the counter", i)
		}
		commitOne(t, writer, i)
		if got, want := generationOf(t, reader), generationOf(t, writer); got != want || got != before+1 {
			t.Fatalf("round %d: reader sees generation %d, writer %d (before %d)", i, got, want, before)
		}
	}
}
