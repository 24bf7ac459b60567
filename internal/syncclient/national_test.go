package syncclient_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo/national"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// nationalWorld is a 1 M-entry national world (8 provinces, 40 issuers)
// with two daily 1 % deltas, generated once into the temporary directory
// and reused by later runs.
func nationalWorld(t *testing.T) *national.World {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "roadcheck-national-e2e-1m-v1")
	w, err := national.OpenOrGenerate(context.Background(), national.Config{Seed: 11, Provinces: 8, Issuers: 40, Signers: 120, Entries: 1_000_000, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for d := len(w.Deltas()) + 1; d <= 2; d++ {
		if _, err := w.Delta(context.Background(), d, 0.01); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// worldBundle is a PEM bundle of w: certificates, CRLs and full lists with
// the deltas of days 1..upto (day 0), or the delta lists of one day.
func worldBundle(t *testing.T, w *national.World, day, upto int) []byte {
	t.Helper()
	var objs []national.Object
	for _, o := range w.Manifest().Objects {
		switch {
		case o.Type == national.TypeAnchors:
		case day > 0:
			if o.Type == national.TypeList && o.Base != 0 && o.Day == day {
				objs = append(objs, o)
			}
		case o.Type != national.TypeList || o.Base == 0 || o.Day <= upto:
			objs = append(objs, o)
		}
	}
	var b bytes.Buffer
	if err := w.WriteBundle(context.Background(), &b, objs...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestNationalFeedThroughFaults is the end-to-end test of issue 8 at a
// million entries: a hub publishes a national-shaped set (40 issuers, full
// lists up to 250 k entries, a day of deltas); a fresh terminal syncs it
// through a proxy that cuts downloads, corrupts bytes and drops
// connections; then the hub publishes the next day and the terminal, one
// day behind, syncs again. Every licence revoked in the newest lists must
// verify INVALID (LICENCE_REVOKED), every active one must not, and the
// terminal must hold exactly what the hub offers.
func TestNationalFeedThroughFaults(t *testing.T) {
	ctx := context.Background()
	w := nationalWorld(t)
	clk := clock.NewFake(w.CheckTime())
	h := openHub(t, filepath.Join(t.TempDir(), "hub.db"), storage.Options{NoSync: true}, clk)
	anchors, err := os.ReadFile(w.AnchorsPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.trust.AddAnchors(ctx, anchors); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Publish(ctx, h.store, h.trust, worldBundle(t, w, 0, 1), clk.Now()); err != nil {
		t.Fatal(err)
	}
	hsrv := httptest.NewServer(h.srv)
	t.Cleanup(hsrv.Close)

	// The faults: deterministic per request number.
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(8, 8))
	faults := map[string]int{}
	proxy := newHookProxy(t, hsrv.Listener.Addr().String(), func(n int, req *http.Request, reused bool) hop {
		mu.Lock()
		defer mu.Unlock()
		if !strings.HasPrefix(req.URL.Path, "/v1/trust/") {
			return forward
		}
		switch x := r.IntN(100); {
		case x < 4:
			faults["refused"]++
			return hop{refuse: true}
		case x < 12 && strings.HasPrefix(req.URL.Path, "/v1/trust/objects/"):
			faults["cut"]++
			return hop{cutAfter: 1 + r.Int64N(64<<10), flip: -1}
		case x < 15 && strings.HasPrefix(req.URL.Path, "/v1/trust/objects/"):
			faults["flipped"]++
			return hop{flip: r.Int64N(512)}
		}
		return forward
	})

	tm := nationalTerminal(t, w, anchors, clk)
	tm.enroll(t, h, hsrv.URL)
	c := tm.client(t, func(cfg *syncclient.Config) {
		cfg.HubURL, cfg.RetryMax, cfg.Timeout = proxy.URL(), 6, 30*time.Second
	})
	syncUntil := func(what string) *syncclient.Report {
		t.Helper()
		for round := 1; round <= 40; round++ {
			rep, err := c.Sync(ctx)
			if err == nil {
				t.Logf("%s: complete after %d rounds", what, round)
				return rep
			}
			t.Logf("%s: round %d: %v", what, round, err)
		}
		t.Fatalf("%s: not complete after 40 rounds", what)
		return nil
	}
	syncUntil("fresh terminal")

	// The next day: only that day's deltas travel.
	if _, err := hub.Publish(ctx, h.store, h.trust, worldBundle(t, w, 2, 0), clk.Now()); err != nil {
		t.Fatal(err)
	}
	rep := syncUntil("one day behind")
	if rep.Pull == nil || rep.Pull.Bytes > 2<<20 {
		t.Fatalf("one day behind: %+v, want the deltas only (well under 2 MiB)", rep.Pull)
	}
	mu.Lock()
	t.Logf("faults injected: %v", faults)
	if faults["cut"] == 0 || faults["flipped"] == 0 || faults["refused"] == 0 {
		t.Errorf("not every fault was injected: %v", faults)
	}
	mu.Unlock()

	// The terminal holds what the hub offers, and says so.
	if got, want := tm.trust.Holdings().Lists, h.trust.Holdings().Lists; len(got) != len(want) {
		t.Fatalf("terminal holds %d lists, hub %d", len(got), len(want))
	} else {
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("list %s: terminal %+v, hub %+v", k, got[k], v)
			}
		}
	}
	v := verify.New(tm.trust, clk, verify.DefaultPolicy())
	for _, l := range w.Revoked(40) {
		text, err := w.Code(ctx, l.Issuer, l.Index, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		res := v.Verify(ctx, text, clk.Now())
		if res.Verdict != verify.Invalid || !slices.Contains(res.Reasons, verify.LicenceRevoked) {
			t.Fatalf("licence %s revoked in the newest list: %s %v", l.ID(), res.Verdict, res.Reasons)
		}
	}
	for _, l := range w.Active(40) {
		text, err := w.Code(ctx, l.Issuer, l.Index, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		res := v.Verify(ctx, text, clk.Now())
		if res.Verdict == verify.Invalid {
			t.Fatalf("active licence %s: %s %v", l.ID(), res.Verdict, res.Reasons)
		}
	}
}

// nationalTerminal is a fresh terminal with the national world's anchor.
func nationalTerminal(t *testing.T, w *national.World, anchors []byte, clk clock.Clock) *terminal {
	t.Helper()
	ctx := context.Background()
	tm := &terminal{path: filepath.Join(t.TempDir(), "terminal.db"), clk: clk}
	var err error
	if tm.db, err = storage.Open(ctx, tm.path, storage.Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.db.Close() })
	if tm.rec, err = records.Open(ctx, tm.db, records.KeyFile(records.KeyFilePath(tm.path)), records.Options{Clock: clk}); err != nil {
		t.Fatal(err)
	}
	if tm.trust, err = trust.New(ctx, tm.db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.trust.Close() })
	if _, err := tm.trust.AddAnchors(ctx, anchors); err != nil {
		t.Fatal(err)
	}
	return tm
}
