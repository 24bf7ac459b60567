package hub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/hub/wire/envelope"
	"github.com/roadcheck/roadcheck/internal/records"
)

// Each test here is a finding of the review of issue 11, and fails on the
// hub as it was then.

func statusOf(t *testing.T, res wire.PushResponse, i int) wire.PushResult {
	t.Helper()
	if i >= len(res.Results) {
		t.Fatalf("no result %d in %+v", i, res)
	}
	return res.Results[i]
}

// TestSquattingCannotSuppressEvidence: device A pushes its own record under
// the id of device B's pending record. B's record is still accepted (ids
// are per device), B is not flagged as a tamperer, and both stay; the
// collision is flagged on the device that sent the second record.
func TestSquattingCannotSuppressEvidence(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	a, b := h.enroll("T-ROGUE", "440300"), h.enroll("T-VICTIM", "440300")
	genuine := b.record(h.clk.Now(), records.ID{}, 0)
	r, _ := records.DecodeCanonical(genuine.Body)
	squat := a.record(h.clk.Now(), r.ID, 0)
	if code, res, _ := a.push(squat); code != http.StatusOK || statusOf(t, res, 0).Status != wire.StatusAccepted {
		t.Fatalf("squat: %d %+v", code, res)
	}
	code, res, _ := b.push(genuine)
	got := statusOf(t, res, 0)
	if code != http.StatusOK || got.Status != wire.StatusAccepted || !slices.Contains(got.Flags, wire.FlagIDCollision) {
		t.Fatalf("the genuine record: %d %+v", code, got)
	}
	// Sent again, it is a duplicate (found under B), not an edit.
	if _, res, _ := b.push(genuine); statusOf(t, res, 0).Status != wire.StatusDuplicate {
		t.Fatalf("resent: %+v", res)
	}
	for _, f := range h.flags("T-VICTIM") {
		if f.Kind == wire.FlagKindRejected {
			t.Fatalf("the victim is flagged as tampering: %+v", f)
		}
	}
	// Both records are kept, each under its device.
	sup := h.token(hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: "44"})
	var rr wire.RecordsResponse
	if code := h.supGet(sup, "/v1/records", &rr); code != http.StatusOK || len(rr.Records) != 2 ||
		rr.Records[0].ID != r.ID.String() || rr.Records[1].ID != r.ID.String() || rr.Records[0].Device == rr.Records[1].Device {
		t.Fatalf("records %d %+v", code, rr.Records)
	}
	// The other way round: a copy of a delivered id is flagged on its sender.
	c := h.enroll("T-COPIER", "440300")
	if _, res, _ := c.push(c.record(h.clk.Now(), r.ID, 0)); !slices.Contains(statusOf(t, res, 0).Flags, wire.FlagIDCollision) {
		t.Fatalf("copier: %+v", res)
	}
	kinds := map[string]string{}
	for _, f := range h.flags("") {
		if f.Kind == wire.FlagKindCollision {
			kinds[f.Device] = f.Detail
		}
	}
	if _, ok := kinds["T-COPIER"]; !ok || len(kinds) != 2 {
		t.Fatalf("collision flags %v", kinds)
	}
}

