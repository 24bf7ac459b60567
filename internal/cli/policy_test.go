package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
)

// TestHubPolicyFlow: the hub's operator sets the check policy; rcctl sync
// applies it (verified with the key pinned at enrolment), record add
// verifies under it and records it, record purge keeps records as long as
// it says and no longer.
func TestHubPolicyFlow(t *testing.T) {
	hubDB := filepath.Join(t.TempDir(), "hub.db")
	h := rchubServe(t, "--listen", "127.0.0.1:0", "--db", hubDB, "--demo")
	m := regexp.MustCompile(`enrolment token \(one-time, 24 h\): (rcdev_\w+)`).FindStringSubmatch(h.out.String())
	if m == nil {
		t.Fatalf("no token printed: %q", h.out.String())
	}
	w := t.TempDir()
	db := filepath.Join(t.TempDir(), "terminal.db")
	if r := run(t, "", "demo", "--out", w, "--at", "now"); r.code != ExitOK {
		t.Fatal(r.stderr)
	}
	if r := run(t, "", "--db", db, "trust", "anchor", "add", filepath.Join(w, "anchors.pem")); r.code != ExitOK {
		t.Fatal(r.stderr)
	}
	if r := run(t, "", "--db", db, "enroll", "--hub", h.url, "--token", m[1]); r.code != ExitOK {
		t.Fatalf("enroll: %d %q", r.code, r.stderr)
	}
	var out, errb bytes.Buffer
	code := hubcmd.Main(context.Background(), &hubcmd.Env{Stdout: &out, Stderr: &errb, Clock: clock.NewFake(demo.ReferenceTime)},
		[]string{"policy", "set", "--db", hubDB, "--skew", "120s", "--trust-age", "3d", "--auto-lock", "5m", "--retention", "7d"})
	if code != hubcmd.ExitOK {
		t.Fatalf("rchub policy set: %d %q %q", code, out.String(), errb.String())
	}
	r := run(t, "", "--db", db, "sync")
	if r.code != ExitOK || !strings.Contains(r.stdout, "policy: applied the hub's check policy hub#1 120s/72h/5m/7d") {
		t.Fatalf("sync: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "--db", db, "record", "add", "--qr", readCode(t, w, "valid-vehicle"), "--action", "none", "--officer", "1001", "--json")
	var rec map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != ExitOK {
		t.Fatalf("record add: %d %v %q", r.code, err, r.stderr)
	}
	if rec["policy"] != "hub#1 120s/72h" || rec["action"] != "none" || strings.Contains(r.stderr, "WARNING") {
		t.Fatalf("record: %v %q", rec, r.stderr)
	}
	if r := run(t, "", "--db", db, "record", "list"); r.code != ExitOK || !strings.Contains(r.stdout, "未处置") || !strings.Contains(r.stdout, "policy:hub#1 120s/72h") {
		t.Fatalf("record list: %d %q", r.code, r.stdout)
	}
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{args: nil, want: "purged 0 records (delivered more than 7 days ago)"},
		{args: []string{"--days", "3"}, want: "purged 0 records (delivered more than 3 days ago)"},
		{args: []string{"--days", "30"}, wantCode: ExitError, want: "would keep them longer"},
	}
	for _, tt := range tests {
		r := run(t, "", append([]string{"--db", db, "record", "purge"}, tt.args...)...)
		if r.code != tt.wantCode || !strings.Contains(r.stdout+r.stderr, tt.want) {
			t.Errorf("record purge %v: %d %q %q", tt.args, r.code, r.stdout, r.stderr)
		}
	}
}
