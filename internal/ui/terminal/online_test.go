package terminal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd/hubcmdtest"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// TestCheckStatusRealHub: the GUI's status checker (SyncService) against
// `rchub serve` over loopback. The hub knows a revocation the terminal's
// lists do not carry: the verdict turns INVALID, found online. Before
// enrolment and while locked there is no hub to ask; with the hub down the
// offline verdict stands without an answer.
func TestCheckStatusRealHub(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(demo.ReferenceTime)
	hubDB := filepath.Join(t.TempDir(), "hub.db")

	// A hub with the demo world, then a delta revoking the valid vehicle
	// licence (published while it is stopped: rchub's database is its own).
	h := hubcmdtest.Serve(t, clk, "--listen", "127.0.0.1:0", "--db", hubDB, "--demo")
	m := regexp.MustCompile(`enrolment token \(one-time, 24 h\): (rcdev_\w+)`).FindStringSubmatch(h.Out.String())
	if m == nil {
		t.Fatalf("no token printed: %q", h.Out.String())
	}
	if code := h.Stop(); code != hubcmd.ExitOK {
		t.Fatalf("rchub serve: %d %s", code, h.Err.String())
	}
	tm, err := Open(ctx, Options{Demo: true, Clock: clk, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	codes := map[string]string{}
	for _, s := range tm.Samples {
		codes[s.Name] = s.Text
	}
	delta := filepath.Join(t.TempDir(), "delta.pem")
	if err := os.WriteFile(delta, revokingDelta(t, tm.Demo, codes["valid-vehicle"]), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := hubcmd.Main(ctx, &hubcmd.Env{Stdout: &out, Stderr: &out, Clock: clk}, []string{"trust", "publish", "--db", hubDB, delta}); code != hubcmd.ExitOK {
		t.Fatalf("rchub trust publish: %d %s", code, out.String())
	}
	h = hubcmdtest.Serve(t, clk, "--listen", "127.0.0.1:0", "--db", hubDB)

	// The sync service pushes records only (no trust store): the
	// terminal's lists stay without the revocation.
	svc := NewSyncService(tm.Records, nil, clk)
	svc.Config = syncclient.Config{Interval: time.Hour}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	v := verify.New(tm.Trust, clk, verify.DefaultPolicy())
	online := v.Online(svc, 0)

	// Not enrolled: not asked.
	if svc.HasHub() {
		t.Fatal("HasHub before enrolment")
	}
	res := online.Verify(ctx, codes["valid-vehicle"], time.Time{})
	if res.Verdict != verify.Valid || res.Online == nil || res.Online.Asked {
		t.Fatalf("before enrolment: %s %+v", res.Verdict, res.Online)
	}
	if _, err := svc.CheckStatus(ctx, make([]byte, credential.KIDSize), "440300", [credential.IDHashSize]byte{}); !errors.Is(err, verify.ErrNoHub) ||
		!errors.Is(err, syncclient.ErrNotEnrolled) {
		t.Fatalf("CheckStatus before enrolment = %v", err)
	}

	if err := svc.Enroll(ctx, syncclient.EnrollOptions{HubURL: h.URL, Token: m[1]}); err != nil {
		t.Fatal(err)
	}
	if !svc.HasHub() {
		t.Fatal("no hub after enrolment")
	}
	if res := v.Verify(ctx, codes["valid-vehicle"], time.Time{}); res.Verdict != verify.Valid {
		t.Fatalf("offline verdict %s: the terminal was not meant to know", res.Verdict)
	}
	res = online.Verify(ctx, codes["valid-vehicle"], time.Time{})
	want := verify.OnlineCheck{Asked: true, At: demo.ReferenceTime, Status: verify.OnlineRevoked, ListSequence: 2*uint64(demo.ReferenceTime.Unix()) + 2, Changed: true}
	if res.Verdict != verify.Invalid || len(res.Reasons) != 1 || res.Reasons[0] != verify.LicenceRevoked || res.Online == nil ||
		!res.Online.At.Equal(want.At) || res.Online.Status != want.Status || res.Online.ListSequence != want.ListSequence || !res.Online.Changed {
		t.Fatalf("online: %s %v %+v", res.Verdict, res.Reasons, res.Online)
	}
	if res.OnlineChinese() != "在线核验：已吊销（中心记录）" {
		t.Fatalf("online line %q", res.OnlineChinese())
	}
	// Another licence of the same list: the hub says active.
	res = online.Verify(ctx, codes["valid-permit"], time.Time{})
	if res.Verdict != verify.Valid || res.Online == nil || res.Online.Status != verify.OnlineActive || res.Online.Changed {
		t.Fatalf("online, active: %s %+v", res.Verdict, res.Online)
	}
	// The terminal's own revocation, which the hub has too.
	res = online.Verify(ctx, codes["invalid-licence-revoked"], time.Time{})
	if res.Verdict != verify.Invalid || res.Online == nil || res.Online.Status != verify.OnlineRevoked || res.Online.Changed {
		t.Fatalf("online, revoked on both: %s %+v", res.Verdict, res.Online)
	}

	// Locked (signed out): the key that signs requests is closed.
	if err := svc.SetRecords(nil); err != nil {
		t.Fatal(err)
	}
	if svc.HasHub() {
		t.Fatal("HasHub while locked")
	}
	if _, err := svc.CheckStatus(ctx, make([]byte, credential.KIDSize), "440300", [credential.IDHashSize]byte{}); !errors.Is(err, verify.ErrNoHub) ||
		!errors.Is(err, ErrLocked) {
		t.Fatalf("CheckStatus while locked = %v", err)
	}
	if err := svc.SetRecords(tm.Records); err != nil {
		t.Fatal(err)
	}

	// The hub is down: the offline verdict, without an answer.
	if code := h.Stop(); code != hubcmd.ExitOK {
		t.Fatalf("rchub serve: %d %s", code, h.Err.String())
	}
	res = online.Verify(ctx, codes["valid-vehicle"], time.Time{})
	if res.Verdict != verify.Valid || res.Online == nil || !res.Online.Asked || res.Online.Answered() || res.Online.Err == "" {
		t.Fatalf("hub down: %s %+v", res.Verdict, res.Online)
	}
	if res.OnlineChinese() != "在线核验：未能连接中心，按离线结果" {
		t.Fatalf("online line %q", res.OnlineChinese())
	}
}

// revokingDelta is a status-list delta of 深圳 (440300) on top of the demo
// world's newest list, revoking the licence of the demo code text.
func revokingDelta(t *testing.T, w *demo.World, text string) []byte {
	t.Helper()
	d, err := credential.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := d.Claims()
	if err != nil {
		t.Fatal(err)
	}
	at := w.At
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