// TestFloodIsThrottled: one terminal cannot push without end: records and
// flags have per-device quotas, answered 429 with Retry-After, and another
// terminal is not affected.
func TestFloodIsThrottled(t *testing.T) {
	lims := limit.Limits{RecordsPerDay: 86400, RecordBurst: 20, FlagsPerDay: 8640, FlagBurst: 5}
	h := newSecHub(t, hub.Security{Limits: &lims})
	rogue, good := h.enroll("T-ROGUE", ""), h.enroll("T-GOOD", "")
	var batch []wire.PushRecord
	for range 20 {
		batch = append(batch, rogue.record(h.clk.Now(), records.ID{}, 0))
	}
	if code, _, _ := rogue.push(batch...); code != http.StatusOK {
		t.Fatalf("first batch: %d", code)
	}
	code, _, hdr := rogue.push(rogue.record(h.clk.Now(), records.ID{}, 0))
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("over the record quota: %d, Retry-After %q", code, hdr.Get("Retry-After"))
	}
	if code, res, _ := good.push(good.record(h.clk.Now(), records.ID{}, 0)); code != http.StatusOK || res.Results[0].Status != wire.StatusAccepted {
		t.Fatalf("another terminal: %d", code)
	}
	// Junk: records whose signature is not the device's raise flags until
	// the flag budget is spent.
	h.clk.Advance(time.Minute)
	var junk []wire.PushRecord
	for range 10 {
		p := rogue.record(h.clk.Now(), records.ID{}, 0)
		p.Sig[10] ^= 1
		junk = append(junk, p)
	}
	if code, res, _ := rogue.push(junk...); code != http.StatusOK || res.Results[0].Reason != wire.ReasonSignature {
		t.Fatalf("junk: %d", code)
	}
	if code, _, hdr := rogue.push(rogue.record(h.clk.Now(), records.ID{}, 0)); code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("after the flag budget: %d", code)
	}
	if n := len(h.flags("T-ROGUE")); n > 10+1 {
		t.Fatalf("%d flags stored", n)
	}
	var refused int
	for _, e := range h.auditEntries() {
		if e.Status == http.StatusTooManyRequests && e.Who == "device T-ROGUE" && e.Outcome == audit.OutcomeRefused {
			refused++
		}
	}
	if refused != 2 || h.srv.SecurityStats().RateLimited != 2 {
		t.Fatalf("refusals logged %d, counted %d", refused, h.srv.SecurityStats().RateLimited)
	}
}

// countingBody counts what the hub reads of a request body.
type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
func (c *countingBody) Close() error { return nil }

// TestBodiesReadOnlyAfterAuthentication: a request naming an enrolled
// device but not signed by it gets 401 before its body is read; an
// unsigned body may be at most wire.MaxPreAuthBody.
func TestBodiesReadOnlyAfterAuthentication(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	d := h.enroll("T-KNOWN", "")
	big := bytes.Repeat([]byte("x"), 8<<20)
	forger, _ := gm.GenerateKey(rand.Reader)
	tests := []struct {
		name     string
		declared bool
		wantRead int64
	}{
		{name: "declared hash, forged signature", declared: true, wantRead: 0},
		{name: "no declared hash", declared: false, wantRead: wire.MaxPreAuthBody + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingBody{r: bytes.NewReader(big)}
			req := httptest.NewRequest(http.MethodPost, "/v1/records", body)
			if err := wire.Sign(req, big, d.id, h.clk.Now(), func(m []byte) ([]byte, error) { return forger.Sign(rand.Reader, m) }); err != nil {
				t.Fatal(err)
			}
			if !tt.declared {
				req.Header.Del(wire.HeaderContentSM3)
			}
			rec := httptest.NewRecorder()
			h.srv.ServeHTTP(rec, req)
			if rec.Code == http.StatusOK || body.n.Load() > tt.wantRead {
				t.Fatalf("answer %d after reading %d bytes (at most %d)", rec.Code, body.n.Load(), tt.wantRead)
			}
		})
	}
}

// blockingBody delivers its bytes only when released.
type blockingBody struct {
	started chan struct{}
	release chan struct{}
	data    []byte
	once    sync.Once
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.started) })
	<-b.release
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}
func (b *blockingBody) Close() error { return nil }

