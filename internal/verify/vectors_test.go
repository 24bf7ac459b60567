package verify_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	CheckTime   string   `json:"checkTime"`        // RFC 3339
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
		anchors, err := os.ReadFile(filepath.Join(vectorDir, "contexts", v.Context, "anchors.pem"))
		if err != nil {
			t.Fatal(err)
		}
		bundle, err := os.ReadFile(filepath.Join(vectorDir, "contexts", v.Context, "bundle.pem"))
		if err != nil {
			t.Fatal(err)
		}
		stores[v.Context] = verify.New(newStore(t, anchors, bundle), nil, verify.Policy{})
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			ver := stores[v.Context]
			at, err := time.Parse(time.RFC3339, v.CheckTime)
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
	for _, limit := range []string{"limit:text-length", "limit:inflated-size", "limit:depth-cose", "limit:depth-protected",
		"limit:depth-payload", "limit:duplicate-keys", "limit:indefinite-length", "limit:trailing-bytes",
		"limit:base45-alphabet", "limit:base45-triple", "limit:base45-pair", "limit:zlib-required"} {
		if !covered[limit] {
			t.Errorf("no vector covers %s", limit)
		}
	}
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
