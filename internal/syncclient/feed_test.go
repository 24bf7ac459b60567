package syncclient_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// demoSeq is the sequence of the demo world's full status lists (its
// 440300 delta is demoSeq+1).
func demoSeq(t testing.TB) uint64 { return 2 * uint64(demoWorld(t).At.Unix()) }

func sampleText(t testing.TB, name string) string {
	t.Helper()
	for _, s := range demoWorld(t).Samples {
		if s.Name == name {
			return s.Text
		}
	}
	t.Fatalf("no demo sample %q", name)
	return ""
}

// licenceHash is the status-list key of a demo sample's licence, read by
// verifying it against the hub's trust store (which holds everything).
func licenceHash(t testing.TB, h *hubEnv, name string) [credential.IDHashSize]byte {
	t.Helper()
	w := demoWorld(t)
	res := verify.New(h.trust, clock.NewFake(w.At), verify.Policy{}).Verify(context.Background(), sampleText(t, name), w.At)
	if res.Claims == nil {
		t.Fatalf("sample %s does not verify on the hub: %v %v", name, res.Verdict, res.Reasons)
	}
	return credential.IDHash(res.Claims.Credential.ID)
}

// szList signs a status list of issuer 440300 (full when base is 0) with n
// filler entries and the given licences revoked.
func szList(t testing.TB, seq, base uint64, n int, revoked ...[credential.IDHashSize]byte) []byte {
	t.Helper()
	w := demoWorld(t)
	l := &credential.StatusList{Issuer: "440300", Sequence: seq, Base: base,
		ThisUpdate: w.At.Add(-time.Hour).Unix(), NextUpdate: w.At.Add(6 * 24 * time.Hour).Unix()}
	for i := range n {
		l.Entries = append(l.Entries, credential.StatusEntry{IDHash: credential.IDHash(fmt.Sprintf("filler %d/%d", seq, i)),
			Status: credential.StatusSuspended, Since: w.At.Add(-48 * time.Hour).Unix()})
	}
	for _, id := range revoked {
		l.Entries = append(l.Entries, credential.StatusEntry{IDHash: id, Status: credential.StatusRevoked, Since: w.At.Add(-2 * time.Hour).Unix()})
	}
	cose, err := w.Signers["shenzhen"].SignStatusList(nil, l)
	if err != nil {
		t.Fatal(err)
	}
	return cose
}

