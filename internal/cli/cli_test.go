package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roadcheck/roadcheck/assets"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

var update = flag.Bool("update", false, "rewrite golden files (assets/demo)")

type result struct {
	code           int
	stdout, stderr string
}

// run runs rcctl with a fake clock at the demo reference time.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	args, stdin = asOfficer(t, args, stdin)
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Clock: clock.NewFake(demo.ReferenceTime), PINIterations: testIterations}
	code := Main(context.Background(), env, args)
	return result{code, out.String(), errb.String()}
}

// world writes the reference demo world and returns its directory and a
// database with its anchors and bundle imported.
func world(t *testing.T) (dir, db string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "terminal.db")
	if r := run(t, "", "demo", "--out", dir); r.code != 0 {
		t.Fatalf("demo: %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "--db", db, "trust", "anchor", "add", filepath.Join(dir, "anchors.pem")); r.code != 0 {
		t.Fatalf("anchor add: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "--db", db, "trust", "import", filepath.Join(dir, "bundle.pem")); r.code != 0 {
		t.Fatalf("import: %d %s %s", r.code, r.stdout, r.stderr)
	}
	return dir, db
}

func readCode(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "codes", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVerifyExitCodesAndJSON(t *testing.T) {
	dir, db := world(t)
	tests := []struct {
		name     string
		sample   string
		wantCode int
		verdict  string
		reasons  []string
	}{
		{name: "valid", sample: "valid-vehicle", wantCode: ExitOK, verdict: "VALID", reasons: []string{}},
		{name: "limited", sample: "limited-review-overdue", wantCode: ExitPartial, verdict: "LIMITED", reasons: []string{"REVIEW_OVERDUE"}},
		{name: "invalid", sample: "invalid-licence-revoked", wantCode: ExitInvalid, verdict: "INVALID", reasons: []string{"LICENCE_REVOKED"}},
		{name: "invalid before schema", sample: "invalid-unknown-signer", wantCode: ExitInvalid, verdict: "INVALID", reasons: []string{"UNKNOWN_SIGNER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", "--db", db, "verify", "--json", readCode(t, dir, tt.sample))
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %s %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			var got struct {
				Verdict    string          `json:"verdict"`
				Reasons    []string        `json:"reasons"`
				Credential map[string]any  `json:"credential"`
				Signer     json.RawMessage `json:"signer"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("not JSON: %v: %s", err, r.stdout)
			}
			if got.Verdict != tt.verdict || strings.Join(got.Reasons, ",") != strings.Join(tt.reasons, ",") || got.Reasons == nil {
				t.Fatalf("got %s %v", got.Verdict, got.Reasons)
			}
			if (got.Credential == nil) != (tt.name == "invalid before schema") {
				t.Fatalf("credential presence wrong: %v", got.Credential)
			}
			if len(got.Signer) == 0 {
				t.Fatal("no signer object")
			}
		})
	}
	// The credential carries the format's field names.
	r := run(t, "", "--db", db, "verify", "--json", readCode(t, dir, "valid-vehicle"))
	for _, key := range []string{`"plate":"粤B5D832"`, `"authorityCode":"440300"`, `"validUntil":`, `"kid":"`} {
		if !strings.Contains(r.stdout, key) {
			t.Errorf("JSON lacks %s: %s", key, r.stdout)
		}
	}
}

func TestVerifyInputs(t *testing.T) {
	dir, db := world(t)
	code := readCode(t, dir, "valid-permit")
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "stdin with newline", stdin: code + "\n", args: []string{"verify", "-"}, wantCode: ExitOK, wantOut: "核验结果：有效"},
		{name: "flags after the code", args: []string{"verify", code, "--json"}, wantCode: ExitOK, wantOut: `"verdict":"VALID"`},
		{name: "check time in the past", args: []string{"verify", "--at", "2020-01-01T00:00:00+08:00", code}, wantCode: ExitInvalid, wantOut: "CODE_NOT_YET_VALID"},
		{name: "garbage", args: []string{"verify", "hello"}, wantCode: ExitInvalid, wantOut: "MALFORMED"},
		{name: "bad --at", args: []string{"verify", "--at", "yesterday", code}, wantCode: ExitError},
		{name: "no argument", args: []string{"verify"}, wantCode: ExitError},
		{name: "unreadable image", args: []string{"verify", "--image", filepath.Join(dir, "missing.png")}, wantCode: ExitError},
		{name: "image is not an image", args: []string{"verify", "--image", filepath.Join(dir, "bundle.pem")}, wantCode: ExitError},
		{name: "image", args: []string{"verify", "--image", filepath.Join(dir, "codes", "valid-permit.png")}, wantCode: ExitOK, wantOut: "有效"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.stdin, append([]string{"--db", db}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if tt.wantCode == ExitError && r.stderr == "" {
				t.Fatal("error without a message")
			}
		})
	}
}

func TestDatabaseErrorsExit3(t *testing.T) {
	dir, db := world(t)
	code := readCode(t, dir, "valid-vehicle")

	// Another process holds the records database for writing (the GUI, or
	// a sync): verification reads only the trust files beside it, so it is
	// not blocked (issue 8: sync never blocks a check).
	h, err := storage.Open(context.Background(), db, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, "", "--db", db, "verify", code)
	h.Close()
	if r.code != ExitOK {
		t.Fatalf("verify while the database is held: exit %d, stderr %q", r.code, r.stderr)
	}

	// Damaged trust files: a clear error, exit 3.
	brokenDB := filepath.Join(t.TempDir(), "broken.db")
	if r := run(t, "", "--db", brokenDB, "trust", "anchor", "add", filepath.Join(dir, "anchors.pem")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	manifests, _ := filepath.Glob(filepath.Join(trust.DirFor(brokenDB), "*"))
	for _, m := range manifests {
		if b, err := os.ReadFile(m); err == nil && len(b) > 0 {
			os.WriteFile(m, bytes.Repeat([]byte{0x5a}, len(b)), 0o600)
		}
	}
	if r := run(t, "", "--db", brokenDB, "verify", code); r.code != ExitError || !strings.Contains(r.stderr, "damaged") {
		t.Fatalf("damaged trust files: exit %d, stderr %q", r.code, r.stderr)
	}

	damaged := filepath.Join(dir, "damaged.db")
	if err := os.WriteFile(damaged, bytes.Repeat([]byte("RoadCheck"), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nothing-here.db")
	for _, tt := range []struct{ name, db, want string }{
		{"damaged", damaged, "damaged"},
		{"missing", missing, "no terminal database"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", "--db", tt.db, "verify", code)
			if r.code != ExitError || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			r = run(t, "", "--db", tt.db, "trust", "status")
			if r.code != ExitError {
				t.Fatalf("trust status: exit %d", r.code)
			}
		})
	}
}

func TestTrustImportReport(t *testing.T) {
	dir, db := world(t)
	bundle, err := os.ReadFile(filepath.Join(dir, "bundle.pem"))
	if err != nil {
		t.Fatal(err)
	}
	// Re-importing is idempotent: everything unchanged, exit 0.
	r := run(t, "", "--db", db, "trust", "import", filepath.Join(dir, "bundle.pem"))
	if r.code != ExitOK || !strings.Contains(r.stdout, "0 stored, 14 unchanged, 0 skipped") {
		t.Fatalf("re-import: %d %s", r.code, r.stdout)
	}
	// A damaged block is reported and the rest still import.
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	if r := run(t, "", "--db", fresh, "trust", "anchor", "add", filepath.Join(dir, "anchors.pem")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	damaged := bytes.Replace(bundle, []byte("-----BEGIN X509 CRL-----\nMII"), []byte("-----BEGIN X509 CRL-----\n!!!"), 1)
	path := filepath.Join(dir, "damaged.pem")
	if err := os.WriteFile(path, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "--db", fresh, "trust", "import", path)
	if r.code != ExitPartial || !strings.Contains(r.stdout, "13 stored, 0 unchanged, 1 skipped") || !strings.Contains(r.stdout, "damaged") {
		t.Fatalf("damaged: %d %s", r.code, r.stdout)
	}
	// An anchor file with no certificate at all is an error.
	if r := run(t, "", "--db", fresh, "trust", "anchor", "add", filepath.Join(dir, "manifest.json")); r.code != ExitError {
		t.Fatalf("anchor add of JSON: exit %d", r.code)
	}
	r = run(t, "", "--db", fresh, "trust", "status", "--json")
	var sum struct {
		Anchors []any `json:"anchors"`
		Signers []any `json:"signers"`
		Lists   []struct {
			Issuer   string `json:"issuer"`
			Sequence uint64 `json:"sequence"`
			Stale    bool   `json:"stale"`
		} `json:"statusLists"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || r.code != 0 {
		t.Fatalf("status: %d %v %s", r.code, err, r.stdout)
	}
	if len(sum.Anchors) != 1 || len(sum.Signers) != 5 || len(sum.Lists) != 3 {
		t.Fatalf("status counts: %d anchors, %d signers, %d lists", len(sum.Anchors), len(sum.Signers), len(sum.Lists))
	}
	for _, l := range sum.Lists {
		if want := 2*uint64(demo.ReferenceTime.Unix()) + 1; l.Issuer == "440300" && l.Sequence != want {
			t.Fatalf("440300 at sequence %d, want %d (delta applied)", l.Sequence, want)
		}
		if (l.Issuer == "510100") != l.Stale {
			t.Fatalf("list %s stale=%v", l.Issuer, l.Stale)
		}
	}
	if r := run(t, "", "--db", fresh, "trust", "status"); r.code != 0 || !strings.Contains(r.stdout, "STALE") {
		t.Fatalf("human status: %s", r.stdout)
	}
}

// TestEmbeddedDemoWorld checks that assets/demo is what `rcctl demo` writes
// today; run with -update to regenerate it.
func TestEmbeddedDemoWorld(t *testing.T) {
	dir := t.TempDir()
	if *update {
		dir = filepath.Join("..", "..", "assets", "demo")
		os.RemoveAll(dir)
	}
	if r := run(t, "", "demo", "--out", dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if *update {
		return
	}
	err := fs.WalkDir(assets.Demo, "demo", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, err := fs.ReadFile(assets.Demo, path)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(path, "demo/")))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: go test ./internal/cli -run EmbeddedDemo -update", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUsage(t *testing.T) {
	if r := run(t, ""); r.code != ExitError || !strings.Contains(r.stderr, "trust import") {
		t.Fatalf("no command: %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "frobnicate"); r.code != ExitError || !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("unknown: %d %s", r.code, r.stderr)
	}
}

// testPIN is the PIN of the officers asOfficer provisions.
const testPIN = "246810"

// testIterations is the PBKDF2 count of the tests' PINs (Env.PINIterations):
// every Env that opens a provisioned database gives it, or the vault
// refuses the directory as below its floor.
const testIterations = 1000

var provisioned sync.Map // database path → true

// asOfficer makes a record, sync or enroll command act for an
// authenticated officer, as rcctl now requires (issue 10): the database
// gets supervisor 9001 and inspector 1001 (PIN testPIN) at first use, and
// the command gets --pin-stdin (the PIN prepended to stdin) and, without
// --officer, --officer 9001. Commands that give --pin-stdin themselves are
// left alone.
func asOfficer(t *testing.T, args []string, stdin string) ([]string, string) {
	t.Helper()
	db, i := "", 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if args[i] == "--db" && i+1 < len(args) {
			db = args[i+1]
			i += 2
			continue
		}
		i++
	}
	n := 0
	switch {
	case i+1 < len(args) && args[i] == "record" && (args[i+1] == "add" || args[i+1] == "list" || args[i+1] == "purge"):
		n = 2
	case i < len(args) && (args[i] == "sync" || args[i] == "enroll"):
		n = 1
	case i < len(args) && args[i] == "verify" && slices.Contains(args, "--online"):
		// The device key signs the status request: an officer unlocks it
		// (on a database that exists: --online refuses the others first).
		if _, err := os.Stat(db); err != nil {
			return args, stdin
		}
		n = 1
	}
	if n == 0 || db == "" || slices.Contains(args, "--pin-stdin") {
		return args, stdin
	}
	if _, done := provisioned.Load(db); !done {
		mk := func(in string, a ...string) {
			var out, errb bytes.Buffer
			env := &Env{Stdin: strings.NewReader(in), Stdout: &out, Stderr: &errb, Clock: clock.NewFake(demo.ReferenceTime), Getenv: func(string) string { return "" }, PINIterations: testIterations}
			if code := Main(context.Background(), env, append([]string{"--db", db}, a...)); code != ExitOK && !strings.Contains(errb.String(), "already has officers") && !strings.Contains(errb.String(), "is taken") {
				t.Fatalf("rcctl %v: %d %s", a, code, errb.String())
			}
		}
		mk(testPIN+"\n"+testPIN+"\n", "officer", "init", "--id", "9001", "--name", "陈刚", "--pin-stdin")
		mk(testPIN+"\n"+testPIN+"\n"+testPIN+"\n", "officer", "add", "--as", "9001", "--id", "1001", "--name", "李明", "--role", "inspector", "--pin-stdin")
		provisioned.Store(db, true)
	}
	extra := []string{"--pin-stdin"}
	if !slices.Contains(args, "--officer") {
		extra = append(extra, "--officer", "9001")
	}
	out := append(slices.Clone(args[:i+n]), extra...)
	out = append(out, args[i+n:]...)
	return out, testPIN + "\n" + stdin
}
