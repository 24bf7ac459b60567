package hubcmd_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore/pgtest"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestHelpEverywhere walks rchub's command table: --help, -h and `rchub
// help CMD` on the program, every command family and every command print
// usage on standard output, nothing on standard error, and exit 0; unknown
// commands suggest the nearest.
func TestHelpEverywhere(t *testing.T) {
	clk := clock.NewFake(t0)
	cases := [][]string{{"--help"}, {"-h"}, {"help"}}
	for _, name := range append(hubcmd.CommandNames(), hubcmd.FamilyNames()...) {
		w := strings.Fields(name)
		cases = append(cases, append(slices.Clone(w), "--help"), append(slices.Clone(w), "-h"), append([]string{"help"}, w...))
	}
	if len(cases) < 3+3*25 {
		t.Fatalf("only %d cases: the command table is smaller than expected", len(cases))
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := rchub(t, clk, args...)
			if r.code != hubcmd.ExitOK || !strings.HasPrefix(r.stdout, "usage: rchub") || r.stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"tokn", "list"}, `did you mean "rchub token list"`},
		{[]string{"token", "lsit"}, `did you mean "rchub token list"`},
		{[]string{"serv"}, `did you mean "rchub serve"`},
		{[]string{"retension"}, `did you mean "rchub retention"`},
		{[]string{"device", "remove"}, `did you mean "rchub device revoke"`},
		{[]string{"acount", "list"}, `did you mean "rchub account list"`},
		{[]string{"audit", "verfy"}, `did you mean "rchub audit verify"`},
		{[]string{"help", "tokn", "list"}, `did you mean "rchub token list"`},
		{[]string{"token"}, "usage: rchub token SUBCOMMAND"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := rchub(t, clk, tt.args...)
			if r.code != hubcmd.ExitError || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
	if r := rchub(t, clk, "retention", "--db", filepath.Join(t.TempDir(), "h.db"), "--keep", "soon"); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "neither days") {
		t.Fatalf("bad --keep: %d %q", r.code, r.stderr)
	}
}

// pgHub is a migrated database and a key file for hubs on it.
func pgHub(t *testing.T, clk clock.Clock) (url, keys string) {
	t.Helper()
	url = pgtest.NewDB(t, "")
	keys = filepath.Join(t.TempDir(), "hub.key")
	if r := rchub(t, clk, "migrate", "--store", url); r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "schema at version 2 (was 0)") {
		t.Fatalf("migrate: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := rchub(t, clk, "migrate", "--store", url); r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("migrate again: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := rchub(t, clk, "keys", "create", keys); r.code != hubcmd.ExitOK {
		t.Fatalf("keys create: %d %q", r.code, r.stderr)
	}
	if r := rchub(t, clk, "keys", "create", keys); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "never replaced") {
		t.Fatalf("keys create again: %d %q", r.code, r.stderr)
	}
	return url, keys
}

// TestPostgresHub: a hub on PostgreSQL is administered while it serves,
// answers counters and exports, and refuses a schema it does not know.
func TestPostgresHub(t *testing.T) {
	clk := clock.NewFake(t0)
	url, keys := pgHub(t, clk)
	if r := rchub(t, clk, "serve", "--store", url, "--listen", "127.0.0.1:0"); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "--keys FILE is required") {
		t.Fatalf("serve without keys: %d %q", r.code, r.stderr)
	}
	s := serve(t, clk, "--store", url, "--keys", keys, "--demo")
	_, sup := s.tokens(t)
	// Tokens are made while the hub serves, and work at once.
	r := rchub(t, clk, "token", "create", "--store", url)
	if r.code != hubcmd.ExitOK {
		t.Fatalf("token create while serving: %d %q", r.code, r.stderr)
	}
	tm := newTerminal(t, clk)
	if err := tm.enroll(s.url, strings.TrimSpace(r.stdout)); err != nil {
		t.Fatal(err)
	}
	tm.record(t, 30)
	if rep, err := tm.push(s.url); err != nil || rep.Accepted != 30 {
		t.Fatalf("push: %+v %v", rep, err)
	}
	var counters wire.CountersResponse
	from, to := t0.Add(-24*time.Hour).Truncate(time.Hour).UTC(), t0.Add(24*time.Hour).Truncate(time.Hour).UTC()
	q := "/v1/counters?group=officer&from=" + from.Format(time.RFC3339) + "&to=" + to.Format(time.RFC3339)
	if code := get(t, s.url+q, sup, &counters); code != http.StatusOK || counters.Total.Total != 30 || len(counters.Rows) != 1 || counters.Rows[0].Key != "010203" {
		t.Fatalf("counters: %d %+v", code, counters)
	}
	if code := get(t, s.url+"/v1/counters?group=day&tz=Asia/Shanghai&from=2026-11-27T02:30:00Z&to="+to.Format(time.RFC3339), sup, nil); code != http.StatusBadRequest {
		t.Fatalf("counters from half an hour: %d", code)
	}
	rows := exportCSV(t, s.url+"/v1/records/export?format=csv", sup)
	if len(rows) != 31 || rows[0][0] != "id" || rows[1][5] != "010203" {
		t.Log(s.err.String())
		t.Fatalf("export: %d rows: %q", len(rows), rows[:min(2, len(rows))])
	}
	if code := get(t, s.url+"/v1/ready", sup, nil); code != http.StatusOK {
		t.Fatalf("ready: %d", code)
	}
	metrics := fetch(t, s.url+"/metrics")
	for _, want := range []string{`rchub_records_ingested_total{status="accepted"} 30`, "rchub_db_pool_max_conns", `rchub_http_requests_total{code="200",route="POST /v1/records"}`} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
	// The logs are JSON and hold neither tokens nor plates.
	logs := s.err.String()
	if !strings.Contains(logs, `"route":"POST /v1/records"`) || strings.Contains(logs, "rcsup_") || strings.Contains(logs, "rcdev_") {
		t.Fatalf("logs: %s", logs)
	}
	if code := s.stop(); code != hubcmd.ExitOK {
		t.Fatalf("serve exit %d: %s", code, s.err.String())
	}
	// Retention (nothing is that old) and device administration.
	if r := rchub(t, clk, "retention", "--store", url, "--keep", "180d"); r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "deleted 0 records") {
		t.Fatalf("retention: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := rchub(t, clk, "device", "revoke", "--store", url, tm.rec.DeviceID()); r.code != hubcmd.ExitOK {
		t.Fatalf("device revoke: %d %q", r.code, r.stderr)
	}
	// A schema newer than this rchub knows: it refuses to start.
	if err := pgtest.Shared(t).Exec(context.Background(), dbName(url), "INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)"); err != nil {
		t.Fatal(err)
	}
	if r := rchub(t, clk, "serve", "--store", url, "--keys", keys, "--listen", "127.0.0.1:0"); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "upgrade rchub") {
		t.Fatalf("serve on a newer schema: %d %q", r.code, r.stderr)
	}
	if r := rchub(t, clk, "migrate", "--store", url); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "upgrade rchub") {
		t.Fatalf("migrate a newer schema: %d %q", r.code, r.stderr)
	}
}