func publish(t testing.TB, h *hubEnv, coses ...[]byte) *hub.PublishReport {
	t.Helper()
	var b issuer.Bundle
	for _, c := range coses {
		b.AddStatusList(c)
	}
	rep, err := hub.Publish(context.Background(), h.store, h.trust, b.PEM(), h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Import.Blocks {
		if r.Err != nil {
			t.Fatalf("hub refused %s: %v", r.Label, r.Err)
		}
	}
	return rep
}

func objectPath(cose []byte) string {
	d := gm.SM3(cose)
	return "/v1/trust/objects/" + trust.Hash(d).String()
}

// verdict verifies a demo sample on the terminal.
func (tm *terminal) verdict(t testing.TB, name string) *verify.Result {
	t.Helper()
	w := demoWorld(t)
	return verify.New(tm.trust, tm.clk, verify.Policy{}).Verify(context.Background(), sampleText(t, name), w.At)
}

func revokedOn(res *verify.Result) bool {
	return res.Verdict == verify.Invalid && res.Has(verify.LicenceRevoked)
}

// TestPullCutResumesAndRecordsOnlyWhatIsImported is the regression test of
// the feed that was read up to an in-memory limit and recorded as applied:
// a fresh terminal pulls a large status list whose transfer is cut (and
// the hub then gone). The round fails loudly, the revocation in the list is
// not claimed, nothing is recorded; the next round resumes the object with
// a Range request (less than twice its size received in all) and the
// licence revoked in the newest list verifies INVALID LICENCE_REVOKED.
func TestPullCutResumesAndRecordsOnlyWhatIsImported(t *testing.T) {
	ctx := context.Background()
	w := demoWorld(t)
	clk := clock.NewFake(w.At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	id := licenceHash(t, h, "valid-vehicle")
	big := szList(t, demoSeq(t)+2, 0, 200_000, id)
	publish(t, h, big)

	var down, cut atomic.Bool
	var mu sync.Mutex
	var bigBytes int64
	var ranges []string
	var inm []string
	proxy := newHookProxy(t, h.http.Listener.Addr().String(), func(n int, r *http.Request, reused bool) hop {
		if down.Load() {
			return hop{refuse: true}
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/v1/trust/manifest":
			inm = append(inm, r.Header.Get("If-None-Match"))
		case objectPath(big):
			ranges = append(ranges, r.Header.Get("Range"))
			if !cut.Swap(true) {
				down.Store(true) // after this answer is cut, the hub is gone
				bigBytes += int64(len(big) / 3)
				return hop{cutAfter: int64(len(big) / 3), flip: -1}
			}
		}
		return forward
	})
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	c := tm.client(t, func(cfg *syncclient.Config) { cfg.HubURL, cfg.RetryMax = proxy.URL(), 2 })

	rep, err := c.Sync(ctx)
	if !errors.Is(err, syncclient.ErrTrustIncomplete) || syncclient.KindOf(err) != syncclient.KindTrustIncomplete {
		t.Fatalf("cut transfer: %v (kind %v), want ErrTrustIncomplete", err, syncclient.KindOf(err))
	}
	if st := c.State(); st.LastErrorKind != syncclient.KindTrustIncomplete || st.FeedSeq != 0 {
		t.Fatalf("state after the cut: %+v", st)
	}
	if res := tm.verdict(t, "valid-vehicle"); revokedOn(res) {
		t.Fatal("the revocation of a list not received is claimed")
	}
	if rep.Pull == nil || rep.Pull.Bytes < int64(len(big)/3) {
		t.Fatalf("pull report after the cut: %+v", rep.Pull)
	}

	down.Store(false)
	before := proxy.objectBytes.Load()
	rep, err = c.Sync(ctx)
	if err != nil {
		t.Fatalf("second sync: %v", err)
	}
	second := proxy.objectBytes.Load() - before
	mu.Lock()
	gotRanges, gotINM := slices.Clone(ranges), slices.Clone(inm)
	mu.Unlock()
	want := fmt.Sprintf("bytes=%d-", len(big)/3)
	if len(gotRanges) != 2 || gotRanges[0] != "" || gotRanges[1] != want {
		t.Fatalf("requests for the large list: ranges %q, want [\"\" %q]", gotRanges, want)
	}
	if total := bigBytes + second; total >= 2*int64(len(big)) || rep.Pull.Bytes > int64(len(big)) {
		t.Fatalf("received %d bytes for a list of %d (report %d): not resumed", total, len(big), rep.Pull.Bytes)
	}
	if gotINM[len(gotINM)-1] != "" {
		t.Fatalf("the round after a failed one sent If-None-Match %q: something was recorded", gotINM[len(gotINM)-1])
	}
	if res := tm.verdict(t, "valid-vehicle"); !revokedOn(res) {
		t.Fatalf("after the resumed pull: %v %v, want INVALID LICENCE_REVOKED", res.Verdict, res.Reasons)
	}
	// Now recorded: the next round is a 304.
	rep, err = c.Sync(ctx)
	if err != nil || !rep.Pull.NotModified || c.State().FeedSeq != rep.Pull.FeedSeq || rep.Pull.FeedSeq == 0 {
		t.Fatalf("third sync: %+v %v", rep.Pull, err)
	}
}

// TestPullCorruptObject: an object corrupted on the way is refused by its
// digest and fetched again; corrupted every time, the round fails and
// nothing of it is applied.
func TestPullCorruptObject(t *testing.T) {
	ctx := context.Background()
	w := demoWorld(t)
	clk := clock.NewFake(w.At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	id := licenceHash(t, h, "valid-vehicle")
	list := szList(t, demoSeq(t)+2, 0, 500, id)
	publish(t, h, list)
	for _, tt := range []struct {
		name      string
		flips     int // answers corrupted
		wantErr   error
		wantFetch int // requests for the object
	}{
		{name: "once", flips: 1, wantFetch: 2},
		{name: "always", flips: 99, wantErr: syncclient.ErrObjectDigest, wantFetch: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var fetches atomic.Int32
			proxy := newHookProxy(t, h.http.Listener.Addr().String(), func(n int, r *http.Request, reused bool) hop {
				if r.URL.Path == objectPath(list) && int(fetches.Add(1)) <= tt.flips {
					return hop{flip: 100}
				}
				return forward
			})
			tm := newTerminal(t, storage.Options{NoSync: true}, clk)
			tm.enroll(t, h, h.http.URL)
			c := tm.client(t, func(cfg *syncclient.Config) { cfg.HubURL = proxy.URL() })
			_, err := c.Sync(ctx)
			if !errors.Is(err, tt.wantErr) || int(fetches.Load()) != tt.wantFetch {
				t.Fatalf("sync: %v after %d requests, want %v after %d", err, fetches.Load(), tt.wantErr, tt.wantFetch)
			}
			if tt.wantErr != nil && !errors.Is(err, syncclient.ErrTrustIncomplete) {
				t.Fatalf("%v is not ErrTrustIncomplete", err)
			}
			if got := revokedOn(tm.verdict(t, "valid-vehicle")); got != (tt.wantErr == nil) {
				t.Fatalf("revocation applied = %v", got)
			}
		})
	}
}

// rewriter serves the hub with the manifest's sequence replaced while
// seq is non-zero.
type rewriter struct {
	next http.Handler
	seq  atomic.Uint64
}

func (rw *rewriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seq := rw.seq.Load()
	if r.URL.Path != "/v1/trust/manifest" || seq == 0 {
		rw.next.ServeHTTP(w, r)
		return
	}
	r.Header.Del("If-None-Match")
	rec := httptest.NewRecorder()
	rw.next.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	var m wire.TrustManifest
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	m.Seq = seq
	w.Header().Set("ETag", fmt.Sprintf(`"hostile-%d"`, seq))
	w.Header().Set(wire.HeaderHubTime, rec.Header().Get(wire.HeaderHubTime))
	json.NewEncoder(w).Encode(m)
}

// TestManifestBackwardsAndHugeSequence: a hub that once announced a huge
// sequence, then an ordinary one of the same epoch: the backward manifest
// is refused once (and said so), then followed — the terminal is not
// stalled and catches the revocation published meanwhile.
func TestManifestBackwardsAndHugeSequence(t *testing.T) {
	ctx := context.Background()
	w := demoWorld(t)
	clk := clock.NewFake(w.At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	rw := &rewriter{next: h.srv}
	srv := httptest.NewServer(rw)
	t.Cleanup(srv.Close)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, srv.URL)
	c := tm.client(t, nil)

	const huge = 1<<64 - 2
	rw.seq.Store(huge)
	if rep, err := c.Sync(ctx); err != nil || rep.Pull.FeedSeq != huge {
		t.Fatalf("sync with a huge sequence: %+v %v", rep, err)
	}
	id := licenceHash(t, h, "valid-vehicle")
	publish(t, h, szList(t, demoSeq(t)+2, demoSeq(t)+1, 3, id))
	rw.seq.Store(0) // the hub's own sequence again: 2

	_, err := c.Sync(ctx)
	if !errors.Is(err, syncclient.ErrManifestBackwards) || syncclient.KindOf(err) != syncclient.KindProtocol {
		t.Fatalf("backward manifest: %v (kind %v)", err, syncclient.KindOf(err))
	}
	if revokedOn(tm.verdict(t, "valid-vehicle")) {
		t.Fatal("a refused manifest was applied")
	}
	rep, err := c.Sync(ctx)
	if err != nil || rep.Pull.FeedSeq != 2 || rep.Pull.Fetched != 1 {
		t.Fatalf("the round after: %+v %v", rep.Pull, err)
	}
	if res := tm.verdict(t, "valid-vehicle"); !revokedOn(res) {
		t.Fatalf("after following the hub: %v %v", res.Verdict, res.Reasons)
	}
}

// switchable serves whichever handler it holds: a hub replaced behind the
// same address.
type switchable struct{ h atomic.Pointer[http.Handler] }

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }

func (s *switchable) set(h http.Handler) { s.h.Store(&h) }

// TestNewEpochFollowed: a hub whose feed starts a new generation (restored)
// and a hub whose database was made anew (a new hub id) are both followed
// from what the terminal holds: nothing held is fetched again.
func TestNewEpochFollowed(t *testing.T) {
	ctx := context.Background()
	w := demoWorld(t)
	clk := clock.NewFake(w.At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	sw := &switchable{}
	sw.set(h.srv)
	srv := httptest.NewServer(sw)
	t.Cleanup(srv.Close)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, srv.URL)
	c := tm.client(t, nil)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := h.store.NewGeneration(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Sync(ctx)
	if err != nil || !rep.Pull.NewEpoch || rep.Pull.Fetched != 0 || rep.Pull.NotModified {
		t.Fatalf("after a new generation: %+v %v", rep.Pull, err)
	}

	// The hub's database is made anew: same anchors and bundle, one delta
	// more, the terminal enrolled there too.
	h2 := openHub(t, filepath.Join(t.TempDir(), "hub2.db"), storage.Options{NoSync: true}, clk)
	if _, err := h2.trust.AddAnchors(ctx, w.AnchorsPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Publish(ctx, h2.store, h2.trust, w.BundlePEM, w.At); err != nil {
		t.Fatal(err)
	}
	id := licenceHash(t, h2, "valid-vehicle")
	delta := szList(t, demoSeq(t)+2, demoSeq(t)+1, 3, id)
	publish(t, h2, delta)
	tok := h2.token(t, hub.RoleDevice)
	if err := h2.store.Enroll(ctx, gm.SM3([]byte(tok)), hub.Device{ID: tm.rec.DeviceID(), PublicKey: tm.rec.PublicKeyDER(), NextSeq: 1}, w.At); err != nil {
		t.Fatal(err)
	}
	sw.set(h2.srv)
	rep, err = c.Sync(ctx)
	if err != nil || !rep.Pull.NewEpoch || rep.Pull.Fetched != 1 || rep.Pull.Bytes != int64(len(delta)) {
		t.Fatalf("after the hub was rebuilt: %+v %v", rep.Pull, err)
	}
	if !revokedOn(tm.verdict(t, "valid-vehicle")) {
		t.Fatal("the delta of the rebuilt hub was not applied")
	}
}

// TestCatchUp: a terminal one delta behind downloads only that delta; one
// far behind gets the latest full list and the deltas after it, never the
// deltas the full list superseded.
func TestCatchUp(t *testing.T) {
	ctx := context.Background()
	w := demoWorld(t)
	clk := clock.NewFake(w.At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	proxy := newHookProxy(t, h.http.Listener.Addr().String(), func(int, *http.Request, bool) hop { return forward })
	far := newTerminal(t, storage.Options{NoSync: true}, clk)
	far.enroll(t, h, h.http.URL)
	near := newTerminal(t, storage.Options{NoSync: true}, clk)
	near.enroll(t, h, h.http.URL)
	cfar := far.client(t, func(cfg *syncclient.Config) { cfg.HubURL = proxy.URL() })
	cnear := near.client(t, func(cfg *syncclient.Config) { cfg.HubURL = proxy.URL() })
	for _, c := range []*syncclient.Client{cfar, cnear} {
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s := demoSeq(t)
	id := licenceHash(t, h, "valid-vehicle")
	d2 := szList(t, s+2, s+1, 2000)
	publish(t, h, d2)
	rep, err := cnear.Sync(ctx)
	if err != nil || rep.Pull.Fetched != 1 || rep.Pull.Bytes != int64(len(d2)) {
		t.Fatalf("one delta behind: %+v %v", rep.Pull, err)
	}

	f3, d4 := szList(t, s+3, 0, 100), szList(t, s+4, s+3, 1, id)
	publish(t, h, f3, d4)
	n := len(proxy.paths())
	rep, err = cfar.Sync(ctx)
	if err != nil || rep.Pull.Fetched != 2 || rep.Pull.Bytes != int64(len(f3)+len(d4)) {
		t.Fatalf("far behind: %+v %v", rep.Pull, err)
	}
	got := proxy.paths()[n:]
	for _, p := range got {
		if strings.Contains(p, objectPath(d2)) {
			t.Fatalf("far behind fetched a superseded delta: %v", got)
		}
	}
	if !revokedOn(far.verdict(t, "valid-vehicle")) {
		t.Fatal("far behind: revocation not applied")
	}
}

// nonceLog records the nonce of every request that reaches the hub and
// the hub's error codes.
type nonceLog struct {
	next   http.Handler
	mu     sync.Mutex
	nonces map[string]int
	codes  []string
}

func (l *nonceLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	l.next.ServeHTTP(rec, r)
	l.mu.Lock()
	l.nonces[r.Header.Get(wire.HeaderNonce)]++
	if rec.Code >= 400 {
		var e wire.Error
		json.Unmarshal(rec.Body.Bytes(), &e)
		l.codes = append(l.codes, e.Code)
	}
	l.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func (l *nonceLog) repeated() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n, k := range l.nonces {
		if k > 1 {
			out = append(out, n)
		}
	}
	return out
}

// TestTransportRetriesSignedAfresh: answers lost on reused connections
// after the hub acted (where http.Transport would silently send the same
// GET again, same nonce) and answers lost by a duplicated delivery (the
// hub answers the copy "replay"): every request reaches the hub with a
// nonce of its own, or is answered "replay" and signed again once; the
// sync succeeds.
func TestTransportRetriesSignedAfresh(t *testing.T) {
	ctx := context.Background()
	w := demoWorld(t)
	clk := clock.NewFake(w.At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	for _, tt := range []struct {
		name       string
		hop        func(n int, r *http.Request, reused bool) hop
		wantReplay int
	}{
		{name: "lost answers on reused connections", hop: func(n int, r *http.Request, reused bool) hop {
			if reused && r.Method == http.MethodGet && n%2 == 0 {
				return hop{lostAnswer: true, flip: -1}
			}
			return forward
		}},
		{name: "duplicated deliveries", hop: func(n int, r *http.Request, reused bool) hop {
			if r.Method == http.MethodGet && n%3 == 1 {
				return hop{duplicate: true, flip: -1}
			}
			return forward
		}, wantReplay: -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := &nonceLog{next: h.srv, nonces: map[string]int{}}
			srv := httptest.NewServer(log)
			t.Cleanup(srv.Close)
			var applied atomic.Int32
			proxy := newHookProxy(t, srv.Listener.Addr().String(), func(n int, r *http.Request, reused bool) hop {
				hp := tt.hop(n, r, reused)
				if hp.lostAnswer || hp.duplicate {
					applied.Add(1)
				}
				return hp
			})
			tm := newTerminal(t, storage.Options{NoSync: true}, clk)
			tm.enroll(t, h, srv.URL)
			tm.appendN(t, 3, nil)
			c := tm.client(t, func(cfg *syncclient.Config) { cfg.HubURL, cfg.BatchSize = proxy.URL(), 1 })
			rep, err := c.Sync(ctx)
			if err != nil || rep.Push.Remaining != 0 || rep.Pull.Fetched == 0 {
				log.mu.Lock()
				t.Logf("codes %v nonces %v paths %v", log.codes, log.nonces, proxy.paths())
				log.mu.Unlock()
				t.Fatalf("sync: %+v %v", rep, err)
			}
			if applied.Load() == 0 {
				t.Fatal("no fault was injected")
			}
			log.mu.Lock()
			codes := slices.Clone(log.codes)
			log.mu.Unlock()
			replays := 0
			for _, code := range codes {
				if code == wire.CodeReplay {
					replays++
				}
			}
			switch {
			case tt.wantReplay == 0 && (len(log.repeated()) != 0 || replays != 0):
				t.Fatalf("a request reached the hub twice with one nonce: %v (codes %v)", log.repeated(), codes)
			case tt.wantReplay < 0 && replays == 0:
				t.Fatalf("the hub never answered replay (codes %v): the test did not exercise it", codes)
			}
		})
	}
}

// TestPullLeavesNoFiles: after a complete pull the incoming directory holds
// only the feed state and the pull lock.
func TestPullLeavesNoFiles(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(demoWorld(t).At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	if _, err := tm.client(t, nil).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := filepath.Glob(filepath.Join(tm.trust.IncomingDir(), "*"))
	if err != nil || len(left) != 2 || filepath.Base(left[0]) != "feed.json" || filepath.Base(left[1]) != "pull.lock" {
		t.Fatalf("incoming directory holds %v (%v)", left, err)
	}
	if !bytes.Contains(mustRead(t, left[0]), []byte(`"seq":1`)) {
		t.Fatalf("feed state %s", mustRead(t, left[0]))
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRefusedObjectsRemembered: an object the terminal's trust store
// refuses (here the hub's CRL of a CA, older than the one the terminal
// holds) is reported with the reason and not fetched again, until
// RefusalMemory has passed.
func TestRefusedObjectsRemembered(t *testing.T) {
	ctx := context.Background()
	w := demoWorld(t)
	clk := clock.NewFake(w.At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	proxy := newHookProxy(t, h.http.Listener.Addr().String(), func(int, *http.Request, bool) hop { return forward })
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	gd := w.CAs["44"]
	newer, err := gd.CRL(rand.Reader, 9999, w.At.Add(-time.Minute), w.At.Add(7*24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b issuer.Bundle
	b.AddCert(gd.DER)
	b.AddCRL(newer)
	if _, err := tm.trust.Import(ctx, b.PEM()); err != nil {
		t.Fatal(err)
	}
	c := tm.client(t, func(cfg *syncclient.Config) { cfg.HubURL = proxy.URL() })
	rep, err := c.Sync(ctx)
	if err != nil || len(rep.Pull.Refused) != 1 || !strings.HasPrefix(rep.Pull.Refused[0].What, "CRL of CA") ||
		!strings.Contains(rep.Pull.Refused[0].Reason, "newer") || rep.Pull.Refused[0].Earlier {
		t.Fatalf("first sync: %+v %v", rep.Pull, err)
	}
	crl := "/v1/trust/objects/" + rep.Pull.Refused[0].Digest
	fetches := func() int {
		n := 0
		for _, p := range proxy.paths() {
			if strings.Contains(p, crl) {
				n++
			}
		}
		return n
	}
	// The manifest changes: the refused CRL is not fetched again.
	publish(t, h, szList(t, demoSeq(t)+2, demoSeq(t)+1, 1))
	rep, err = c.Sync(ctx)
	if err != nil || rep.Pull.Fetched != 1 || len(rep.Pull.Refused) != 1 || !rep.Pull.Refused[0].Earlier || fetches() != 1 {
		t.Fatalf("second sync: %+v %v (CRL fetched %d times)", rep.Pull, err, fetches())
	}
	// Unchanged: 304.
	if rep, err = c.Sync(ctx); err != nil || !rep.Pull.NotModified {
		t.Fatalf("third sync: %+v %v", rep.Pull, err)
	}
	// A day later it is tried again.
	clk.Advance(syncclient.RefusalMemory)
	rep, err = c.Sync(ctx)
	if err != nil || rep.Pull.NotModified || len(rep.Pull.Refused) != 1 || rep.Pull.Refused[0].Earlier || fetches() != 2 {
		t.Fatalf("a day later: %+v %v (CRL fetched %d times)", rep.Pull, err, fetches())
	}
}
