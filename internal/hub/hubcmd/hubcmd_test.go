package hubcmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd/hubcmdtest"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var t0 = demo.ReferenceTime

type result struct {
	code           int
	stdout, stderr string
}

// rchub runs one rchub command with buffers.
func rchub(t *testing.T, clk clock.Clock, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := hubcmd.Main(context.Background(), &hubcmd.Env{Stdout: &out, Stderr: &errb, Clock: clk}, args)
	return result{code, out.String(), errb.String()}
}

// server is `rchub serve` running in the test process.
type server struct {
	url      string
	listen   string
	out, err *hubcmdtest.Buffer
	stop     func() int
}

var tokenRe = regexp.MustCompile(`(?m)^enrolment token \(one-time, 24 h\): (rcdev_\w+)\nsupervisor token: (rcsup_\w+)$`)

// serve starts `rchub serve --listen 127.0.0.1:0 ARGS…` and returns once it
// listens; it fails the test when serve exits first.
func serve(t *testing.T, clk clock.Clock, args ...string) *server {
	t.Helper()
	s := hubcmdtest.Serve(t, clk, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	return &server{url: s.URL, listen: s.Addr, out: s.Out, err: s.Err, stop: s.Stop}
}

func (s *server) tokens(t *testing.T) (device, supervisor string) {
	t.Helper()
	m := tokenRe.FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("serve --demo printed no tokens: %q", s.out.String())
	}
	return m[1], m[2]
}

// terminal is a real terminal database with a record store.
type terminal struct {
	rec *records.Store
	clk clock.Clock
}