// TestSlowBodiesCapped: a device's slow bodies hold at most
// BodiesPerDevice reads at once; the next request gets 429 instead of
// another buffer.
func TestSlowBodiesCapped(t *testing.T) {
	lims := limit.Limits{BodiesPerDevice: 2, Bodies: 10}
	h := newSecHub(t, hub.Security{Limits: &lims})
	d := h.enroll("T-SLOW", "")
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		payload, _ := json.Marshal(wire.PushRequest{Records: []wire.PushRecord{d.record(h.clk.Now(), records.ID{}, 0)}})
		bb := &blockingBody{started: make(chan struct{}), release: release, data: payload}
		req := httptest.NewRequest(http.MethodPost, "/v1/records", bb)
		wire.Sign(req, payload, d.id, h.clk.Now(), func(m []byte) ([]byte, error) { return d.key.Sign(rand.Reader, m) })
		req.ContentLength = int64(len(payload))
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.srv.ServeHTTP(httptest.NewRecorder(), req)
		}()
		<-bb.started
	}
	payload, _ := json.Marshal(wire.PushRequest{Records: []wire.PushRecord{d.record(h.clk.Now(), records.ID{}, 0)}})
	req := httptest.NewRequest(http.MethodPost, "/v1/records", bytes.NewReader(payload))
	wire.Sign(req, payload, d.id, h.clk.Now(), func(m []byte) ([]byte, error) { return d.key.Sign(rand.Reader, m) })
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	close(release)
	wg.Wait()
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("a third body at once: %d", rec.Code)
	}
}

// TestHubChecksRecordTimes: the hub compares a record's time with its own
// receive time and with its id's time, whatever the device claims.
func TestHubChecksRecordTimes(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	d := h.enroll("T-CLOCK", "")
	now := h.clk.Now()
	future := time.Date(2076, 1, 1, 0, 0, 0, 0, time.UTC)
	old := now.Add(-40 * 24 * time.Hour)
	id1971 := records.IDAt(time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC))
	rand.Read(id1971[6:])
	tests := []struct {
		name     string
		rec      wire.PushRecord
		wantFlag string
	}{
		{name: "on time", rec: d.record(now.Add(-time.Minute), records.ID{}, 0)},
		{name: "from 2076", rec: d.record(future, records.ID{}, 0), wantFlag: wire.FlagClockFuture},
		{name: "40 days old", rec: d.record(old, records.ID{}, 0), wantFlag: wire.FlagClockBackdated},
		{name: "id from 1971", rec: d.record(now, id1971, 0), wantFlag: wire.FlagIDTimeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, res, _ := d.push(tt.rec)
			got := statusOf(t, res, 0)
			if code != http.StatusOK || got.Status != wire.StatusAccepted {
				t.Fatalf("%d %+v", code, got)
			}
			if tt.wantFlag == "" && len(got.Flags) != 0 || tt.wantFlag != "" && !slices.Contains(got.Flags, tt.wantFlag) {
				t.Fatalf("flags %v, want %q", got.Flags, tt.wantFlag)
			}
		})
	}
	// The record whose id says 1971 is found by supervisors among the
	// flagged records and in the flags of the time it arrived.
	sup := h.token(hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: "all"})
	var rr wire.RecordsResponse
	if code := h.supGet(sup, "/v1/records?flagged=true", &rr); code != http.StatusOK || len(rr.Records) != 3 {
		t.Fatalf("flagged records %d %d", code, len(rr.Records))
	}
	var fr wire.FlagsResponse
	from := now.Add(-time.Second).Format(time.RFC3339)
	if code := h.supGet(sup, "/v1/flags?kind=clock&from="+from, &fr); code != http.StatusOK || len(fr.Flags) != 3 {
		t.Fatalf("clock flags since %s: %d %d", from, code, len(fr.Flags))
	}
}

// TestSeqCannotWrap: a record at sequence 2^64−1 (or a million past the
// chain) is refused, and the device's chain counter does not move.
func TestSeqCannotWrap(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	d := h.enroll("T-WRAP", "")
	d.push(d.record(h.clk.Now(), records.ID{}, 0))
	for _, seq := range []uint64{math.MaxUint64, wire.MaxSeq, 2 + wire.MaxSeqAhead + 1} {
		_, res, _ := d.push(d.record(h.clk.Now(), records.ID{}, seq))
		if got := statusOf(t, res, 0); got.Status != wire.StatusRejected || got.Reason != wire.ReasonSeqRange {
			t.Fatalf("seq %d: %+v", seq, got)
		}
	}
	dev, err := h.store.Device(context.Background(), "T-WRAP")
	if err != nil || dev.NextSeq != 2 {
		t.Fatalf("chain head after the refusals: %d %v", dev.NextSeq, err)
	}
	d.next, d.prev = 2, [gm.SM3Size]byte{}
	// The next genuine record still follows (its link is the device's).
}