func dbName(url string) string {
	u := strings.TrimPrefix(url, "postgres:///")
	name, _, _ := strings.Cut(u, "?")
	return name
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func exportCSV(t *testing.T, url, bearer string) [][]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(b, []byte("\ufeff")) {
		t.Fatalf("export: %d %.200q", resp.StatusCode, b)
	}
	rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestBoltBackupRestore: a bbolt hub is backed up while it serves (through
// its admin socket), restored into a new path (its feed in a new
// generation) and serves its records again with the key file put back.
func TestBoltBackupRestore(t *testing.T) {
	clk := clock.NewFake(t0)
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	s := serve(t, clk, "--db", db, "--demo")
	dev, sup := s.tokens(t)
	tm := newTerminal(t, clk)
	if err := tm.enroll(s.url, dev); err != nil {
		t.Fatal(err)
	}
	tm.record(t, 12)
	if rep, err := tm.push(s.url); err != nil || rep.Accepted != 12 {
		t.Fatalf("push: %+v %v", rep, err)
	}
	archive := filepath.Join(dir, "backup.tar")
	if r := rchub(t, clk, "backup", "--db", db, "--out", archive); r.code != hubcmd.ExitOK || !strings.Contains(r.stderr, "key file") {
		t.Fatalf("backup while serving: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := rchub(t, clk, "retention", "--db", db, "--keep", "1d"); r.code != hubcmd.ExitOK {
		t.Fatalf("retention while serving: %d %q", r.code, r.stderr)
	}
	s.stop()
	restored := filepath.Join(t.TempDir(), "restored.db")
	r := rchub(t, clk, "restore", "--db", restored, "--from", archive)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "generation 1") || !strings.Contains(r.stdout, "put the hub's key file back") {
		t.Fatalf("restore: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := rchub(t, clk, "restore", "--db", restored, "--from", archive); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("restore over a hub: %d %q", r.code, r.stderr)
	}
	key, err := os.ReadFile(db + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored+".key", key, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := serve(t, clk, "--db", restored)
	rows := exportCSV(t, s2.url+"/v1/records/export", sup)
	if len(rows) != 13 {
		t.Fatalf("restored hub exports %d rows, want 13", len(rows))
	}
}

// TestPostgresDumpRestore: a PostgreSQL hub is backed up with pg_dump and
// restored with pg_restore into an empty database, where a hub serves it.
func TestPostgresDumpRestore(t *testing.T) {
	clk := clock.NewFake(t0)
	url, keys := pgHub(t, clk)
	s := serve(t, clk, "--store", url, "--keys", keys, "--demo")
	dev, sup := s.tokens(t)
	tm := newTerminal(t, clk)
	if err := tm.enroll(s.url, dev); err != nil {
		t.Fatal(err)
	}
	tm.record(t, 7)
	if rep, err := tm.push(s.url); err != nil || rep.Accepted != 7 {
		t.Fatalf("push: %+v %v", rep, err)
	}
	c := pgtest.Shared(t)
	dump := filepath.Join(t.TempDir(), "hub.dump")
	out, err := exec.Command(filepath.Join(c.BinDir, "pg_dump"), "--format=custom", "--file", dump, "--dbname", url).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump: %v %s", err, out)
	}
	s.stop()
	target := pgtest.NewDB(t, "")
	out, err = exec.Command(filepath.Join(c.BinDir, "pg_restore"), "--exit-on-error", "--no-owner", "--dbname", target, dump).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_restore: %v %s", err, out)
	}
	s2 := serve(t, clk, "--store", target, "--keys", keys)
	if rows := exportCSV(t, s2.url+"/v1/records/export", sup); len(rows) != 8 {
		t.Fatalf("restored hub exports %d rows, want 8", len(rows))
	}
	// The terminal goes on syncing with the restored hub.
	tm.record(t, 2)
	if rep, err := tm.push(s2.url); err != nil || rep.Accepted != 2 {
		t.Fatalf("push to the restored hub: %+v %v", rep, err)
	}
}
