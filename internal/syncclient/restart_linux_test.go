//go:build linux

package syncclient_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// The hub child of the helper-process pattern: the test binary serves a
// hub on the given address and database until it is killed.
const (
	envHubChild = "SYNCCLIENT_HUB_CHILD_DB"
	envHubAddr  = "SYNCCLIENT_HUB_CHILD_ADDR"
)

func TestMain(m *testing.M) {
	if db := os.Getenv(envHubChild); db != "" {
		os.Exit(hubChild(db, os.Getenv(envHubAddr)))
	}
	os.Exit(m.Run())
}

func hubChild(path, addr string) int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "hub child:", err); return 3 }
	db, err := storage.Open(ctx, path, storage.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		return fail(err)
	}
	st, err := hub.NewBoltStore(ctx, db)
	if err != nil {
		return fail(err)
	}
	ts, err := trustNew(ctx, db)
	if err != nil {
		return fail(err)
	}
	keys, err := hub.LoadKeys(hub.KeyFilePath(path), false)
	if err != nil {
		return fail(err)
	}
	srv, err := hub.New(hub.Config{Store: st, Trust: ts, Keys: keys})
	if err != nil {
		return fail(err)
	}
	err = hub.Serve(ctx, hub.ServeOptions{Addr: addr, Ready: func(a net.Addr) { fmt.Printf("READY %s\n", a) }}, srv)
	return fail(err)
}

func startHubChild(t *testing.T, path, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHubChild+"="+path, envHubAddr+"="+addr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("hub child did not start: %q %v", line, err)
	}
	return cmd
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

// TestHubKilledMidBatch kills the hub (SIGKILL) again and again while a
// terminal pushes: nothing is lost, nothing doubled.
func TestHubKilledMidBatch(t *testing.T) {
	n, kills := 4000, 6
	if testing.Short() {
		n, kills = 1000, 3
	}
	clk := clock.Real{}
	dir := t.TempDir()
	hubPath := filepath.Join(dir, "hub.db")
	// Prepare the hub database (durable: this test is about the hub's
	// durability) and enrol the terminal in-process, then hand it over.
	h := openHub(t, hubPath, storage.Options{}, clk)
	tok := h.token(t, hub.RoleDevice)
	h.db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	child := startHubChild(t, hubPath, addr)
	defer func() { kill(t, child) }()

	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	if err := syncclient.Enroll(context.Background(), tm.rec, syncclient.EnrollOptions{HubURL: "http://" + addr, Token: tok}); err != nil {
		t.Fatal(err)
	}
	ids := tm.appendN(t, n, nil)
	c := tm.client(t, func(cfg *syncclient.Config) {
		cfg.BatchSize, cfg.RetryWaitMax, cfg.RetryMax = 50, 50*time.Millisecond, 20
	})

	done := make(chan error, 1)
	go func() {
		var last error
		for range 200 {
			rep, err := c.Sync(context.Background())
			if err == nil && rep.Push.Remaining == 0 {
				done <- nil
				return
			}
			last = err
		}
		done <- fmt.Errorf("gave up: %v", last)
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for i := 0; i < kills; i++ {
		time.Sleep(time.Duration(20+rng.IntN(120)) * time.Millisecond)
		kill(t, child)
		child = startHubChild(t, hubPath, addr)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	kill(t, child)
	child = exec.Command("true") // the deferred kill has nothing left to do
	child.Start()
	h = openHub(t, hubPath, storage.Options{}, clk)
	checkHubHolds(t, h.store, tm.rec.DeviceID(), ids)
}
