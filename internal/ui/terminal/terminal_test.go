package terminal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/keys/keystest"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Demo mode builds the demo world for the clock's time into a temporary
// database: every sample verifies as the world promises, and Close removes
// the directory.
func TestOpenDemo(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(demo.ReferenceTime)
	tm, err := Open(ctx, Options{Demo: true, Clock: clk, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := tm.Dir
	if len(tm.Samples) != len(tm.Demo.Samples) || len(tm.Samples) < 20 {
		t.Fatalf("%d samples", len(tm.Samples))
	}
	v := verify.New(tm.Trust, clk, verify.DefaultPolicy())
	for _, s := range tm.Samples {
		if got := v.Verify(ctx, s.Text, clk.Now()).Verdict.String(); got != s.Verdict {
			t.Errorf("%s: %s, want %s", s.Name, got, s.Verdict)
		}
	}
	if sum := tm.Trust.Summary(clk.Now(), verify.DefaultPolicy().MaxTrustAge); len(sum.Anchors) != 1 || len(sum.Lists) == 0 {
		t.Errorf("trust summary: %d anchors, %d lists", len(sum.Anchors), len(sum.Lists))
	}
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("demo directory %s left behind: %v", dir, err)
	}
}

// Outside demo mode the database lives in Dir; a terminal that is not
// enrolled has a sync service in the zero state that does nothing.
func TestOpenDirNotEnrolled(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	tm, err := Open(ctx, Options{Dir: dir, NoSync: true, Device: "none", Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
		t.Fatal(err)
	}
	if tm.Samples != nil || tm.Demo != nil {
		t.Error("demo data outside demo mode")
	}
	if err := tm.Sync.Start(ctx); err != nil {
		t.Fatalf("Start on a terminal that is not enrolled: %v", err)
	}
	ch, unsub := tm.Sync.Subscribe()
	defer unsub()
	if st := <-ch; st != (syncclient.State{}) || tm.Sync.State() != (syncclient.State{}) {
		t.Errorf("state %+v", st)
	}
	tm.Sync.Trigger()
	if _, err := tm.Sync.SyncState(ctx); !errors.Is(err, ErrLocked) {
		t.Errorf("SyncState while locked: %v", err)
	}
	// The first supervisor (the set-up screen) and their first sign-in:
	// the device is created under the vault, with no key file.
	if _, err := tm.Vault.Provision(ctx, keys.Officer{ID: "9001", Name: "陈刚", Role: keys.RoleSupervisor}, "900190", nil); err != nil {
		t.Fatal(err)
	}
	st, _, err := tm.Unlock(ctx, "9001", "900190")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := tm.Audit(ctx); err != nil || a == nil || !a.OK() {
		t.Errorf("audit at sign-in: %+v %v", a, err)
	}
	if err := tm.Sync.SetRecords(st); err != nil {
		t.Fatal(err)
	}
	if s, err := tm.Sync.SyncState(ctx); err != nil || s.HubURL != "" {
		t.Errorf("SyncState = %+v, %v", s, err)
	}
	if id, err := tm.DeviceID(ctx); err != nil || id != st.DeviceID() || id == "" {
		t.Errorf("DeviceID = %q, %v", id, err)
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile+".key")); !os.IsNotExist(err) {
		t.Errorf("key file created: %v", err)
	}
	if _, _, err := tm.Unlock(ctx, "9001", "900191"); !errors.Is(err, keys.ErrSignIn) {
		t.Errorf("wrong PIN: %v", err)
	}
	if _, _, err := tm.Unlock(ctx, "1001", "100110"); !errors.Is(err, keys.ErrSignIn) {
		t.Errorf("unknown officer: %v", err)
	}
	if ks := tm.KeyStatus(); ks.Kind != keys.KindFile || ks.Bound || ks.Warning == "" {
		t.Errorf("key status without a TPM: %+v", ks)
	}
	if err := tm.Sync.SetRecords(nil); err != nil {
		t.Fatal(err)
	}
}

// On a TPM (a real software TPM here) the terminal's keys are bound to it:
// the status says so, sign-in unseals inside the TPM, and the database
// copied with every file beside it does not open on a device file.
func TestOpenWithTPM(t *testing.T) {
	ctx := context.Background()
	spec := keystest.SWTPM(t)
	dir := t.TempDir()
	tm, err := Open(ctx, Options{Dir: dir, NoSync: true, Device: spec, Iterations: 1000, Clock: clock.NewFake(demo.ReferenceTime)})
	if err != nil {
		t.Fatal(err)
	}
	if ks := tm.KeyStatus(); ks.Kind != keys.KindTPM || !ks.Bound || ks.Warning != "" {
		t.Errorf("key status: %+v", ks)
	}
	if _, err := tm.Vault.Provision(ctx, keys.Officer{ID: "9001", Name: "陈刚", Role: keys.RoleSupervisor}, "900190", nil); err != nil {
		t.Fatal(err)
	}
	st, s, err := tm.Unlock(ctx, "9001", "900190")
	if err != nil || s.Officer.Role != keys.RoleSupervisor {
		t.Fatalf("sign-in on the TPM: %v", err)
	}
	if _, err := st.Append(ctx, records.Check{Officer: "9001", Action: records.ActionRelease}); err != nil {
		t.Fatal(err)
	}
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Options{Dir: dir, NoSync: true, Device: "none"}); !errors.Is(err, keys.ErrDevice) {
		t.Fatalf("the TPM-bound database opened on a device file: %v", err)
	}
}

