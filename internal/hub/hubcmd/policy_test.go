package hubcmd_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// TestPolicySetShow: an operator publishes the check policy while the
// hub serves (through its admin socket, signed with the serving hub's
// policy key) and while it is stopped (the keys from beside the
// database); out-of-bounds values publish nothing; every run is in the
// audit log; a terminal enrolled with the hub pinned the key that
// verifies it.
func TestPolicySetShow(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	s := serve(t, clk, "--db", db, "--demo")
	devTok, _ := s.tokens(t)
	if r := rchub(t, clk, "policy", "show", "--db", db); r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "no check policy published") {
		t.Fatalf("show before any: %d %q %q", r.code, r.stdout, r.stderr)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{name: "set", args: []string{"--skew", "120s", "--trust-age", "3d", "--auto-lock", "5m"}, want: "hub policy #1 issued"},
		{name: "set with retention", args: []string{"--skew", "60s", "--trust-age", "72h", "--auto-lock", "10m", "--retention", "14d"},
			want: "hub policy #2 issued 2026-"},
		{name: "skew beyond the default", args: []string{"--skew", "600s", "--trust-age", "3d", "--auto-lock", "5m"}, wantCode: hubcmd.ExitError, want: "nothing published"},
		{name: "retention of two years", args: []string{"--skew", "60s", "--trust-age", "3d", "--auto-lock", "5m", "--retention", "730d"}, wantCode: hubcmd.ExitError, want: "out of bounds"},
		{name: "missing auto-lock", args: []string{"--skew", "60s", "--trust-age", "3d"}, wantCode: hubcmd.ExitError, want: "give --skew, --trust-age and --auto-lock"},
		{name: "not a duration", args: []string{"--skew", "soon", "--trust-age", "3d", "--auto-lock", "5m"}, wantCode: hubcmd.ExitError, want: "neither days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rchub(t, clk, append([]string{"policy", "set", "--db", db}, tt.args...)...)
			out := r.stdout + r.stderr
			if r.code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d (want %d), %q", r.code, tt.wantCode, out)
			}
		})
	}
	r := rchub(t, clk, "policy", "show", "--db", db, "--json")
	var pj struct {
		Seq              uint64 `json:"seq"`
		ClockSkewSeconds int    `json:"clock_skew_seconds"`
		MaxTrustAgeHours int    `json:"max_trust_age_hours"`
		AutoLockMinutes  int    `json:"auto_lock_minutes"`
		RetentionDays    int    `json:"retention_days"`
		Verified         bool   `json:"verified"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &pj); err != nil || r.code != hubcmd.ExitOK {
		t.Fatalf("show --json: %d %v %q %q", r.code, err, r.stdout, r.stderr)
	}
	if pj.Seq != 2 || pj.ClockSkewSeconds != 60 || pj.MaxTrustAgeHours != 72 || pj.AutoLockMinutes != 10 || pj.RetentionDays != 14 || !pj.Verified {
		t.Fatalf("show --json: %+v", pj)
	}
	// A terminal enrolled with this hub pinned the key the policy verifies with.
	tm := newTerminal(t, clk)
	if err := tm.enroll(s.url, devTok); err != nil {
		t.Fatal(err)
	}
	keys, err := tm.rec.PolicyKeys(context.Background())
	if err != nil || keys.Hub == nil {
		t.Fatalf("pinned policy key: %v", err)
	}
	if code := s.stop(); code != hubcmd.ExitOK {
		t.Fatalf("serve: %d %s", code, s.err.String())
	}
	// Stopped: the keys beside the database sign and verify.
	r = rchub(t, clk, "policy", "set", "--db", db, "--skew", "30s", "--trust-age", "1d", "--auto-lock", "3m", "--retention", "7d")
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "hub policy #3") || !strings.Contains(r.stdout, "records kept 7 d") {
		t.Fatalf("set while stopped: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = rchub(t, clk, "policy", "show", "--db", db)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "clock skew 30 s, maximum trust age 1 d, auto-lock 3 min, records kept 7 d") ||
		!strings.Contains(r.stdout, "signature verified") {
		t.Fatalf("show: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := rchub(t, clk, "keys", "public", "--db", db); r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "# check policy key") {
		t.Fatalf("keys public: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = rchub(t, clk, "audit", "list", "--db", db, "--json")
	var entries []wire.AuditEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatalf("audit list: %v %q", err, r.stderr)
	}
	sets := 0
	for _, e := range entries {
		if e.Action == "policy.set" {
			sets++
		}
	}
	// Every run that reached the hub, refused ones too (four through the
	// admin socket, one while stopped); the two refused on their flags
	// while the hub served never reached it.
	if sets != 5 {
		t.Errorf("%d policy.set entries in the audit log, want 5", sets)
	}
}
