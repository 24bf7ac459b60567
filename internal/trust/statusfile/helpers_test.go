package statusfile

import (
	"os"
	"slices"
	"testing"
)

func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

// checkClean fails when dir holds a file the committed manifest does not
// account for.
func checkClean(t *testing.T, dir string) {
	t.Helper()
	s := &Store{dir: dir, files: map[uint64]*mfile{}}
	m, _, _, err := s.readManifest()
	if err != nil {
		t.Fatal(err)
	}
	keep := m.referenced()
	for _, id := range m.retired {
		keep[id] = true
	}
	for _, name := range listDir(t, dir) {
		if name == lockName || name == manifestName {
			continue
		}
		if id, ok := parseFileName(name); ok && keep[id] {
			continue
		}
		t.Errorf("stray file %s after Open", name)
	}
}