// Each sign-in erases the personal fields of records delivered longer ago
// than the check policy in force keeps them: 30 days by default, the
// policy's retention once a signed policy says.
func TestSignInPurgesByThePolicysRetention(t *testing.T) {
	ctx := context.Background()
	t0 := demo.ReferenceTime
	clk := clock.NewFake(t0)
	dir := filepath.Join(t.TempDir(), "data")
	tm, err := Open(ctx, Options{Dir: dir, Clock: clk, NoSync: true, Device: "none", Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if _, err := tm.Vault.Provision(ctx, keys.Officer{ID: "9001", Name: "陈刚", Role: keys.RoleSupervisor}, "900190", nil); err != nil {
		t.Fatal(err)
	}
	st, _, err := tm.Unlock(ctx, "9001", "900190")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := st.Append(ctx, records.Check{Officer: "9001", Verdict: verify.Valid, Action: records.ActionRelease, Holder: "张伟"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MarkDelivered(ctx, t0, []records.Outcome{{Seq: 1}, {Seq: 2}}); err != nil {
		t.Fatal(err)
	}
	purged := func() int {
		t.Helper()
		st, _, err := tm.Unlock(ctx, "9001", "900190")
		if err != nil {
			t.Fatal(err)
		}
		if a, err := tm.Audit(ctx); err != nil || !a.OK() {
			t.Fatalf("audit: %+v %v", a, err)
		}
		list, err := st.List(ctx, records.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range list {
			if !e.Purged.IsZero() {
				n++
			}
		}
		return n
	}
	clk.Advance(8 * 24 * time.Hour)
	if n := purged(); n != 0 {
		t.Fatalf("default policy: %d purged after 8 days", n)
	}
	data, err := policy.Sign(policy.Policy{Source: policy.SourceDevice, Seq: 1, Issued: clk.Now().Truncate(time.Second), Device: st.DeviceID(),
		Supervisor: "9001", ClockSkew: 300 * time.Second, MaxTrustAge: 24 * time.Hour, AutoLock: 5 * time.Minute, Retention: 7 * 24 * time.Hour}, st.SignRequest)
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.Save(ctx, policy.FileFor(filepath.Join(dir, DBFile)), data); err != nil {
		t.Fatal(err)
	}
	if n := purged(); n != 2 {
		t.Fatalf("a policy keeping 7 days: %d purged after 8 days, want 2", n)
	}
	if tm.Sync.Config.PolicyFile != policy.FileFor(filepath.Join(dir, DBFile)) {
		t.Errorf("the sync applies hub policies to %q", tm.Sync.Config.PolicyFile)
	}
}
