//go:build unix

package syncclient_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// TestPullBusy: while another process pulls into the same trust store (it
// holds the pull lock), a pull does nothing and says so; afterwards it
// works.
func TestPullBusy(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(demoWorld(t).At)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	c := tm.client(t, nil)
	f, err := os.OpenFile(filepath.Join(tm.trust.IncomingDir(), "pull.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PullTrust(ctx); !errors.Is(err, syncclient.ErrPullBusy) || syncclient.KindOf(err) != syncclient.KindLocalStorage {
		t.Fatalf("pull while another holds the lock: %v", err)
	}
	f.Close()
	if rep, err := c.PullTrust(ctx); err != nil || rep.Fetched == 0 {
		t.Fatalf("pull after: %+v %v", rep, err)
	}
}
