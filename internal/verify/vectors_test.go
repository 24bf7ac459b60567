package verify_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var update = flag.Bool("update", false, "regenerate testdata/vectors")

// Vector is one conformance case, in the style of the EU DCC's
// dgc-testdata: a context (anchors and bundle files), a check time and
// policy, the QR text, and the expected verdict and reasons.
type Vector struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Covers      []string `json:"covers,omitempty"` // spec rules this case pins
	Context     string   `json:"context"`          // directory under testdata/vectors/contexts
	CheckTime   string   `json:"checkTime"`        // RFC 3339, fraction of a second allowed
	Policy      struct {
		ClockSkewSeconds   int64 `json:"clockSkewSeconds"`
		MaxTrustAgeSeconds int64 `json:"maxTrustAgeSeconds"`
	} `json:"policy"`
	QR       string `json:"qr"`
	Expected struct {
		Verdict string   `json:"verdict"`
		Reasons []string `json:"reasons"`
	} `json:"expected"`
}

const vectorDir = "testdata/vectors"

func loadVectors(t *testing.T) []Vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(vectorDir, "cases", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors (%v): go test ./internal/verify -run TestVectors -update", err)
	}
	var out []Vector
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v Vector
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, v)
	}
	return out
}

// TestVectors runs every conformance vector against a fresh trust store
// built from its context.
func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	vectors := loadVectors(t)
	stores := map[string]*verify.Verifier{}
	covered := map[string]bool{}
	for _, v := range vectors {
		if _, ok := stores[v.Context]; ok {
			continue
		}
		stores[v.Context] = verify.New(contextStore(t, v.Context), nil, verify.Policy{})
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			ver := stores[v.Context]
			at, err := time.Parse(time.RFC3339Nano, v.CheckTime)
			if err != nil {
				t.Fatal(err)
			}
			pol := verify.Policy{ClockSkew: time.Duration(v.Policy.ClockSkewSeconds) * time.Second, MaxTrustAge: time.Duration(v.Policy.MaxTrustAgeSeconds) * time.Second}
			res := ver.WithPolicy(pol).Verify(context.Background(), v.QR, at)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			got := reasonCodes(res.Reasons)
			if res.Verdict.String() != v.Expected.Verdict || !slices.Equal(got, v.Expected.Reasons) {
				t.Fatalf("%s\ngot  %s %v\nwant %s %v\ndetail: %v", v.Description, res.Verdict, got, v.Expected.Verdict, v.Expected.Reasons, res.Detail)
			}
			for _, r := range got {
				covered[r] = true
			}
			for _, c := range v.Covers {
				covered[c] = true
			}
		})
	}
	for _, r := range verify.AllReasons() {
		if !covered[r.String()] {
			t.Errorf("no vector expects %s", r)
		}
	}
	for n := 1; n <= 21; n++ {
		if c := fmt.Sprintf("clarification:%d", n); !covered[c] {
			t.Errorf("no vector covers %s", c)
		}
	}
	for _, limit := range []string{"limit:text-length", "limit:inflated-size", "limit:depth-cose", "limit:depth-protected",
		"limit:depth-payload", "limit:duplicate-keys", "limit:indefinite-length", "limit:trailing-bytes",
		"limit:base45-alphabet", "limit:base45-triple", "limit:base45-pair", "limit:zlib-required"} {
		if !covered[limit] {
			t.Errorf("no vector covers %s", limit)
		}
	}
}

// Imports is a context's imports.json: the bundle files imported, in
// order, after anchors.pem, and what the import must report for each block
// (RTC1 section 6 and clarifications 10–17). A context without it has one
// bundle.pem whose every block must be stored.
type Imports struct {
	Imports []ImportStep `json:"imports"`
}

// ImportStep is one import of a bundle file.
type ImportStep struct {
	File string `json:"file"`
	// Outcomes per PEM block in file order: "stored", "unchanged" or
	// "skipped" (reported and not stored).
	Outcomes []string `json:"outcomes"`
	// Complete is true when every block is stored or unchanged: the import
	// command exits 0 (clarification 15), else 1.
	Complete bool `json:"complete"`
	// Notes says, per skipped block, why (for people; not checked).
	Notes []string `json:"notes,omitempty"`
}

// contextStore builds a fresh trust store from a vector context, checking
// every import against the context's imports.json.
func contextStore(t *testing.T, name string) *trust.Store {
	t.Helper()
	dir := filepath.Join(vectorDir, "contexts", name)
	anchors, err := os.ReadFile(filepath.Join(dir, "anchors.pem"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile(filepath.Join(dir, "imports.json"))
	if os.IsNotExist(err) {
		bundle, err := os.ReadFile(filepath.Join(dir, "bundle.pem"))
		if err != nil {
			t.Fatal(err)
		}
		return newStore(t, anchors, bundle)
	}
	if err != nil {
		t.Fatal(err)
	}
	var imp Imports
	if err := json.Unmarshal(spec, &imp); err != nil {
		t.Fatalf("%s/imports.json: %v", name, err)
	}
	st := newStore(t, anchors, nil)
	for _, step := range imp.Imports {
		bundle, err := os.ReadFile(filepath.Join(dir, step.File))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := st.Import(context.Background(), bundle)
		if err != nil {
			t.Fatalf("context %s, %s: %v", name, step.File, err)
		}
		var got []string
		complete := true
		for _, b := range rep.Blocks {
			got = append(got, b.Outcome.String())
			complete = complete && b.Outcome != trust.Skipped
		}
		if !slices.Equal(got, step.Outcomes) || complete != step.Complete {
			for _, b := range rep.Blocks {
				t.Logf("  block %d %s %s: %s %v", b.Block.Index, b.Block.Type, b.Label, b.Outcome, b.Err)
			}
			t.Errorf("context %s, %s: outcomes %v (complete %v), want %v (complete %v)", name, step.File, got, complete, step.Outcomes, step.Complete)
		}
	}
	return st
}

// TestVectorNames keeps file names and vector names in step.
func TestVectorNames(t *testing.T) {
	for _, v := range loadVectors(t) {
		if _, err := os.Stat(filepath.Join(vectorDir, "cases", v.Name+".json")); err != nil {
			t.Errorf("vector %q is not in %s.json", v.Name, v.Name)
		}
		if !strings.HasPrefix(v.Expected.Verdict, "VALID") && !strings.HasPrefix(v.Expected.Verdict, "LIMITED") && v.Expected.Verdict != "INVALID" {
			t.Errorf("vector %q: verdict %q", v.Name, v.Expected.Verdict)
		}
	}
}
