package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd/hubcmdtest"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// rchubServer is `rchub serve` (hubcmd.Main) running in the test process.
type rchubServer struct {
	url, addr string
	out, err  *hubcmdtest.Buffer
	stop      func() int
}

// rchubServe runs `rchub serve ARGS…` until it listens (or fails the test
// when it exits first). The hub's clock is the demo reference time.
func rchubServe(t *testing.T, args ...string) *rchubServer {
	t.Helper()
	s := hubcmdtest.Serve(t, clock.NewFake(demo.ReferenceTime), args...)
	return &rchubServer{url: s.URL, addr: s.Addr, out: s.Out, err: s.Err, stop: s.Stop}
}

// supervisorGet queries the hub as a supervisor and decodes the answer.
func supervisorGet(t *testing.T, u, token string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// supervisorPost sends a supervisor POST with a JSON body and decodes the
// JSON answer into v.
func supervisorPost(t *testing.T, u, token string, body, v any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", u, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// listJSON runs record list --json with extra args and decodes it.
func listJSON(t *testing.T, db string, args ...string) []map[string]any {
	t.Helper()
	r := run(t, "", append([]string{"--db", db, "record", "list", "--json"}, args...)...)
	var out []map[string]any
	if r.code != ExitOK {
		t.Fatalf("record list: %d %s", r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out == nil {
		t.Fatalf("record list --json is not a JSON array: %v %q", err, r.stdout)
	}
	return out
}

// TestReadmeHubFlow follows the README ("To see a record made offline
// arrive at the hub"): a hub with --demo and its tokens, a terminal with
// the demo anchor that enrols and pulls trust, records a check while the
// hub is down, syncs when it is back; the supervisor finds the record. The
// only difference: the sync while the hub is down uses --retries 0.
func TestReadmeHubFlow(t *testing.T) {
	hubDB := filepath.Join(t.TempDir(), "hub.db")
	h := rchubServe(t, "--listen", "127.0.0.1:0", "--db", hubDB, "--demo")
	m := regexp.MustCompile(`enrolment token \(one-time, 24 h\): (rcdev_\w+)\nsupervisor token: (rcsup_\w+)`).FindStringSubmatch(h.out.String())
	if m == nil {
		t.Fatalf("no tokens printed: %q", h.out.String())
	}
	devTok, supTok := m[1], m[2]

	w := t.TempDir()
	db := filepath.Join(t.TempDir(), "terminal.db")
	if r := run(t, "", "demo", "--out", w, "--at", "now"); r.code != ExitOK {
		t.Fatal(r.stderr)
	}
	if r := run(t, "", "--db", db, "trust", "anchor", "add", filepath.Join(w, "anchors.pem")); r.code != ExitOK {
		t.Fatal(r.stderr)
	}
	r := run(t, "", "--db", db, "enroll", "--hub", h.url, "--token", devTok, "--label", "深圳 G4 K12 平板")
	if r.code != ExitOK || !strings.Contains(r.stdout, "enrolled device T-") {
		t.Fatalf("enroll: %d %q %q", r.code, r.stdout, r.stderr)
	}
	device := strings.Fields(r.stdout)[2]
	// The first sync brings the trust data the terminal verifies with.
	r = run(t, "", "--db", db, "sync")
	if r.code != ExitOK || !strings.Contains(r.stdout, "records: 0 delivered") || !strings.Contains(r.stdout, "trust: feed sequence 1: 14 blocks stored") {
		t.Fatalf("first sync: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// Offline: the hub is down, the check is recorded all the same.
	if code := h.stop(); code != hubcmd.ExitOK {
		t.Fatalf("rchub serve exit %d: %s", code, h.err.String())
	}
	r = run(t, "", "--db", db, "record", "add", "--qr", readCode(t, w, "valid-vehicle"), "--action", "放行", "--officer", "1001",
		"--loc", "22.5431,114.0579", "--place", "G4 京港澳高速 K12+300", "--note", "例行检查")
	if r.code != ExitOK || !strings.Contains(r.stdout, "#1\tVALID\t放行") {
		t.Fatalf("record add: %d %q %q", r.code, r.stdout, r.stderr)
	}
	id := strings.Fields(r.stdout)[0]
	if p := listJSON(t, db, "--pending"); len(p) != 1 || p[0]["id"] != id || p[0]["state"] != "pending" {
		t.Fatalf("pending: %v", p)
	}
	r = run(t, "", "--db", db, "sync", "--retries", "0")
	if r.code != ExitPartial || !strings.Contains(r.stderr, "cannot be reached") { // 1: the record remains
		t.Fatalf("sync while the hub is down: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// The hub is back (same address, same database): the record arrives.
	h = rchubServe(t, "--listen", h.addr, "--db", hubDB)
	r = run(t, "", "--db", db, "sync")
	if r.code != ExitOK || !strings.Contains(r.stdout, "records: 1 delivered, 0 already at the hub, 0 rejected, 0 flagged, 0 pending") ||
		!strings.Contains(r.stdout, "trust: up to date (feed sequence 1)") {
		t.Fatalf("sync: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if p := listJSON(t, db, "--pending"); len(p) != 0 {
		t.Fatalf("still pending: %v", p)
	}
	if all := listJSON(t, db); len(all) != 1 || all[0]["state"] != "delivered" || all[0]["delivered_at"] == nil {
		t.Fatalf("after sync: %v", all)
	}
	var recs wire.RecordsResponse
	supervisorGet(t, h.url+"/v1/records", supTok, &recs)
	if len(recs.Records) != 1 {
		t.Fatalf("supervisor finds %d records", len(recs.Records))
	}
	var byPlate wire.RecordsResponse
	supervisorPost(t, h.url+wire.PathRecordSearch, supTok, wire.RecordSearch{Plate: "粤B·5D832"}, &byPlate) // a plate travels in a POST body
	if len(byPlate.Records) != 1 || byPlate.Records[0].ID != recs.Records[0].ID {
		t.Fatalf("supervisor finds %d records by plate", len(byPlate.Records))
	}
	got := recs.Records[0]
	if got.ID != id || got.Device != device || got.Verdict != "VALID" || got.Action != "release" || got.Officer != "1001" ||
		got.Plate != "粤B***32" /* masked for supervisors */ || got.Place != "G4 京港澳高速 K12+300" || got.Notes != "例行检查" || len(got.Flags) != 0 {
		t.Fatalf("record at the hub: %+v", got)
	}
}

// TestRecordAdd: every verdict is recorded (exit 0 once stored); what
// cannot be recorded exits 3 and stores nothing; record list --json has
// the documented shape.
func TestRecordAdd(t *testing.T) {
	dir, db := world(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "valid", args: []string{"--qr", readCode(t, dir, "valid-vehicle")}, wantOut: "#1\tVALID\t放行"},
		{name: "limited", args: []string{"--qr", readCode(t, dir, "limited-review-overdue"), "--action", "warning"}, wantOut: "#2\tLIMITED\t口头警告"},
		{name: "invalid", args: []string{"--qr", readCode(t, dir, "invalid-licence-revoked"), "--action", "暂扣"}, wantOut: "#3\tINVALID\t暂扣"},
		{name: "unreadable code", args: []string{"--qr", "hello", "--action", "other", "--action-text", "拍照取证"}, wantOut: "#4\tINVALID\t其他"},
		{name: "image", args: []string{"--image", filepath.Join(dir, "codes", "valid-permit.png")}, wantOut: "#5\tVALID\t放行"},
		{name: "stop with warnings", args: []string{"--qr", readCode(t, dir, "valid-practitioner"), "--stop", "01KBZ7Q0X7R5N3D2VQ8W6HJ4MC",
			"--warnings", "OPERATOR_MISMATCH, DRIVER_NOT_QUALIFIED"}, wantOut: "#6\tVALID"},
		{name: "bad action", args: []string{"--qr", readCode(t, dir, "valid-vehicle"), "--action", "shoot"}, wantCode: ExitError, wantErr: "unknown action"},
		{name: "other without text", args: []string{"--qr", readCode(t, dir, "valid-vehicle"), "--action", "other"}, wantCode: ExitError, wantErr: "needs a text"},
		{name: "no code", args: nil, wantCode: ExitError, wantErr: "give either --qr TEXT or --image FILE"},
		{name: "code and image", args: []string{"--qr", "x", "--image", filepath.Join(dir, "codes", "valid-permit.png")}, wantCode: ExitError, wantErr: "either"},
		{name: "image is not an image", args: []string{"--image", filepath.Join(dir, "bundle.pem")}, wantCode: ExitError, wantErr: "nothing recorded"},
		{name: "missing image", args: []string{"--image", filepath.Join(dir, "none.png")}, wantCode: ExitError, wantErr: "nothing recorded"},
		{name: "warnings without stop", args: []string{"--qr", "x", "--warnings", "PLATE_MISMATCH"}, wantCode: ExitError, wantErr: "--warnings needs --stop"},
		{name: "unknown warning", args: []string{"--qr", "x", "--stop", "S-1", "--warnings", "LOOKS_ODD"}, wantCode: ExitError, wantErr: "unknown warning code"},
		{name: "bad location", args: []string{"--qr", "x", "--loc", "north"}, wantCode: ExitError, wantErr: "LAT,LON"},
		{name: "correction of an unknown record", args: []string{"--qr", "x", "--corrects", "01KBZ7Q0X7R5N3D2VQ8W6HJ4MC"}, wantCode: ExitError, wantErr: "NOT saved"},
		{name: "stray argument", args: []string{"--qr", "x", "extra"}, wantCode: ExitError, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"--db", db, "record", "add"}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", r.code, tt.wantCode, r.stdout, r.stderr)
			}
		})
	}
	list := listJSON(t, db)
	if len(list) != 6 {
		t.Fatalf("%d records stored, want 6 (refused checks store nothing)", len(list))
	}
	wantVerdicts := []string{"VALID", "LIMITED", "INVALID", "INVALID", "VALID", "VALID"}
	for i, e := range list {
		for _, key := range []string{"id", "seq", "device", "wall", "verdict", "action", "state"} {
			if _, ok := e[key]; !ok {
				t.Fatalf("record %d lacks %q: %v", i+1, key, e)
			}
		}
		if e["seq"] != float64(i+1) || e["verdict"] != wantVerdicts[i] || e["state"] != "pending" {
			t.Fatalf("record %d: %v", i+1, e)
		}
		if _, err := records.ParseID(e["id"].(string)); err != nil {
			t.Fatalf("record %d id: %v", i+1, err)
		}
	}
	if v := list[0]; v["plate"] != "粤B5D832" || v["kind"] != float64(3) || v["number"] == "" || v["kid"] == nil || v["holder_id_masked"] == nil {
		t.Fatalf("vehicle record fields: %v", v)
	}
	if r := list[3]; r["kid"] != nil || r["number"] != nil || strings.Join(toStrings(r["reasons"]), ",") != "MALFORMED" || r["action_text"] != "拍照取证" {
		t.Fatalf("unreadable code record: %v", r)
	}
	if s := list[5]; s["stop_id"] != "01KBZ7Q0X7R5N3D2VQ8W6HJ4MC" || strings.Join(toStrings(s["stop_warnings"]), ",") != "OPERATOR_MISMATCH,DRIVER_NOT_QUALIFIED" {
		t.Fatalf("stop record: %v", s)
	}
	if _, ok := list[0]["stop_id"]; ok {
		t.Fatal("a record outside a stop has a stop_id")
	}
	// The holder ID is never printed in full.
	if m, _ := list[0]["holder_id_masked"].(string); !strings.Contains(m, "****") {
		t.Fatalf("holder id shown as %q", m)
	}
	r := run(t, "", "--db", db, "record", "list")
	if r.code != ExitOK || strings.Count(r.stdout, "\n") != 6 || !strings.Contains(r.stdout, "stop:01KBZ7Q0X7R5N3D2VQ8W6HJ4MC OPERATOR_MISMATCH,DRIVER_NOT_QUALIFIED") {
		t.Fatalf("record list: %d %q", r.code, r.stdout)
	}
	if r := run(t, "", "--db", db, "record", "add", "--json", "--qr", readCode(t, dir, "valid-permit")); r.code != ExitOK || !strings.Contains(r.stdout, `"seq": 7`) {
		t.Fatalf("record add --json: %d %q", r.code, r.stdout)
	}
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, s := range l {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

var (
	demoOnce  sync.Once
	demoWorld *demo.World
	demoErr   error
)

// testHub is a real hub (hub.New on a bbolt file) over httptest, with the
// demo world published, at the demo reference time.
type testHub struct {
	url   string
	store *hub.BoltStore
	clk   *clock.Fake
}

func startHub(t *testing.T, wrap func(http.Handler) http.Handler) *testHub {
	t.Helper()
	ctx := context.Background()
	demoOnce.Do(func() { demoWorld, demoErr = demo.Build(demo.DefaultSeed, time.Time{}) })
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := storage.Open(ctx, path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &testHub{clk: clock.NewFake(demo.ReferenceTime)}
	if h.store, err = hub.NewBoltStore(ctx, db); err != nil {
		t.Fatal(err)
	}
	ts, err := trust.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := hub.LoadKeys(hub.KeyFilePath(path), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.AddAnchors(ctx, demoWorld.AnchorsPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Publish(ctx, h.store, ts, demoWorld.BundlePEM, demoWorld.At); err != nil {
		t.Fatal(err)
	}
	srv, err := hub.New(hub.Config{Store: h.store, Trust: ts, Keys: keys, Clock: h.clk})
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = srv
	if wrap != nil {
		handler = wrap(srv)
	}
	hs := httptest.NewServer(handler)
	t.Cleanup(hs.Close)
	h.url = hs.URL
	return h
}

func (h *testHub) token(t *testing.T) string {
	t.Helper()
	tok, err := hub.CreateToken(context.Background(), h.store, hub.RoleDevice, "test", 0, h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// enrolled returns a terminal database (the demo world imported) enrolled
// with h, and its device id.
func enrolled(t *testing.T, h *testHub) (dir, db, device string) {
	t.Helper()
	dir, db = world(t)
	r := run(t, "", "--db", db, "enroll", "--hub", h.url, "--token", h.token(t))
	if r.code != ExitOK {
		t.Fatalf("enroll: %d %s", r.code, r.stderr)
	}
	return dir, db, strings.Fields(r.stdout)[2]
}

func TestEnroll(t *testing.T) {
	h := startHub(t, nil)
	_, db := world(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "bad token", args: []string{"--hub", h.url, "--token", "rcdev_0000"}, wantCode: ExitError, wantErr: "refused the enrolment token"},
		{name: "no token", args: []string{"--hub", h.url}, wantCode: ExitError, wantErr: "--token"},
		{name: "plain HTTP to another host", args: []string{"--hub", "http://192.0.2.1:8443", "--token", "t"}, wantCode: ExitError, wantErr: "plain HTTP is allowed only"},
		{name: "https without the hub's CA", args: []string{"--hub", "https://127.0.0.1:1", "--token", "t"}, wantCode: ExitError, wantErr: "--ca"},
		{name: "unreadable CA file", args: []string{"--hub", "https://127.0.0.1:1", "--token", "t", "--ca", filepath.Join(t.TempDir(), "none.pem")}, wantCode: ExitError, wantErr: "no such file"},
		{name: "good token", args: []string{"--hub", h.url, "--token", h.token(t), "--label", "站点 1"}, wantOut: "enrolled device T-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"--db", db, "enroll"}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", r.code, tt.wantCode, r.stdout, r.stderr)
			}
		})
	}
	devs, err := h.store.Devices(context.Background())
	if err != nil || len(devs) != 1 || devs[0].Label != "站点 1" {
		t.Fatalf("hub devices %+v %v", devs, err)
	}
}

// failing answers 503 to the requests fail selects and passes the rest on.
func failing(fail func(r *http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fail(r) {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestSyncExitCodes: 0 when everything was delivered and the trust data
// is current, 1 when some records remain or were rejected, 2 when every
// record was delivered but the trust pull failed, 3 on an error that
// needs someone (see syncHelp).
func TestSyncExitCodes(t *testing.T) {
	t.Run("0 all delivered", func(t *testing.T) {
		h := startHub(t, nil)
		dir, db, _ := enrolled(t, h)
		for _, code := range []string{"valid-vehicle", "invalid-licence-revoked"} {
			if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, code)); r.code != ExitOK {
				t.Fatal(r.stderr)
			}
		}
		r := run(t, "", "--db", db, "sync")
		if r.code != ExitOK || !strings.Contains(r.stdout, "records: 2 delivered, 0 already at the hub, 0 rejected, 0 flagged, 0 pending") {
			t.Fatalf("exit %d: %q %q", r.code, r.stdout, r.stderr)
		}
		if r := run(t, "", "--db", db, "sync"); r.code != ExitOK || !strings.Contains(r.stdout, "records: 0 delivered") {
			t.Fatalf("nothing to do: %d %q", r.code, r.stdout)
		}
	})
	t.Run("1 rejected", func(t *testing.T) {
		h := startHub(t, nil)
		dir, db, _ := enrolled(t, h)
		for _, note := range []string{"NOTE-A-END", "NOTE-B-END"} {
			if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, "valid-permit"), "--note", note); r.code != ExitOK {
				t.Fatal(r.stderr)
			}
		}
		// Record 2 is edited in the database file: its officer, a field
		// kept in the clear (notes are sealed at rest).
		editPublicBody(t, db, 2, func(body map[uint64]any) {
			if body[7] != "9001" {
				t.Fatalf("record 2's officer is %v", body[7])
			}
			body[7] = "9002"
		})
		r := run(t, "", "--db", db, "sync")
		if r.code != ExitPartial || !strings.Contains(r.stdout, "1 delivered, 0 already at the hub, 1 rejected") ||
			!strings.Contains(r.stdout, "rejected #2") || !strings.Contains(r.stdout, wire.ReasonSignature) ||
			!strings.Contains(r.stderr, "AUDIT: #2 bad_signature") {
			t.Fatalf("exit %d: %q %q", r.code, r.stdout, r.stderr)
		}
		code, l, lr := listCode(t, db)
		if code != ExitPartial || l[1]["state"] != "rejected" || l[1]["hub_reason"] != wire.ReasonSignature || !slices.Contains(toStrings(l[1]["audit"]), "bad_signature") {
			t.Fatalf("edited record: %d %v %q", code, l[1], lr.stderr)
		}
	})
	t.Run("1 some remain", func(t *testing.T) {
		var pushes atomic.Int32
		h := startHub(t, failing(func(r *http.Request) bool {
			return r.Method == http.MethodPost && r.URL.Path == "/v1/records" && pushes.Add(1) > 1
		}))
		_, db, _ := enrolled(t, h)
		// 251 records: one more than a push batch of 250.
		appendDirect(t, db, 251)
		r := run(t, "", "--db", db, "sync", "--retries", "0", "--batch", "250")
		if r.code != ExitPartial || !strings.Contains(r.stdout, "records: 250 delivered, 0 already at the hub, 0 rejected, 0 flagged, 1 pending") ||
			!strings.Contains(r.stderr, "sync incomplete") {
			t.Fatalf("exit %d: %q %q", r.code, r.stdout, r.stderr)
		}
		if p := listJSON(t, db, "--pending"); len(p) != 1 || p[0]["seq"] != float64(251) {
			t.Fatalf("pending %v", p)
		}
	})
	t.Run("0 default batch", func(t *testing.T) {
		var pushes atomic.Int32
		h := startHub(t, failing(func(r *http.Request) bool {
			return r.Method == http.MethodPost && r.URL.Path == "/v1/records" && pushes.Add(1) > 1
		}))
		_, db, _ := enrolled(t, h)
		appendDirect(t, db, 251) // one push of up to defaultSyncBatch
		r := run(t, "", "--db", db, "sync", "--retries", "0")
		if r.code != ExitOK || !strings.Contains(r.stdout, "records: 251 delivered, 0 already at the hub, 0 rejected, 0 flagged, 0 pending") || pushes.Load() != 1 {
			t.Fatalf("exit %d after %d pushes: %q %q", r.code, pushes.Load(), r.stdout, r.stderr)
		}
	})
	t.Run("2 trust not pulled", func(t *testing.T) {
		h := startHub(t, failing(func(r *http.Request) bool { return r.URL.Path == "/v1/trust/manifest" }))
		dir, db, _ := enrolled(t, h)
		if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, "valid-vehicle")); r.code != ExitOK {
			t.Fatal(r.stderr)
		}
		r := run(t, "", "--db", db, "sync", "--retries", "0")
		if r.code != ExitTrustStale || !strings.Contains(r.stdout, "1 delivered") || !strings.Contains(r.stderr, "trust data not current") {
			t.Fatalf("exit %d: %q %q", r.code, r.stdout, r.stderr)
		}
		// Nothing pending, only the trust pull fails: 2, not 1.
		r = run(t, "", "--db", db, "sync", "--retries", "0")
		if r.code != ExitTrustStale || !strings.Contains(r.stdout, "records: 0 delivered, 0 already at the hub, 0 rejected, 0 flagged, 0 pending") {
			t.Fatalf("nothing pending: exit %d: %q %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("1 hub unreachable, records remain", func(t *testing.T) {
		_, db, _ := enrolled(t, startHub(t, nil))
		appendDirect(t, db, 1)
		r := run(t, "", "--db", db, "sync", "--retries", "0", "--hub", hubcmdtest.Dead(t))
		if r.code != ExitPartial || !strings.Contains(r.stderr, "cannot be reached") {
			t.Fatalf("exit %d: %q %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("3 errors", func(t *testing.T) {
		h := startHub(t, nil)
		dir, db, device := enrolled(t, h)
		if r := run(t, "", "--db", db, "record", "add", "--qr", readCode(t, dir, "valid-vehicle")); r.code != ExitOK {
			t.Fatal(r.stderr)
		}
		_, fresh := world(t)
		if err := h.store.RevokeDevice(context.Background(), device, h.clk.Now()); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name    string
			db      string
			args    []string
			wantErr string
		}{
			{name: "not enrolled", db: fresh, wantErr: "not enrolled"},
			{name: "device revoked", db: db, wantErr: "revoked"},
			{name: "plain HTTP to another host", db: db, args: []string{"--hub", "http://192.0.2.1:8443"}, wantErr: "plain HTTP"},
			{name: "bad flag", db: db, args: []string{"--retries", "-1"}, wantErr: "usage"},
			{name: "batch too large", db: db, args: []string{"--batch", "1001"}, wantErr: "--batch N in 1–1000"},
			{name: "batch zero", db: db, args: []string{"--batch", "0"}, wantErr: "usage"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := run(t, "", append([]string{"--db", tt.db, "sync"}, tt.args...)...)
				if r.code != ExitError || !strings.Contains(r.stderr, tt.wantErr) {
					t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
				}
			})
		}
		if p := listJSON(t, db, "--pending"); len(p) != 1 {
			t.Fatalf("the record was lost: %v", p)
		}
	})
}

// appendDirect appends n checks to the terminal database at path through
// the record store (faster than n rcctl runs).
func appendDirect(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Signed in as the officer asOfficer provisions (issue 10: no key file).
	env := &Env{Stdin: strings.NewReader(testPIN + "\n"), Stdout: io.Discard, Stderr: io.Discard, Clock: clock.NewFake(demo.ReferenceTime), DBPath: path, Getenv: func(string) string { return "" }, PINIterations: testIterations}
	rs, _, err := unlockRecords(ctx, env, db, "9001", newPINReader(env, true))
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := rs.Append(ctx, records.Check{Officer: "010203", Action: records.ActionRelease}); err != nil {
			t.Fatal(err)
		}
	}
}
