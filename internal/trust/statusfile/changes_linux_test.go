//go:build linux

package statusfile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// envCommitChild names the directory in which the child process commits
// one Update (see TestMain).
const envCommitChild = "STATUSFILE_COMMIT_CHILD"

// commitChild opens the store in dir, commits one Update and exits.
func commitChild(dir string) int {
	s, err := Open(context.Background(), dir)
	if err != nil {
		return 3
	}
	defer s.Close()
	err = s.Update(context.Background(), func(tx *Tx) error {
		return tx.Append(testKey(1), []Entry{{IDHash: hashN(7), Status: 2, Since: 9}})
	})
	if err != nil {
		return 3
	}
	return 0
}

// TestCommitOfAnotherProcessSeen: a commit by another process is seen by
// the first View this process starts after that process's Update
// returned (it exits then), although Views between commits do not stat
// the manifest.
func TestCommitOfAnotherProcessSeen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	for round := 0; round < 3; round++ {
		before := generationOf(t, s)
		generationOf(t, s)
		if !s.curCounted {
			t.Fatal("a View between commits does not rely on the counter")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCommitChild+"="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v %s", err, out)
		}
		if got := generationOf(t, s); got != before+1 {
			t.Fatalf("round %d: generation %d after the child's commit, want %d", round, got, before+1)
		}
	}
}

// TestCommitKilledBetweenCounterUpdates: a writer killed after making the
// counter odd (its commit in progress) leaves readers correct: they stat
// on every call until the next commit makes the counter even again.
func TestCommitKilledBetweenCounterUpdates(t *testing.T) {
	dir := t.TempDir()
	s, other := openStore(t, dir), openStore(t, dir)
	if s.changes == nil {
		t.Fatal("no commit counter")
	}
	commitOne(t, other, 1)
	g := generationOf(t, s)
	other.changes.begin() // as a commit killed before its rename
	if n, _ := s.changes.load(); n%2 != 1 {
		t.Fatalf("counter %d after begin, want odd", n)
	}
	if generationOf(t, s) != g || s.curCounted {
		t.Fatal("a View during an unfinished commit relies on the counter")
	}
	commitOne(t, other, 2)
	if n, _ := s.changes.load(); n%2 != 0 {
		t.Fatalf("counter %d after a commit, want even", n)
	}
	if got := generationOf(t, s); got != g+1 {
		t.Fatalf("generation %d, want %d", got, g+1)
	}
	generationOf(t, s)
	if !s.curCounted {
		t.Fatal("the counter is not relied on again after the next commit")
	}
}

// TestLockTruncatedBehindTheStore: LOCK cut to nothing under open Stores
// faults their mapping of the counter; that is recovered (no crash), they
// stat every call meanwhile, and commits are still seen.
func TestLockTruncatedBehindTheStore(t *testing.T) {
	dir := t.TempDir()
	s, other := openStore(t, dir), openStore(t, dir)
	if s.changes == nil {
		t.Fatal("no commit counter")
	}
	commitOne(t, other, 1)
	g := generationOf(t, s)
	if err := os.Truncate(filepath.Join(dir, lockName), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.changes.load(); ok {
		t.Fatal("the counter reads beyond the end of LOCK")
	}
	if generationOf(t, s) != g || s.curCounted {
		t.Fatal("a View relies on a counter it cannot read")
	}
	commitOne(t, other, 2)
	if got := generationOf(t, s); got != g+1 {
		t.Fatalf("generation %d after a commit, want %d", got, g+1)
	}
	// A Store opened now grows LOCK again: the counter works again, from
	// zero, and commits keep moving it.
	third := openStore(t, dir)
	commitOne(t, third, 3)
	if got := generationOf(t, s); got != g+2 {
		t.Fatalf("generation %d after a commit, want %d", got, g+2)
	}
	generationOf(t, s)
	if !s.curCounted {
		t.Fatal("the counter is not relied on again once LOCK is whole")
	}
	commitOne(t, other, 4)
	if got := generationOf(t, s); got != g+3 {
		t.Fatalf("generation %d after a commit, want %d", got, g+3)
	}
}
