package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/roadcheck/roadcheck"

type pkg struct {
	path    string
	imports []string // direct
	deps    []string // transitive
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}|{{join .Deps \",\"}}", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list line %q", line)
		}
		p := pkg{path: strings.TrimPrefix(parts[0], module+"/")}
		if parts[1] != "" {
			p.imports = strings.Split(parts[1], ",")
		}
		if parts[2] != "" {
			p.deps = strings.Split(parts[2], ",")
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("only %d packages listed", len(pkgs))
	}
	return pkgs
}

func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}

// rule: only packages in allowed may import (directly, or with deps=true
// transitively) anything under lib.
type rule struct {
	name    string
	lib     []string
	allowed []string
	deps    bool
}

var rules = []rule{
	{name: "fyne only in the GUI", lib: []string{"fyne.io/fyne/v2"}, allowed: []string{"internal/ui", "app/roadcheck"}, deps: true},
	{name: "bbolt only in storage packages", lib: []string{"go.etcd.io/bbolt"}, allowed: []string{"internal/storage", "internal/trust", "internal/records", "internal/hub", "internal/keys"}},
	{name: "go-tpm only in keys", lib: []string{"github.com/google/go-tpm"}, allowed: []string{"internal/keys"}},
	{name: "SM2/SM3/SM4 only through gm", lib: []string{"github.com/emmansun/gmsm/sm2", "github.com/emmansun/gmsm/sm3", "github.com/emmansun/gmsm/sm4"}, allowed: []string{"internal/gm"}},
	{name: "retryablehttp only in the sync client", lib: []string{"github.com/hashicorp/go-retryablehttp"}, allowed: []string{"internal/syncclient"}},
	{name: "camera access only in scan", lib: []string{"github.com/blackjack/webcam"}, allowed: []string{"internal/scan"}},
	// cgo and its C libraries (libjpeg-turbo, libpng) in one small package:
	// the rest of RoadCheck builds with CGO_ENABLED=0 too.
	{name: "cgo only in scan's image codec", lib: []string{"C"}, allowed: []string{"internal/scan/internal/imagecodec"}},
	{name: "TOTP only in the hub's accounts", lib: []string{"github.com/pquerna/otp"}, allowed: []string{"internal/hub"}},
	{name: "rate limiting only in the hub", lib: []string{"golang.org/x/time"}, allowed: []string{"internal/hub"}},
	{name: "PostgreSQL (pgx, goose) only in the hub's PostgreSQL store", lib: []string{"github.com/jackc/pgx/v5", "github.com/pressly/goose/v3"}, allowed: []string{"internal/hub/pgstore"}},
	{name: "Prometheus only in the hub", lib: []string{"github.com/prometheus/client_golang"}, allowed: []string{"internal/hub"}},
	// klauspost/compress: the code's zlib layer and the hub's evidence.
	{name: "klauspost/compress only in the credential codec and the hub", lib: []string{"github.com/klauspost/compress"}, allowed: []string{"internal/credential", "internal/hub"}},
	// segmentio/encoding: the hub's decoding of record pushes, its hottest
	// parser; everything else speaks encoding/json.
	{name: "segmentio/encoding only in the hub's push decoding", lib: []string{"github.com/segmentio/encoding"}, allowed: []string{"internal/hub"}},
}

func TestLibraryRules(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, r := range rules {
			if hasPrefixAny(p.path, r.allowed...) {
				continue
			}
			list := p.imports
			if r.deps {
				list = p.deps
			}
			for _, imp := range list {
				if hasPrefixAny(imp, r.lib...) {
					t.Errorf("%s: %s imports %s", r.name, p.path, imp)
				}
			}
		}
	}
}

// order lists the project's packages from the bottom up: a package may
// import only packages of a lower rank (and its own family: the packages
// under the same internal/NAME).
var order = [][]string{
	{"internal/clock", "internal/cmdline"},
	{"internal/gm"},
	{"internal/credential"},
	{"internal/storage", "internal/qrcode", "assets"},
	{"internal/keys"},
	{"internal/trust", "internal/issuer", "internal/scan"},
	{"internal/verify"},
	{"internal/policy"},
	{"internal/records", "internal/stop", "internal/demo", "internal/hub/wire"},
	{"internal/hub", "internal/syncclient"},
	{"internal/cli", "internal/ui"},
	{"app"},
}

// layer returns a package's rank in order, or -1.
func layer(path string) int {
	best, rank := "", -1
	for i, group := range order {
		for _, p := range group {
			if hasPrefixAny(path, p) && len(p) > len(best) {
				best, rank = p, i
			}
		}
	}
	return rank
}

func TestLayers(t *testing.T) {
	for _, p := range listPackages(t) {
		from := layer(p.path)
		if from < 0 {
			if !hasPrefixAny(p.path, "internal/arch") && !strings.Contains(p.path, "/testdata/") && !strings.Contains(p.path, "/internal/") {
				t.Errorf("%s has no layer: add it to arch_test.go", p.path)
			}
			continue
		}
		for _, imp := range p.imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := strings.TrimPrefix(imp, module+"/")
			if l := layer(to); l >= from && !sameFamily(p.path, to) {
				t.Errorf("%s (layer %d) imports %s (layer %d): dependencies point down only", p.path, from, to, l)
			}
		}
	}
}

// sameFamily reports whether a and b live under the same internal/NAME (or
// app/NAME), where a package may use its own helpers.
func sameFamily(a, b string) bool {
	root := func(p string) string {
		parts := strings.SplitN(p, "/", 3)
		if len(parts) < 2 {
			return p
		}
		return parts[0] + "/" + parts[1]
	}
	return root(a) == root(b)
}
