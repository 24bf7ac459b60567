package hub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

var secT0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// secHub is a hub on a bbolt file, served over httptest, with a fake clock.
type secHub struct {
	t     testing.TB
	path  string
	db    *storage.DB
	store *hub.BoltStore
	ts    *trust.Store
	keys  *hub.Keys
	srv   *hub.Server
	http  *httptest.Server
	clk   *clock.Fake
	sec   hub.Security
}

// newSecHub starts a hub; sec configures its protections (limits: none
// unless given, so that only the test's own limits apply).
func newSecHub(t testing.TB, sec hub.Security) *secHub {
	t.Helper()
	h := &secHub{t: t, path: filepath.Join(t.TempDir(), "hub.db"), clk: clock.NewFake(secT0), sec: sec}
	kr, err := hub.OpenKeyring(h.path, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	h.keys = kr.Keys
	h.start()
	return h
}

func (h *secHub) start() {
	t := h.t
	t.Helper()
	ctx := context.Background()
	var err error
	if h.db, err = storage.Open(ctx, h.path, storage.Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	if h.store, err = hub.NewBoltStore(ctx, h.db); err != nil {
		t.Fatal(err)
	}
	if h.ts, err = trust.New(ctx, h.db); err != nil {
		t.Fatal(err)
	}
	sec := h.sec
	if sec.Limits == nil {
		none := limit.Limits{}
		sec.Limits = &none
	}
	if h.srv, err = hub.New(hub.Config{Store: h.store, Trust: h.ts, Keys: h.keys, Clock: h.clk, Security: sec}); err != nil {
		t.Fatal(err)
	}
	h.http = httptest.NewServer(h.srv)
	t.Cleanup(h.stop)
}

// stop stops the hub (as a process exit would: the audit log closed).
func (h *secHub) stop() {
	if h.http == nil {
		return
	}
	h.http.Close()
	h.srv.Close(context.Background())
	h.ts.Close()
	h.db.Close()
	h.http = nil
}

// restart stops the hub and starts a new one on the same files.
func (h *secHub) restart() {
	h.stop()
	h.start()
}

func (h *secHub) accounts() account.Store {
	st, err := h.store.AccountStore(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// token creates a token with a scope.
func (h *secHub) token(role hub.Role, sc account.Scope) string {
	h.t.Helper()
	tok, err := hub.CreateScopedToken(context.Background(), h.store, h.accounts(), role, sc, "test", 0, h.clk.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// device is a terminal of the test: its key, and its chain.
type device struct {
	h    *secHub
	id   string
	key  *gm.PrivateKey
	next uint64
	prev [gm.SM3Size]byte
}

// enroll enrols a device through POST /v1/enroll with a token of the
// jurisdiction ("" : none).
func (h *secHub) enroll(id, jurisdiction string) *device {
	h.t.Helper()
	d := &device{h: h, id: id, next: 1}
	var err error
	if d.key, err = gm.GenerateKey(rand.Reader); err != nil {
		h.t.Fatal(err)
	}
	pub, _ := d.key.Public().MarshalPKIX()
	tok := h.token(hub.RoleDevice, account.Scope{Jurisdiction: jurisdiction})
	body, _ := json.Marshal(wire.EnrollRequest{Token: tok, DeviceID: id, PublicKey: pub, Label: "test " + id})
	resp, err := http.Post(h.http.URL+"/v1/enroll", "application/json", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		h.t.Fatalf("enrol %s: %d %s", id, resp.StatusCode, b)
	}
	return d
}

// record makes the device's next record (id from its wall time unless
// given), signed, and advances its chain.
func (d *device) record(wall time.Time, id records.ID, seq uint64) wire.PushRecord {
	d.h.t.Helper()
	if id.IsZero() {
		id = records.IDAt(wall)
		rand.Read(id[6:])
	}
	if seq == 0 {
		seq = d.next
	}
	r := &records.Record{ID: id, Seq: seq, Device: d.id, Prev: d.prev, Wall: wall,
		Check: records.Check{Officer: "9001", Verdict: verify.Valid, Action: records.ActionRelease, Holder: "张三丰",
			HolderID: "440305199001011234", Plate: "粤B5D832", Number: "440305199001011234"}}
	body, err := r.Canonical()
	if err != nil {
		d.h.t.Fatal(err)
	}
	sig, err := d.key.Sign(rand.Reader, body)
	if err != nil {
		d.h.t.Fatal(err)
	}
	if seq >= d.next {
		d.next, d.prev = seq+1, records.Hash(body)
	}
	return wire.PushRecord{Body: body, Sig: sig}
}

// signedRequest is a request signed by the device.
func (d *device) signedRequest(method, path string, body []byte) *http.Request {
	d.h.t.Helper()
	req, err := http.NewRequest(method, d.h.http.URL+path, bytes.NewReader(body))
	if err != nil {
		d.h.t.Fatal(err)
	}
	if err := wire.Sign(req, body, d.id, d.h.clk.Now(), func(m []byte) ([]byte, error) { return d.key.Sign(rand.Reader, m) }); err != nil {
		d.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// push pushes records; it returns the status and the answer.
func (d *device) push(recs ...wire.PushRecord) (int, wire.PushResponse, http.Header) {
	d.h.t.Helper()
	body, _ := json.Marshal(wire.PushRequest{Records: recs})
	return do(d.h.t, d.signedRequest(http.MethodPost, "/v1/records", body))
}

func do(t testing.TB, req *http.Request) (int, wire.PushResponse, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pr wire.PushResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, pr, resp.Header
}

// supGet sends a supervisor GET and decodes a 200 answer into v.
func (h *secHub) supGet(bearer, path string, v any) int {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	return h.send(req, v)
}

// supPost sends a supervisor POST with a JSON body.
func (h *secHub) supPost(bearer, path string, body, v any) int {
	h.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	return h.send(req, v)
}

func (h *secHub) send(req *http.Request, v any) int {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			h.t.Fatalf("%s %s: %v: %s", req.Method, req.URL.Path, err, b)
		}
	}
	return resp.StatusCode
}

// flags returns the flags of a device (as a national supervisor).
func (h *secHub) flags(dev string) []wire.FlagView {
	h.t.Helper()
	sup := h.token(hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: "all"})
	var fr wire.FlagsResponse
	if code := h.supGet(sup, "/v1/flags?device="+url.QueryEscape(dev), &fr); code != http.StatusOK {
		h.t.Fatalf("flags: %d", code)
	}
	return fr.Flags
}

// auditEntries returns the audit log so far (the hub flushed).
func (h *secHub) auditEntries() []audit.Entry {
	h.t.Helper()
	ctx := context.Background()
	if err := h.srv.Audit().Flush(ctx); err != nil {
		h.t.Fatal(err)
	}
	es, _, err := h.srv.Audit().Store().AuditEntries(ctx, audit.Query{Limit: 10000})
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

// signIn creates a supervisor account and signs it in with a key; it
// returns the session token and the key.
func (h *secHub) signIn(name string, role account.Role, jurisdiction string) (string, *gm.PrivateKey) {
	h.t.Helper()
	ctx := context.Background()
	enr, err := h.srv.Accounts().CreateAccount(ctx, name, role, jurisdiction, "correct horse battery")
	if err != nil {
		h.t.Fatal(err)
	}
	code, err := totp.GenerateCode(enr.Secret, h.clk.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	key, _ := gm.GenerateKey(rand.Reader)
	der, _ := key.Public().MarshalPKIX()
	var sr wire.SessionResponse
	req := wire.SignInRequest{Name: name, Password: "correct horse battery", Code: code, Key: der}
	b, _ := json.Marshal(req)
	hr, _ := http.NewRequest(http.MethodPost, h.http.URL+wire.PathSession, bytes.NewReader(b))
	if st := h.send(hr, &sr); st != http.StatusOK || sr.Token == "" {
		h.t.Fatalf("sign in %s: %d %+v", name, st, sr)
	}
	return sr.Token, key
}

func mustOpen(t testing.TB, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
