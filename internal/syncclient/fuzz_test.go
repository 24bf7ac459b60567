package syncclient

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// FuzzCheckManifest feeds arbitrary JSON to the trust manifest's checks: no
// panic, and a manifest accepted has whole chains and positive sizes, and
// plans only objects it names.
func FuzzCheckManifest(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"epoch":{"hub":"x"},"seq":1,"certs":[],"crls":[],"lists":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var wm wire.TrustManifest
		if json.Unmarshal(b, &wm) != nil {
			return
		}
		m, err := checkManifest(&wm)
		if err != nil {
			return
		}
		named := map[trust.Hash]bool{}
		for _, c := range m.certs {
			named[c.digest] = c.size > 0
		}
		for _, c := range m.crls {
			named[c.digest] = c.size > 0
		}
		for _, l := range m.lists {
			named[l.full.digest] = l.full.size > 0
			prev := l.fullSeq
			for _, d := range l.deltas {
				if d.base != prev || d.seq <= d.base || d.item.size <= 0 {
					t.Fatalf("accepted a broken chain in %s", l.ref)
				}
				named[d.item.digest] = true
				prev = d.seq
			}
		}
		empty := trust.Holdings{Certs: map[trust.Hash]bool{}, CRLs: map[trust.Hash]trust.Hash{}, Lists: map[trust.ListRef]trust.ListHolding{}}
		for _, it := range plan(m, empty, func(trust.Hash) bool { return false }, nil) {
			if !named[it.digest] {
				t.Fatalf("planned object %s is not in the manifest, or has no size", it.digest)
			}
		}
	})
}
