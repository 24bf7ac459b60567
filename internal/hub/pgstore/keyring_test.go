package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// TestReplicasShareOneKeyring: hubs on one PostgreSQL database start only
// with the keyring the database was written with, at its newest version:
// a replica given another keyring, or a copy of the shared one made before
// a rotation, is refused (audit.ErrForeignKey) instead of sealing data and
// signing checkpoints the others cannot open or verify.
func TestReplicasShareOneKeyring(t *testing.T) {
	ctx := context.Background()
	url := newURL(t)
	clk := clock.NewFake(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	kek := bytes.Repeat([]byte{5}, hub.KEKSize)
	shared := filepath.Join(dir, "hub.keyring")
	openKeys := func(path string) *hub.Keys {
		t.Helper()
		kr, err := hub.OpenKeyringAt(path, "", kek, path == shared)
		if err != nil {
			t.Fatal(err)
		}
		return kr.Keys
	}
	// replica starts a hub on the database; it is stopped (closing its
	// audit log with a checkpoint) at the end of the test or by stop.
	replica := func(keys *hub.Keys) (stop func(), err error) {
		t.Helper()
		st, err := pgstore.Open(ctx, url, pgstore.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		ts, err := trust.Open(ctx, t.TempDir(), trust.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := hub.New(hub.Config{Store: st, Trust: ts, Keys: keys, Clock: clk})
		if err != nil {
			ts.Close()
			st.Close()
			return nil, err
		}
		if err := srv.Audit().Record(ctx, audit.Entry{Who: "test", Role: audit.RoleOperator, Action: "replica.start"}); err != nil {
			t.Fatal(err)
		}
		var stopped bool
		stop = func() {
			if !stopped {
				stopped = true
				srv.Close(ctx)
				ts.Close()
				st.Close()
			}
		}
		t.Cleanup(stop)
		return stop, nil
	}
	must := func(stop func(), err error) func() {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return stop
	}
	a := must(replica(openKeys(shared)))
	b := must(replica(openKeys(shared))) // the same keyring file: both run
	a()
	b()
	other := filepath.Join(dir, "other.keyring")
	if _, err := hub.OpenKeyringAt(other, "", kek, true); err != nil {
		t.Fatal(err)
	}
	if _, err := replica(openKeys(other)); !errors.Is(err, audit.ErrForeignKey) {
		t.Fatalf("a replica with another keyring: %v", err)
	}

	// Rotation: a copy made before it is stale once a hub on the new
	// version has signed a checkpoint.
	stale := filepath.Join(dir, "stale.keyring")
	raw, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.RotateKeyring(shared, kek); err != nil {
		t.Fatal(err)
	}
	must(replica(openKeys(stale)))() // no hub has used the new version yet
	must(replica(openKeys(shared)))()
	if _, err := replica(openKeys(stale)); !errors.Is(err, audit.ErrForeignKey) {
		t.Fatalf("a replica with the keyring as it was before the rotation: %v", err)
	}
	must(replica(openKeys(shared)))()
}