// TestLookAlikeIDsAndLabels: device ids are A–Z, 0–9 and '-' only; labels
// printable.
func TestLookAlikeIDsAndLabels(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	key, _ := gm.GenerateKey(rand.Reader)
	pub, _ := key.Public().MarshalPKIX()
	tests := []struct {
		name, id, label string
		wantCode        int
	}{
		{name: "plain", id: "T-ABC", label: "深圳一中队", wantCode: http.StatusOK},
		{name: "zero-width space", id: "T-A\u200bBC", wantCode: http.StatusBadRequest},
		{name: "lower case", id: "t-abc", wantCode: http.StatusBadRequest},
		{name: "Cyrillic", id: "T-\u0410BC", wantCode: http.StatusBadRequest},
		{name: "leading dash", id: "-T", wantCode: http.StatusBadRequest},
		{name: "ANSI escape in label", id: "T-ESC", label: "\x1b[31m红\x1b[0m", wantCode: http.StatusBadRequest},
		{name: "bidi override in label", id: "T-BIDI", label: "abc\u202edef", wantCode: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := h.token(hub.RoleDevice, account.Scope{})
			body, _ := json.Marshal(wire.EnrollRequest{Token: tok, DeviceID: tt.id, PublicKey: pub, Label: tt.label})
			resp, err := http.Post(h.http.URL+"/v1/enroll", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("%d, want %d", resp.StatusCode, tt.wantCode)
			}
		})
	}
}

// TestOneGeneric401: before authentication, an unknown device, a bad
// signature and a revoked device with a bad signature all get the same
// answer; a revoked device that signs correctly learns it is revoked.
func TestOneGeneric401(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	d, gone := h.enroll("T-KNOWN", ""), h.enroll("T-GONE", "")
	if err := h.store.RevokeDevice(context.Background(), "T-GONE", h.clk.Now()); err != nil {
		t.Fatal(err)
	}
	forger, _ := gm.GenerateKey(rand.Reader)
	forged := func(id string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, h.http.URL+"/v1/trust/manifest", nil)
		wire.Sign(req, nil, id, h.clk.Now(), func(m []byte) ([]byte, error) { return forger.Sign(rand.Reader, m) })
		return req
	}
	answer := func(req *http.Request) string {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strconv.Itoa(resp.StatusCode) + " " + string(b)
	}
	unknown, badSig, revokedBadSig := answer(forged("T-NOBODY")), answer(forged(d.id)), answer(forged(gone.id))
	if unknown != badSig || badSig != revokedBadSig || !strings.HasPrefix(unknown, "401 ") {
		t.Fatalf("answers differ:\n%s\n%s\n%s", unknown, badSig, revokedBadSig)
	}
	req, _ := http.NewRequest(http.MethodGet, h.http.URL+"/v1/trust/manifest", nil)
	wire.Sign(req, nil, gone.id, h.clk.Now(), func(m []byte) ([]byte, error) { return gone.key.Sign(rand.Reader, m) })
	if got := answer(req); !strings.HasPrefix(got, "403 ") || !strings.Contains(got, wire.CodeDeviceRevoked) {
		t.Fatalf("revoked device, signed: %s", got)
	}
	// The audit log keeps why each was refused.
	var whys []string
	for _, e := range h.auditEntries() {
		if e.Status == http.StatusUnauthorized {
			whys = append(whys, e.Detail)
		}
	}
	if !slices.Contains(whys, "unknown device") || !slices.Contains(whys, "bad request signature") {
		t.Fatalf("audit details %q", whys)
	}
}

