package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// frontHub is a reverse proxy in front of a real `rchub serve`: the
// terminal enrols with the proxy's address, so the hub behind it can be
// restarted (to publish) on another port. While slow is set, a status
// check gets no answer until the client gives up: a hub slower than the
// online budget.
type frontHub struct {
	url    string
	srv    *httptest.Server
	target atomic.Pointer[url.URL]
	slow   atomic.Bool
	held   atomic.Int32 // status checks held while slow
}

func newFrontHub(t *testing.T) *frontHub {
	t.Helper()
	f := &frontHub{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(f.target.Load())
		r.Out.Host = r.In.Host
	}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.slow.Load() && r.URL.Path == "/v1/status" {
			f.held.Add(1)
			<-r.Context().Done() // the client gave up
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.url = f.srv.URL
	return f
}

func (f *frontHub) serve(t *testing.T, hubDB string, args ...string) *rchubServer {
	t.Helper()
	h := rchubServe(t, append([]string{"--listen", "127.0.0.1:0", "--db", hubDB}, args...)...)
	u, err := url.Parse(h.url)
	if err != nil {
		t.Fatal(err)
	}
	f.target.Store(u)
	return h
}

// revokingDelta is a status-list delta of 深圳 (440300), on top of the
// demo world's newest, that revokes the licence of the demo code text.
func revokingDelta(t *testing.T, text string) []byte {
	t.Helper()
	w, err := demo.Build(demo.DefaultSeed, demo.ReferenceTime)
	if err != nil {
		t.Fatal(err)
	}
	d, err := credential.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := d.Claims()
	if err != nil {
		t.Fatal(err)
	}
	at := demo.ReferenceTime
	seq := 2 * uint64(at.Unix()) // the demo world's full list; its delta is seq+1
	cose, err := w.Signers["shenzhen"].SignStatusList(rand.Reader, &credential.StatusList{
		Issuer: "440300", Sequence: seq + 2, Base: seq + 1, ThisUpdate: at.Add(-time.Hour).Unix(), NextUpdate: at.Add(6 * 24 * time.Hour).Unix(),
		Entries: []credential.StatusEntry{{IDHash: credential.IDHash(cl.Credential.ID), Status: credential.StatusRevoked, Since: at.Add(-2 * time.Hour).Unix()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var b issuer.Bundle
	b.AddStatusList(cose)
	return b.PEM()
}

// rchubRun runs an rchub command other than serve (with the demo clock).
func rchubRun(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := hubcmd.Main(context.Background(), &hubcmd.Env{Stdout: &out, Stderr: &errb, Clock: clock.NewFake(demo.ReferenceTime)}, args)
	return code, out.String() + errb.String()
}

type verifyOnlineJSON struct {
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons"`
	Online  *struct {
		Asked        bool       `json:"asked"`
		HubTime      *time.Time `json:"hub_time"`
		Status       string     `json:"status"`
		ListSequence uint64     `json:"list_sequence"`
		Changed      bool       `json:"changed"`
		Error        string     `json:"error"`
	} `json:"online"`
}

func verifyJSONOut(t *testing.T, r result) verifyOnlineJSON {
	t.Helper()
	var v verifyOnlineJSON
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("verify --json: %v: %q %q", err, r.stdout, r.stderr)
	}
	return v
}

// TestVerifyOnline runs the online confirmation against a real hub over
// loopback: the hub knows a revocation the terminal does not (the terminal
// synced before it was published); a slow hub and a hub that is down leave
// the offline verdict standing, saying so; records carry the online check.
func TestVerifyOnline(t *testing.T) {
	hubDB := filepath.Join(t.TempDir(), "hub.db")
	front := newFrontHub(t)
	h := front.serve(t, hubDB, "--demo")
	m := regexp.MustCompile(`enrolment token \(one-time, 24 h\): (rcdev_\w+)`).FindStringSubmatch(h.out.String())
	if m == nil {
		t.Fatalf("no token printed: %q", h.out.String())
	}
	w := t.TempDir()
	db := filepath.Join(t.TempDir(), "terminal.db")
	if r := run(t, "", "demo", "--out", w, "--at", "now"); r.code != ExitOK {
		t.Fatal(r.stderr)
	}
	vehicle, revoked := readCode(t, w, "valid-vehicle"), readCode(t, w, "invalid-licence-revoked")
	if r := run(t, "", "--db", db, "trust", "anchor", "add", filepath.Join(w, "anchors.pem")); r.code != ExitOK {
		t.Fatal(r.stderr)
	}

	// Not enrolled: --online is refused (exit 3), nothing is created.
	r := run(t, "", "--db", db, "verify", "--online", vehicle)
	if r.code != ExitError || !strings.Contains(r.stderr, "--online needs the terminal's enrolment") {
		t.Fatalf("verify --online before enrolment: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(db), "terminal.db.key")); !os.IsNotExist(err) {
		t.Fatalf("verify --online created a device key file: %v", err)
	}

	if r := run(t, "", "--db", db, "enroll", "--hub", front.url, "--token", m[1]); r.code != ExitOK {
		t.Fatalf("enroll: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "", "--db", db, "sync"); r.code != ExitOK {
		t.Fatalf("sync: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// Online and in agreement: VALID, the hub's time shown.
	r = run(t, "", "--db", db, "verify", "--online", vehicle)
	if r.code != ExitOK || !strings.Contains(r.stdout, "在线核验：状态正常（中心时间 2026-11-27 10:00）") {
		t.Fatalf("verify --online, nothing revoked: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// The hub learns of a revocation; the terminal does not sync.
	if code := h.stop(); code != hubcmd.ExitOK {
		t.Fatalf("rchub serve: %d %s", code, h.err.String())
	}
	delta := filepath.Join(t.TempDir(), "delta.pem")
	if err := os.WriteFile(delta, revokingDelta(t, vehicle), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := rchubRun(t, "trust", "publish", "--db", hubDB, delta); code != hubcmd.ExitOK {
		t.Fatalf("rchub trust publish: %d %s", code, out)
	}
	front.serve(t, hubDB)

	// Offline (the default) the terminal does not know.
	if r := run(t, "", "--db", db, "verify", "--json", vehicle); r.code != ExitOK || verifyJSONOut(t, r).Online != nil {
		t.Fatalf("offline verify: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Online it does: INVALID LICENCE_REVOKED, found online.
	r = run(t, "", "--db", db, "verify", "--online", "--json", vehicle)
	v := verifyJSONOut(t, r)
	if r.code != ExitInvalid || v.Verdict != "INVALID" || strings.Join(v.Reasons, ",") != "LICENCE_REVOKED" || v.Online == nil ||
		!v.Online.Asked || v.Online.Status != "revoked" || !v.Online.Changed || v.Online.HubTime == nil ||
		!v.Online.HubTime.Equal(demo.ReferenceTime) || v.Online.ListSequence != 2*uint64(demo.ReferenceTime.Unix())+2 {
		t.Fatalf("verify --online --json: %d %+v %+v %q", r.code, v, v.Online, r.stderr)
	}
	r = run(t, "", "--db", db, "verify", "--online", vehicle)
	if r.code != ExitInvalid || !strings.Contains(r.stdout, "核验结果：无效") ||
		!strings.Contains(r.stdout, verify.LicenceRevoked.Chinese()+"（在线核验发现，本机清单尚未收录） [LICENCE_REVOKED]") ||
		!strings.Contains(r.stdout, "在线核验：已吊销（中心记录）") {
		t.Fatalf("verify --online: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// A revocation on the terminal's own list is not lifted by the hub
	// (both say revoked here; the rule for "active" is pinned in verify).
	if r := run(t, "", "--db", db, "verify", "--online", "--json", revoked); r.code != ExitInvalid || verifyJSONOut(t, r).Online.Changed {
		t.Fatalf("verify --online of a licence revoked offline: %d %q", r.code, r.stdout)
	}

	// The record carries the online check, signed.
	r = run(t, "", "--db", db, "record", "add", "--online", "--qr", vehicle, "--action", "暂扣", "--officer", "1001")
	if r.code != ExitOK || !strings.Contains(r.stdout, "#1\tINVALID\t暂扣") {
		t.Fatalf("record add --online: %d %q %q", r.code, r.stdout, r.stderr)
	}
	recs := listJSON(t, db)
	on, _ := recs[0]["online"].(map[string]any)
	if len(recs) != 1 || on == nil || on["status"] != "revoked" || on["changed"] != true || on["hub_time"] != "2026-11-27T02:00:00Z" {
		t.Fatalf("record: %v", recs)
	}

	// A slow hub: no answer within the budget, the offline verdict stands.
	front.slow.Store(true)
	r = run(t, "", "--db", db, "verify", "--online", "--json", vehicle)
	v = verifyJSONOut(t, r)
	if r.code != ExitOK || v.Verdict != "VALID" || v.Online == nil || !v.Online.Asked || v.Online.Status != "" ||
		v.Online.Error != "timeout: no answer within 800ms" || front.held.Load() != 1 {
		t.Fatalf("verify --online, slow hub: %d %+v %+v (held %d) %q", r.code, v, v.Online, front.held.Load(), r.stderr)
	}
	r = run(t, "", "--db", db, "record", "add", "--online", "--qr", vehicle, "--officer", "1001")
	if r.code != ExitOK || !strings.Contains(r.stdout, "#2\tVALID\t放行") {
		t.Fatalf("record add --online, slow hub: %d %q %q", r.code, r.stdout, r.stderr)
	}
	recs = listJSON(t, db)
	if on, _ := recs[1]["online"].(map[string]any); on == nil || on["error"] != "timeout: no answer within 800ms" || on["status"] != nil {
		t.Fatalf("record made while the hub was slow: %v", recs[1])
	}

	// The hub is down: the offline verdict, and "no answer".
	front.srv.Close()
	r = run(t, "", "--db", db, "verify", "--online", vehicle)
	if r.code != ExitOK || !strings.Contains(r.stdout, "核验结果：有效") || !strings.Contains(r.stdout, "在线核验：未能连接中心，按离线结果") {
		t.Fatalf("verify --online, hub down: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "--db", db, "verify", "--online", "--json", vehicle)
	if v := verifyJSONOut(t, r); r.code != ExitOK || v.Online == nil || v.Online.Error != "online status check: unreachable" {
		t.Fatalf("verify --online --json, hub down: %d %q", r.code, r.stdout)
	}
	if got := listJSON(t, db); len(got) != 2 {
		t.Fatalf("verify recorded something: %d records", len(got))
	}
}

// TestVerifyOnlineNotEnrolled: a terminal with a device (records made) but
// no enrolment, and a missing database, exit 3.
func TestVerifyOnlineNotEnrolled(t *testing.T) {
	dir, db := world(t)
	code := readCode(t, dir, "valid-vehicle")
	if r := run(t, "", "--db", db, "record", "add", "--qr", code); r.code != ExitOK {
		t.Fatalf("record add: %d %q", r.code, r.stderr)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "verify", args: []string{"--db", db, "verify", "--online", code}, want: "--online needs the terminal's enrolment"},
		{name: "record add", args: []string{"--db", db, "record", "add", "--online", "--qr", code}, want: "nothing recorded"},
		{name: "no database", args: []string{"--db", filepath.Join(t.TempDir(), "none.db"), "verify", "--online", code}, want: "no terminal database: --online needs the terminal's enrolment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", tt.args...)
			if r.code != ExitError || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q, want 3 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
	if got := listJSON(t, db); len(got) != 1 {
		t.Fatalf("%d records, want 1", len(got))
	}
	r := run(t, "", "--db", db, "verify", "-h", code)
	if r.code != ExitOK || !strings.Contains(r.stdout, "--online also asks the hub") {
		t.Fatalf("verify -h does not explain --online: %d %q", r.code, r.stdout)
	}
}