func newTerminal(t *testing.T, clk clock.Clock) *terminal {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "terminal.db")
	db, err := storage.Open(ctx, path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rs, err := records.Open(ctx, db, records.KeyFile(records.KeyFilePath(path)), records.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &terminal{rec: rs, clk: clk}
}

func (tm *terminal) enroll(hubURL, token string) error {
	return syncclient.Enroll(context.Background(), tm.rec, syncclient.EnrollOptions{HubURL: hubURL, Token: token, Label: "test tablet", Clock: tm.clk})
}

func (tm *terminal) record(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		c := records.Check{Officer: "010203", Verdict: verify.Valid, Action: records.ActionRelease, Notes: strings.Repeat("x", i)}
		if _, err := tm.rec.Append(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
}

// push pushes with a client that fails fast.
func (tm *terminal) push(hubURL string) (*syncclient.PushReport, error) {
	c, err := syncclient.New(context.Background(), syncclient.Config{Records: tm.rec, Clock: tm.clk, HubURL: hubURL, RetryMax: 1,
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		return nil, err
	}
	return c.Push(context.Background())
}

// get sends a supervisor GET and decodes the JSON answer into v.
func get(t *testing.T, url, bearer string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// demoFiles writes the demo world's anchors and bundle into a directory.
func demoFiles(t *testing.T) (anchors, bundle string) {
	t.Helper()
	w, err := demo.Build(demo.DefaultSeed, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	anchors, bundle = filepath.Join(dir, "anchors.pem"), filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(anchors, w.AnchorsPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundle, w.BundlePEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return anchors, bundle
}

func TestUsageAndFlags(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "no command", args: nil, wantCode: hubcmd.ExitError, wantErr: "usage: rchub"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: hubcmd.ExitError, wantErr: "usage: rchub"},
		{name: "help", args: []string{"help"}, wantCode: hubcmd.ExitOK},
		{name: "token create without db", args: []string{"token", "create"}, wantCode: hubcmd.ExitError, wantErr: "(or --db PATH) is required"},
		{name: "token create bad role", args: []string{"token", "create", "--db", db, "--role", "admin"}, wantCode: hubcmd.ExitError, wantErr: `role "admin"`},
		{name: "token create bad flag", args: []string{"token", "create", "--db", db, "--ttl", "soon"}, wantCode: hubcmd.ExitError, wantErr: "invalid value"},
		{name: "token revoke without id", args: []string{"token", "revoke", "--db", db}, wantCode: hubcmd.ExitError, wantErr: "give one token id"},
		{name: "token revoke not an id", args: []string{"token", "revoke", "--db", db, "xyz"}, wantCode: hubcmd.ExitError, wantErr: "neither a token nor a token id"},
		{name: "token revoke unknown", args: []string{"token", "revoke", "--db", db, "0123456789abcdef"}, wantCode: hubcmd.ExitError, wantErr: "no token with id"},
		{name: "token list with argument", args: []string{"token", "list", "--db", db, "x"}, wantCode: hubcmd.ExitError, wantErr: "no arguments"},
		{name: "device revoke unknown", args: []string{"device", "revoke", "--db", db, "T-NOPE"}, wantCode: hubcmd.ExitError, wantErr: "not found"},
		{name: "device revoke without id", args: []string{"device", "revoke", "--db", db}, wantCode: hubcmd.ExitError, wantErr: "give one device id"},
		{name: "trust anchors without file", args: []string{"trust", "anchors", "--db", db}, wantCode: hubcmd.ExitError, wantErr: "give one PEM file"},
		{name: "trust anchors missing file", args: []string{"trust", "anchors", "--db", db, filepath.Join(t.TempDir(), "none.pem")}, wantCode: hubcmd.ExitError, wantErr: "no such file"},
		{name: "trust publish without bundle", args: []string{"trust", "publish", "--db", db}, wantCode: hubcmd.ExitError, wantErr: "give one bundle"},
		{name: "serve plain HTTP on all interfaces", args: []string{"serve", "--db", db, "--listen", ":0"}, wantCode: hubcmd.ExitError, wantErr: "refusing plain HTTP"},
		{name: "serve with half a TLS pair", args: []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", "c.pem"}, wantCode: hubcmd.ExitError, wantErr: "give both --tls-cert and --tls-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rchub(t, clk, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d (want %d), stderr %q", r.code, tt.wantCode, r.stderr)
			}
		})
	}
}

func TestTrustAnchorsAndPublish(t *testing.T) {
	clk := clock.NewFake(t0)
	anchors, bundle := demoFiles(t)
	db := filepath.Join(t.TempDir(), "hub.db")
	// Without anchors nothing can be published.
	if r := rchub(t, clk, "trust", "publish", "--db", db, bundle); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "no trust anchors") {
		t.Fatalf("publish before anchors: %d %q", r.code, r.stderr)
	}
	r := rchub(t, clk, "trust", "anchors", "--db", db, anchors)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "stored") {
		t.Fatalf("anchors: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = rchub(t, clk, "trust", "publish", "--db", db, bundle)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "published 14 blocks as feed sequence 1") {
		t.Fatalf("publish: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = rchub(t, clk, "trust", "publish", "--db", db, bundle)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "nothing new to publish (feed sequence 1)") {
		t.Fatalf("publish again: %d %s", r.code, r.stdout)
	}
	// --demo installs the demo anchor and publishes the same world: nothing new.
	r = rchub(t, clk, "trust", "publish", "--db", db, "--demo")
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "nothing new to publish") {
		t.Fatalf("publish --demo: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// A file that is no bundle: nothing verifies.
	if r := rchub(t, clk, "trust", "publish", "--db", db, anchors+".missing"); r.code != hubcmd.ExitError {
		t.Fatalf("missing bundle: %d", r.code)
	}
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	if r := rchub(t, clk, "trust", "publish", "--db", fresh, "--demo"); r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "published 14 blocks as feed sequence 1") {
		t.Fatalf("publish --demo on a fresh hub: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestTokens(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	create := func(args ...string) (tok, id string) {
		t.Helper()
		r := rchub(t, clk, append([]string{"token", "create", "--db", db}, args...)...)
		m := regexp.MustCompile(`token id ([0-9a-f]{16})`).FindStringSubmatch(r.stderr)
		if r.code != hubcmd.ExitOK || m == nil {
			t.Fatalf("token create %v: %d %q %q", args, r.code, r.stdout, r.stderr)
		}
		return strings.TrimSpace(r.stdout), m[1]
	}
	devTok, devID := create("--label", "深圳 G4 平板 1")
	supTok, supID := create("--role", "supervisor", "--jurisdiction", "all", "--label", "督察")
	_, shortID := create("--ttl", "1h", "--label", "short")
	spareTok, spareID := create("--label", "spare")
	if !strings.HasPrefix(devTok, "rcdev_") || !strings.HasPrefix(supTok, "rcsup_") {
		t.Fatalf("tokens %q %q", devTok, supTok)
	}
	// The supervisor token opens supervisor queries of a hub on this database.
	s := serve(t, clk, "--db", db)
	tm := newTerminal(t, clk)
	if err := tm.enroll(s.url, devTok); err != nil {
		t.Fatal(err)
	}
	if code := get(t, s.url+"/v1/devices", supTok, nil); code != http.StatusOK {
		t.Fatalf("supervisor query: %d", code)
	}
	// The database is the server's while it runs: the other commands run
	// inside it, through its admin socket.
	if r := rchub(t, clk, "token", "list", "--db", db); r.code != hubcmd.ExitOK || strings.Count(r.stdout, "\n") != 4 {
		t.Fatalf("token list while serving: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if code := s.stop(); code != hubcmd.ExitOK {
		t.Fatalf("serve exit %d: %s", code, s.err.String())
	}

	clk.Advance(2 * time.Hour) // the 1-hour token expires
	r := rchub(t, clk, "token", "list", "--db", db, "--json")
	var list []struct {
		ID, Role, Label, State string
		UsedBy                 string `json:"used_by"`
		Expires                *time.Time
		Revoked                *time.Time
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != hubcmd.ExitOK {
		t.Fatalf("token list --json: %d %v %s", r.code, err, r.stdout)
	}
	got := map[string]string{}
	for _, tk := range list {
		got[tk.ID] = tk.Role + "/" + tk.State + "/" + tk.UsedBy + "/" + tk.Label
		if strings.Contains(r.stdout, "rcdev_") || strings.Contains(r.stdout, "rcsup_") {
			t.Fatal("token list shows a token")
		}
	}
	want := map[string]string{
		devID:   "device/used/" + tm.rec.DeviceID() + "/深圳 G4 平板 1",
		supID:   "supervisor/active//督察",
		shortID: "device/expired//short",
		spareID: "device/active//spare",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("token %s: %q, want %q", id, got[id], w)
		}
	}
	if len(list) != 4 {
		t.Fatalf("%d tokens listed", len(list))
	}
	r = rchub(t, clk, "token", "list", "--db", db)
	if r.code != hubcmd.ExitOK || strings.Count(r.stdout, "\n") != 4 || !strings.Contains(r.stdout, "used by "+tm.rec.DeviceID()) {
		t.Fatalf("token list: %d %s", r.code, r.stdout)
	}

	// Revocation: by id, by the token itself, twice.
	revokes := []struct {
		name     string
		ref      string
		wantCode int
		wantOut  string
	}{
		{name: "supervisor by id", ref: supID, wantCode: hubcmd.ExitOK, wantOut: "revoked token " + supID},
		{name: "spare by token", ref: spareTok, wantCode: hubcmd.ExitOK, wantOut: "revoked token " + spareID},
		{name: "used device token by id prefix", ref: devID[:10], wantCode: hubcmd.ExitOK, wantOut: "stays enrolled: rchub device revoke"},
		{name: "twice", ref: supID, wantCode: hubcmd.ExitOK, wantOut: "already revoked"},
	}
	for _, tt := range revokes {
		t.Run(tt.name, func(t *testing.T) {
			r := rchub(t, clk, "token", "revoke", "--db", db, tt.ref)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
	// Flags after the argument work too.
	if r := rchub(t, clk, "token", "revoke", shortID, "--db", db); r.code != hubcmd.ExitOK {
		t.Fatalf("revoke with flags last: %d %s", r.code, r.stderr)
	}
	s = serve(t, clk, "--db", db)
	if code := get(t, s.url+"/v1/devices", supTok, nil); code != http.StatusForbidden {
		t.Fatalf("revoked supervisor token: %d", code)
	}
	other := newTerminal(t, clk)
	if err := other.enroll(s.url, spareTok); !errors.Is(err, syncclient.ErrBadToken) {
		t.Fatalf("enrolment with a revoked token: %v", err)
	}
	// The device enrolled with the revoked token still syncs.
	tm.record(t, 1)
	if rep, err := tm.push(s.url); err != nil || rep.Accepted != 1 {
		t.Fatalf("push after its token was revoked: %+v %v", rep, err)
	}
}

// TestDeviceRevoke: a lost tablet is revoked with rchub device revoke and
// can then neither push nor pull, while its delivered records stay.
func TestDeviceRevoke(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	s := serve(t, clk, "--db", db, "--demo")
	devTok, supTok := s.tokens(t)
	lost := newTerminal(t, clk)
	if err := lost.enroll(s.url, devTok); err != nil {
		t.Fatal(err)
	}
	lost.record(t, 3)
	if rep, err := lost.push(s.url); err != nil || rep.Accepted != 3 {
		t.Fatalf("push: %+v %v", rep, err)
	}
	s.stop()

	r := rchub(t, clk, "device", "list", "--db", db)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, lost.rec.DeviceID()+"\tactive") || !strings.Contains(r.stdout, "chain head #3") {
		t.Fatalf("device list: %d %q", r.code, r.stdout)
	}
	clk.Advance(time.Hour)
	r = rchub(t, clk, "device", "revoke", "--db", db, lost.rec.DeviceID())
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "revoked device "+lost.rec.DeviceID()) {
		t.Fatalf("device revoke: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := rchub(t, clk, "device", "revoke", "--db", db, lost.rec.DeviceID()); r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "already revoked") {
		t.Fatalf("second revoke: %d %q", r.code, r.stdout)
	}
	r = rchub(t, clk, "device", "list", "--db", db, "--json")
	var devs []struct {
		ID      string
		Revoked *time.Time
	}
	if err := json.Unmarshal([]byte(r.stdout), &devs); err != nil || len(devs) != 1 || devs[0].Revoked == nil || !devs[0].Revoked.Equal(t0.Add(time.Hour)) {
		t.Fatalf("device list --json: %v %s", err, r.stdout)
	}

	s = serve(t, clk, "--db", db, "--listen", s.listen)
	lost.record(t, 1)
	if _, err := lost.push(s.url); !errors.Is(err, syncclient.ErrRevoked) {
		t.Fatalf("push of a revoked device: %v", err)
	}
	var recs wire.RecordsResponse
	if code := get(t, s.url+"/v1/records?device="+lost.rec.DeviceID(), supTok, &recs); code != http.StatusOK || len(recs.Records) != 3 {
		t.Fatalf("records of the revoked device: %d %d", code, len(recs.Records))
	}
}

// TestServeFlagsTimeFilter: supervisors select flags by the time the hub
// raised them.
func TestServeFlagsTimeFilter(t *testing.T) {
	hubClk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	s := serve(t, hubClk, "--db", db, "--demo")
	devTok, supTok := s.tokens(t)
	// A terminal whose clock is 10 minutes fast: every record is flagged.
	tm := newTerminal(t, clock.NewFake(t0.Add(10*time.Minute)))
	if err := tm.enroll(s.url, devTok); err != nil {
		t.Fatal(err)
	}
	for range 3 { // one flag at t0, t0+1h, t0+2h
		tm.record(t, 1)
		if rep, err := tm.push(s.url); err != nil || rep.Flagged != 1 {
			t.Fatalf("push: %+v %v", rep, err)
		}
		hubClk.Advance(time.Hour)
	}
	tests := []struct {
		name     string
		query    string
		wantCode int
		want     int
	}{
		{name: "all", query: "", wantCode: http.StatusOK, want: 3},
		{name: "from", query: "from=2026-11-27T10:30:00%2B08:00", wantCode: http.StatusOK, want: 2},
		{name: "to, inclusive", query: "to=2026-11-27T02:00:00Z", wantCode: http.StatusOK, want: 1},
		{name: "range", query: "from=2026-11-27T10:30:00%2B08:00&to=2026-11-27T11:30:00%2B08:00", wantCode: http.StatusOK, want: 1},
		{name: "range and kind", query: "from=2026-11-27T10:30:00%2B08:00&kind=clock", wantCode: http.StatusOK, want: 2},
		{name: "bad time", query: "from=yesterday", wantCode: http.StatusBadRequest},
		{name: "to before from", query: "from=2026-11-27T12:00:00Z&to=2026-11-27T10:00:00Z", wantCode: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fr wire.FlagsResponse
			code := get(t, s.url+"/v1/flags?"+tt.query, supTok, &fr)
			if code != tt.wantCode || len(fr.Flags) != tt.want {
				t.Fatalf("%d, %d flags; want %d, %d", code, len(fr.Flags), tt.wantCode, tt.want)
			}
			for _, f := range fr.Flags {
				if f.Kind != wire.FlagKindClock || f.Device != tm.rec.DeviceID() {
					t.Fatalf("flag %+v", f)
				}
			}
		})
	}
}
