package national_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/demo/national"
)

// FuzzParseManifest: any input is a manifest or an ErrManifest error, and
// a manifest survives a round trip unchanged.
func FuzzParseManifest(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "tiny-manifest.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add(bytes.Replace(seed, []byte(`"path": "lists/`), []byte(`"path": "../`), 1))
	f.Add([]byte(`{"format":"roadcheck-national/1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := national.ParseManifest(b)
		if err != nil {
			if !errors.Is(err, national.ErrManifest) {
				t.Fatalf("error %v does not wrap ErrManifest", err)
			}
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := national.ParseManifest(out)
		if err != nil {
			t.Fatalf("a parsed manifest does not parse again: %v", err)
		}
		out2, err := json.Marshal(m2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the manifest:\n%s\n%s", out, out2)
		}
	})
}
