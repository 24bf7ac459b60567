package syncclient_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// publishPolicyObject makes the hub's manifest name data as its check
// policy with sequence seq, bypassing rchub policy set (a tampered or an
// old policy on the hub).
func publishPolicyObject(t *testing.T, h *hubEnv, data []byte, seq uint64) {
	t.Helper()
	ctx := context.Background()
	ref, err := h.store.PutObject(ctx, wire.ObjectPolicy, data, h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.UpdateManifest(ctx, h.clk.Now(), func(m *hub.Manifest) (bool, error) {
		m.Policy = &hub.ManifestPolicy{Seq: seq, ObjectRef: ref}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestHubPolicyEndToEnd: the hub sets a check policy; the terminal
// enrolled with it (which pinned the hub's policy key) syncs, verifies and
// applies it, and its records carry it to the hub. A tampered policy, one
// signed by another key and an older one are refused as a whole (the
// policy in force stays, the sync says why); an older policy put back in
// the file by hand is refused when loaded, and the next sync puts the
// hub's back.
func TestHubPolicyEndToEnd(t *testing.T) {
	ctx := context.Background()
	w := demoWorld(t)
	clk := clock.NewFake(w.At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	file := policy.FileFor(tm.path)
	c := tm.client(t, func(cfg *syncclient.Config) { cfg.PolicyFile = file })
	load := func() (policy.Policy, error) {
		t.Helper()
		keys, err := tm.rec.PolicyKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return policy.Load(ctx, file, keys)
	}

	// No policy published: nothing to apply, the default in force.
	rep, err := c.PullTrust(ctx)
	if err != nil || rep.Policy != nil {
		t.Fatalf("no policy: %v %+v", err, rep)
	}
	if p, err := load(); err != nil || p != policy.Default() {
		t.Fatalf("default: %v %+v", err, p)
	}

	// The hub sets one: applied at the next sync.
	p1, _, err := hub.SetPolicy(ctx, h.store, h.keys, policy.Policy{ClockSkew: 120 * time.Second, MaxTrustAge: 72 * time.Hour,
		AutoLock: 5 * time.Minute, Retention: 14 * 24 * time.Hour}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	rep, err = c.PullTrust(ctx)
	if err != nil || rep.Policy == nil || !rep.Policy.Applied || rep.Policy.Policy != p1 {
		t.Fatalf("apply: %v %+v", err, rep.Policy)
	}
	if p, err := load(); err != nil || p != p1 || p.KeepRecords() != 14*24*time.Hour {
		t.Fatalf("in force: %v %+v", err, p)
	}
	if st := c.State(); st.PolicySeq != 1 || st.PolicyRefused != "" {
		t.Fatalf("state %+v", st)
	}
	if rep, err := c.PullTrust(ctx); err != nil || !rep.NotModified || rep.Policy != nil {
		t.Fatalf("again: %v %+v", err, rep)
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	// A check made under it carries it, and the hub answers it back.
	ref := p1.Ref()
	if _, err := tm.rec.Append(ctx, records.Check{Officer: "010203", Verdict: 2, Action: records.ActionNone, Policy: &ref}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(ctx); err != nil {
		t.Fatal(err)
	}
	rr, err := c.QueryRecords(ctx, h.token(t, hub.RoleSupervisor), nil)
	if err != nil || len(rr.Records) != 1 || rr.Records[0].Policy != "hub#1 120s/72h" || rr.Records[0].Action != "none" {
		t.Fatalf("the hub's view: %v %+v", err, rr)
	}

	other, err := hub.LoadKeys(hub.KeyFilePath(t.TempDir()+"/other.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	looser := policy.Policy{Source: policy.SourceHub, Seq: 2, Issued: clk.Now().Truncate(time.Second), ClockSkew: 300 * time.Second,
		MaxTrustAge: 7 * 24 * time.Hour, AutoLock: 30 * time.Minute}
	byOther, err := other.SignPolicy(looser)
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(bytes.Replace(good, []byte("clock-skew-seconds: 120"), []byte("clock-skew-seconds: 300"), 1), []byte("seq: 1"), []byte("seq: 2"), 1)
	tests := []struct {
		name    string
		data    []byte
		seq     uint64
		wantErr error
	}{
		{name: "tampered (skew loosened)", data: tampered, seq: 2, wantErr: policy.ErrBadSignature},
		{name: "signed by another key", data: byOther, seq: 2, wantErr: policy.ErrBadSignature},
		{name: "not a policy", data: []byte("RTC1:NOT A POLICY\n"), seq: 2, wantErr: policy.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			publishPolicyObject(t, h, tt.data, tt.seq)
			rep, err := c.PullTrust(ctx)
			if err != nil || rep.Policy == nil || rep.Policy.Applied || !strings.Contains(rep.Policy.Refused, errText(tt.wantErr)) {
				t.Fatalf("pull: %v %+v", err, rep.Policy)
			}
			if now, _ := os.ReadFile(file); !bytes.Equal(now, good) {
				t.Fatal("a refused policy changed the policy file")
			}
			if p, err := load(); err != nil || p != p1 {
				t.Fatalf("in force after the refusal: %v %+v", err, p)
			}
			if st := c.State(); st.PolicySeq != 1 || st.PolicyRefused == "" {
				t.Fatalf("state %+v", st)
			}
			// Not fetched again: the same manifest (304), and with
			// another manifest (a trust update) the refusal is remembered.
			if rep, err := c.PullTrust(ctx); err != nil || !rep.NotModified || rep.Fetched != 0 {
				t.Fatalf("again: %v %+v", err, rep)
			}
			if _, err := h.store.UpdateManifest(ctx, clk.Now(), func(m *hub.Manifest) (bool, error) { return true, nil }); err != nil {
				t.Fatal(err)
			}
			if rep, err := c.PullTrust(ctx); err != nil || rep.Policy == nil || !rep.Policy.Earlier || rep.Fetched != 0 || rep.Policy.Refused == "" {
				t.Fatalf("after a manifest change: %v %+v", err, rep)
			}
		})
	}

	// A newer valid one is applied; then the hub offering the older one
	// again is refused without a download.
	p3, _, err := hub.SetPolicy(ctx, h.store, h.keys, policy.Policy{ClockSkew: 60 * time.Second, MaxTrustAge: 24 * time.Hour, AutoLock: 3 * time.Minute}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := c.PullTrust(ctx); err != nil || rep.Policy == nil || !rep.Policy.Applied || rep.Policy.Policy.Seq != p3.Seq || p3.Seq != 3 {
		t.Fatalf("newer: %v %+v", err, rep.Policy)
	}
	newest, _ := os.ReadFile(file)
	publishPolicyObject(t, h, good, 1)
	rep, err = c.PullTrust(ctx)
	if err != nil || rep.Policy == nil || rep.Policy.Applied || !strings.Contains(rep.Policy.Refused, errText(policy.ErrRollback)) || rep.Fetched != 0 {
		t.Fatalf("older from the hub: %v %+v", err, rep.Policy)
	}
	if p, err := load(); err != nil || p.Seq != 3 {
		t.Fatalf("in force: %v %+v", err, p)
	}

	// Someone puts the older policy back in the file: refused when read
	// (the default is then in force), and the next sync restores the
	// hub's newest.
	publishPolicyObject(t, h, newest, 3)
	if err := os.WriteFile(file, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := load(); !errors.Is(err, policy.ErrRollback) || p != policy.Default() {
		t.Fatalf("rolled back file: %v %+v", err, p)
	}
	rep, err = c.PullTrust(ctx)
	if err != nil || rep.Policy == nil || !rep.Policy.Applied || rep.Policy.Policy.Seq != 3 {
		t.Fatalf("restore: %v %+v", err, rep.Policy)
	}
	if p, err := load(); err != nil || p.Seq != 3 {
		t.Fatalf("restored: %v %+v", err, p)
	}
}

func errText(err error) string { return strings.TrimPrefix(err.Error(), "policy: ") }