// TestReplayAfterRestart: a request captured and replayed after the hub
// restarted is refused: the nonces of the replay window survive in the
// audit log.
func TestReplayAfterRestart(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	d := h.enroll("T-REPLAY", "")
	body, _ := json.Marshal(wire.PushRequest{Records: []wire.PushRecord{d.record(h.clk.Now(), records.ID{}, 0)}})
	req := d.signedRequest(http.MethodPost, "/v1/records", body)
	captured := req.Clone(context.Background())
	if code, _, _ := do(t, req); code != http.StatusOK {
		t.Fatalf("push: %d", code)
	}
	h.restart()
	h.clk.Advance(time.Minute)
	captured.URL.Host = strings.TrimPrefix(h.http.URL, "http://")
	captured.Body = io.NopCloser(bytes.NewReader(body))
	captured.RequestURI = ""
	if code, _, _ := do(t, captured); code != http.StatusUnauthorized {
		t.Fatalf("replay after restart: %d", code)
	}
}

// TestScopeEscape: a supervisor of 44 (广东) sees only the records, flags
// and devices of terminals enrolled in 44; asking for 32's (江苏) device is
// refused, and so is revealing its record.
func TestScopeEscape(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	gd, js := h.enroll("T-GD", "440300"), h.enroll("T-JS", "320100")
	for _, d := range []*device{gd, js} {
		d.push(d.record(h.clk.Now().Add(time.Hour), records.ID{}, 0)) // flagged: a clock ahead
	}
	sup := h.token(hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: "44"})
	var rr wire.RecordsResponse
	if code := h.supGet(sup, "/v1/records", &rr); code != http.StatusOK || len(rr.Records) != 1 || rr.Records[0].Device != "T-GD" {
		t.Fatalf("records of 44: %d %+v", code, rr.Records)
	}
	if code := h.supGet(sup, "/v1/records?device=T-JS", nil); code != http.StatusForbidden {
		t.Fatalf("records of a device of 32: %d", code)
	}
	if code := h.supPost(sup, wire.PathRecordSearch, wire.RecordSearch{Device: "T-JS"}, nil); code != http.StatusForbidden {
		t.Fatalf("search for a device of 32: %d", code)
	}
	var fr wire.FlagsResponse
	if code := h.supGet(sup, "/v1/flags", &fr); code != http.StatusOK || len(fr.Flags) != 1 || fr.Flags[0].Device != "T-GD" {
		t.Fatalf("flags of 44: %d %+v", code, fr.Flags)
	}
	var devs []wire.DeviceView
	if code := h.supGet(sup, "/v1/devices", &devs); code != http.StatusOK || len(devs) != 1 || devs[0].ID != "T-GD" {
		t.Fatalf("devices of 44: %d %+v", code, devs)
	}
	if code := h.supGet(sup, "/v1/records/export", nil); code != http.StatusOK {
		t.Fatalf("export: %d", code)
	}
	if code := h.supGet(sup, "/v1/counters?group=device", nil); code != http.StatusForbidden {
		t.Fatalf("counters of every region for a supervisor of 44: %d", code)
	}
	tok, _ := h.signIn("gd-viewer", account.Viewer, "44")
	var js1 wire.RecordsResponse
	national := h.token(hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: "all"})
	h.supGet(national, "/v1/records?device=T-JS", &js1)
	if code := h.supPost(tok, wire.PathReveal, wire.RevealRequest{Device: "T-JS", ID: js1.Records[0].ID, Reason: "检查投诉"}, nil); code != http.StatusForbidden {
		t.Fatalf("reveal of a record of 32: %d", code)
	}
}

// TestMaskedByDefaultRevealAudited: every response masks personal fields;
// a reveal needs a reason and a session key, is audited before it is
// answered, and comes sealed to the session's key.
func TestMaskedByDefaultRevealAudited(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	d := h.enroll("T-GD", "4403")
	d.push(d.record(h.clk.Now(), records.ID{}, 0))
	tok, key := h.signIn("alice", account.Viewer, "44")
	var rr wire.RecordsResponse
	if code := h.supPost(tok, wire.PathRecordSearch, wire.RecordSearch{Plate: "粤b·5d832"}, &rr); code != http.StatusOK || len(rr.Records) != 1 {
		t.Fatalf("search by plate: %d %d", code, len(rr.Records))
	}
	v := rr.Records[0]
	if v.Holder != "张**" || v.HolderID != "4403**********1234" || v.Plate != "粤B***32" || v.Number != "4403**********1234" {
		t.Fatalf("masked view %+v", v)
	}
	if code := h.supGet(tok, "/v1/records?plate=粤B5D832", nil); code != http.StatusBadRequest {
		t.Fatalf("plate in a URL: %d", code)
	}
	if code := h.supPost(tok, wire.PathReveal, wire.RevealRequest{Device: d.id, ID: v.ID}, nil); code != http.StatusBadRequest {
		t.Fatalf("reveal without a reason: %d", code)
	}
	b, _ := json.Marshal(wire.RevealRequest{Device: d.id, ID: v.ID, Reason: "核实投诉 2026-118"})
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+wire.PathReveal, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != envelope.ContentType || bytes.Contains(sealed, []byte("5D832")) {
		t.Fatalf("reveal: %d %s", resp.StatusCode, sealed)
	}
	plain, err := envelope.Unmarshal(sealed, key, envelope.TypeReveal)
	if err != nil {
		t.Fatal(err)
	}
	var full wire.RecordView
	if err := json.Unmarshal(plain, &full); err != nil || full.Plate != "粤B5D832" || full.HolderID != "440305199001011234" {
		t.Fatalf("revealed %+v %v", full, err)
	}
	// An automation token may not reveal.
	auto := h.token(hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: "44"})
	if code := h.supPost(auto, wire.PathReveal, wire.RevealRequest{Device: d.id, ID: v.ID, Reason: "批量导出"}, nil); code != http.StatusForbidden {
		t.Fatalf("reveal with a static token: %d", code)
	}
	var reveal, search *audit.Entry
	for _, e := range h.auditEntries() {
		switch {
		case e.Action == "record.reveal" && e.Outcome == audit.OutcomeOK:
			reveal = &e
		case e.Action == "POST "+wire.PathRecordSearch && e.Who == "supervisor alice":
			search = &e
		}
	}
	if reveal == nil || reveal.Who != "supervisor alice" || reveal.Reason != "核实投诉 2026-118" || reveal.Rows != 1 ||
		!slices.Equal(reveal.Fields, []string{audit.FieldHolder, audit.FieldHolderID, audit.FieldPlate}) {
		t.Fatalf("reveal entry %+v", reveal)
	}
	if search == nil || search.Rows != 1 || len(search.Fields) != 0 || !strings.Contains(search.Filters, "plate=") || strings.Contains(search.Filters, "5D832") {
		t.Fatalf("search entry %+v", search)
	}
}

// TestAuditTrail: enrolments, pushes, refusals and queries are all in the
// audit log, which verifies; a burst of failures is logged and counted.
func TestAuditTrail(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	d := h.enroll("T-AUDIT", "")
	d.push(d.record(h.clk.Now(), records.ID{}, 0))
	forger, _ := gm.GenerateKey(rand.Reader)
	for range 120 { // a burst of failed authentications
		req, _ := http.NewRequest(http.MethodGet, h.http.URL+"/v1/trust/manifest", nil)
		wire.Sign(req, nil, "T-AUDIT", h.clk.Now(), func(m []byte) ([]byte, error) { return forger.Sign(rand.Reader, m) })
		do(t, req)
	}
	sup := h.token(hub.RoleSupervisor, account.Scope{Role: account.Auditor, Jurisdiction: "all"})
	h.supGet(sup, "/v1/records", nil)
	h.supGet("rcsup_nonsense", "/v1/records", nil)
	actions := map[string]int{}
	for _, e := range h.auditEntries() {
		actions[e.Action+" "+e.Outcome]++
	}
	for _, want := range []string{"device.enroll ok", "POST /v1/records ok", "GET /v1/trust/manifest denied", "GET /v1/records ok",
		"GET /v1/records denied", audit.ActionFailureBurst + " ok"} {
		if actions[want] == 0 {
			t.Errorf("no %q entry in %v", want, actions)
		}
	}
	st := h.srv.SecurityStats()
	if st.Audit.Bursts != 1 || st.Audit.Denied < 120 {
		t.Fatalf("stats %+v", st)
	}
	var ar wire.AuditResponse
	if code := h.supGet(sup, wire.PathAudit+"?who=T-AUDIT&limit=5", &ar); code != http.StatusOK || len(ar.Entries) != 5 || ar.Next == "" {
		t.Fatalf("audit API: %d %d %q", code, len(ar.Entries), ar.Next)
	}
	viewer := h.token(hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: "all"})
	if code := h.supGet(viewer, wire.PathAudit, nil); code != http.StatusForbidden {
		t.Fatalf("a viewer reads the audit log: %d", code)
	}
	h.stop()
	st2, _ := audit.NewBoltStore(context.Background(), mustOpen(t, h.path))
	r, err := audit.Verify(context.Background(), st2, h.keys.SigningKey())
	if err != nil || !r.OK() || r.Tail != 0 || r.Entries < 120 {
		t.Fatalf("verify: %+v %v", r, err)
	}
}

// TestSealedPushes: a push sealed to the hub's key is ingested; a hub that
// requires sealing refuses plain pushes; an envelope for another key is
// refused.
func TestSealedPushes(t *testing.T) {
	h := newSecHub(t, hub.Security{RequireSealed: true})
	d := h.enroll("T-SEAL", "")
	plain, _ := json.Marshal(wire.PushRequest{Records: []wire.PushRecord{d.record(h.clk.Now(), records.ID{}, 0)}})
	if code, _, _ := do(t, d.signedRequest(http.MethodPost, "/v1/records", plain)); code != http.StatusUnsupportedMediaType {
		t.Fatalf("plain push: %d", code)
	}
	sealed, err := envelope.Marshal(h.keys.EncryptionKey(), envelope.TypePush, plain)
	if err != nil {
		t.Fatal(err)
	}
	req := d.signedRequest(http.MethodPost, "/v1/records", sealed)
	req.Header.Set("Content-Type", envelope.ContentType)
	if code, res, _ := do(t, req); code != http.StatusOK || statusOf(t, res, 0).Status != wire.StatusAccepted {
		t.Fatalf("sealed push: %d %+v", code, res)
	}
	other, _ := gm.GenerateKey(rand.Reader)
	wrong, _ := envelope.Marshal(other.Public(), envelope.TypePush, plain)
	req = d.signedRequest(http.MethodPost, "/v1/records", wrong)
	req.Header.Set("Content-Type", envelope.ContentType)
	if code, _, _ := do(t, req); code != http.StatusBadRequest {
		t.Fatalf("push sealed to another key: %d", code)
	}
}

// TestEnrolmentGuessingThrottled: bogus enrolments from one address are
// refused with 429 once its failures are over the quota, and logged.
func TestEnrolmentGuessingThrottled(t *testing.T) {
	lims := limit.Limits{FailuresPerMinute: 6, FailureBurst: 3}
	h := newSecHub(t, hub.Security{Limits: &lims})
	key, _ := gm.GenerateKey(rand.Reader)
	pub, _ := key.Public().MarshalPKIX()
	var codes []int
	for i := range 6 {
		body, _ := json.Marshal(wire.EnrollRequest{Token: "rcdev_guess" + strconv.Itoa(i), DeviceID: "T-GUESS", PublicKey: pub})
		resp, err := http.Post(h.http.URL+"/v1/enroll", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if !slices.Equal(codes, []int{403, 403, 403, 429, 429, 429}) {
		t.Fatalf("answers %v", codes)
	}
	denied := 0
	for _, e := range h.auditEntries() {
		if e.Action == "device.enroll" && (e.Outcome == audit.OutcomeDenied || e.Outcome == audit.OutcomeRefused) {
			denied++
		}
	}
	if denied != 6 {
		t.Fatalf("%d refused enrolments logged", denied)
	}
}

// TestTrustObjectsHaveTheirOwnQuota: downloading trust objects spends the
// device's object budget, not its request budget, so a fresh terminal
// fetching the national set is not throttled as a flood and its other
// requests still pass; past the object budget it gets 429 as well.
func TestTrustObjectsHaveTheirOwnQuota(t *testing.T) {
	lims := limit.Limits{RequestsPerSecond: 0.001, RequestBurst: 2, ObjectsPerSecond: 0.001, ObjectBurst: 5}
	h := newSecHub(t, hub.Security{Limits: &lims})
	d := h.enroll("T-FRESH", "")
	object := "/v1/trust/objects/" + strings.Repeat("ab", 32)
	for i := range 5 {
		if code, _, _ := do(t, d.signedRequest(http.MethodGet, object, nil)); code != http.StatusNotFound {
			t.Fatalf("object %d: %d, want 404 (charged to the object budget)", i, code)
		}
	}
	if code, _, hdr := do(t, d.signedRequest(http.MethodGet, object, nil)); code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("object over its budget: %d", code)
	}
	for i := range 2 {
		if code, _, _ := do(t, d.signedRequest(http.MethodGet, "/v1/trust/manifest", nil)); code == http.StatusTooManyRequests {
			t.Fatalf("request %d after the objects: 429", i)
		}
	}
	if code, _, _ := do(t, d.signedRequest(http.MethodGet, "/v1/trust/manifest", nil)); code != http.StatusTooManyRequests {
		t.Fatalf("request over its budget: %d", code)
	}
}

// TestRevokedWhileCached: a push authenticates against the device as the
// hub cached it at an earlier push; a revocation since (by another hub
// process, on the store) still refuses the next push, stores none of its
// records, and is kept in the audit log — the ingestion transaction
// confirms the device. A replayed push is refused too, once its body is
// read, and charges nothing.
func TestRevokedWhileCached(t *testing.T) {
	h := newSecHub(t, hub.Security{})
	d := h.enroll("T-CACHED", "")
	if code, res, _ := d.push(d.record(h.clk.Now(), records.ID{}, 0)); code != http.StatusOK || res.Results[0].Status != wire.StatusAccepted {
		t.Fatalf("first push: %d %+v", code, res)
	}
	body, _ := json.Marshal(wire.PushRequest{Records: []wire.PushRecord{d.record(h.clk.Now(), records.ID{}, 0)}})
	req := d.signedRequest(http.MethodPost, "/v1/records", body)
	replay := req.Clone(context.Background())
	replay.Body = io.NopCloser(bytes.NewReader(body))
	if code, res, _ := do(t, req); code != http.StatusOK || res.Results[0].Status != wire.StatusAccepted {
		t.Fatalf("second push: %d %+v", code, res)
	}
	if code, _, _ := do(t, replay); code != http.StatusUnauthorized {
		t.Fatalf("replayed push: %d, want 401", code)
	}
	if err := h.store.RevokeDevice(context.Background(), d.id, h.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := d.push(d.record(h.clk.Now(), records.ID{}, 0)); code != http.StatusForbidden {
		t.Fatalf("push after the revocation: %d, want 403", code)
	}
	recs, _, err := h.store.Records(context.Background(), hub.RecordQuery{Device: d.id, Limit: 10})
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records stored (%v), want the 2 pushed before", len(recs), err)
	}
	var details []string
	for _, e := range h.auditEntries() {
		details = append(details, e.Detail)
	}
	if !slices.Contains(details, "revoked device") || !slices.Contains(details, "replayed nonce") {
		t.Fatalf("audit details %q", details)
	}
}
