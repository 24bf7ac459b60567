//go:build linux

package syncclient_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore/pgtest"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// envPGHubChild makes the test binary an `rchub` process (its arguments,
// separated by newlines): the replicas of these tests are real processes
// that a test can kill.
const envPGHubChild = "SYNCCLIENT_RCHUB_ARGS"

func init() {
	if args := os.Getenv(envPGHubChild); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		code := hubcmd.Main(ctx, &hubcmd.Env{Stdout: os.Stdout, Stderr: os.Stderr}, strings.Split(args, "\n"))
		stop()
		os.Exit(code)
	}
}

// rchubIn runs one rchub command in this process and returns its stdout.
func rchubIn(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb strings.Builder
	if code := hubcmd.Main(context.Background(), &hubcmd.Env{Stdout: &out, Stderr: &errb}, args); code != hubcmd.ExitOK {
		t.Fatalf("rchub %v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

// pgHub is a PostgreSQL cluster of its own with a migrated hub database,
// the demo trust data published, and a key file.
type pgHub struct {
	cluster *pgtest.Cluster
	url     string
	keys    string
}

func newPGHub(t *testing.T) *pgHub {
	t.Helper()
	ctx := context.Background()
	c, err := pgtest.Start(ctx, pgtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE hub"); err != nil {
		t.Fatal(err)
	}
	h := &pgHub{cluster: c, url: c.URL("hub"), keys: filepath.Join(t.TempDir(), "hub.key")}
	rchubIn(t, "migrate", "--store", h.url)
	rchubIn(t, "keys", "create", h.keys)
	rchubIn(t, "trust", "publish", "--store", h.url, "--demo")
	return h
}

func (h *pgHub) token(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(rchubIn(t, "token", "create", "--store", h.url))
}

var listening = regexp.MustCompile(`rchub listening on http://(\S+)`)

// replica is one `rchub serve` child process on the hub's database.
type replica struct {
	addr string
	cmd  *exec.Cmd
}

func (h *pgHub) startReplica(t *testing.T, addr string) *replica {
	t.Helper()
	args := []string{"serve", "--store", h.url, "--keys", h.keys, "--listen", addr, "--log-format", "text", "--trust-dir", t.TempDir()}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envPGHubChild+"="+strings.Join(args, "\n"))
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, out)
			r := &replica{addr: m[1], cmd: cmd}
			t.Cleanup(func() { r.kill() })
			return r
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatal("replica did not start")
	return nil
}

func (r *replica) kill() {
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Signal(syscall.SIGKILL)
		r.cmd.Wait()
	}
}

// roundRobin is an HTTP load balancer over replicas: each request goes to
// the next one (no connection reuse), as a load balancer in front of
// several hubs does; a replica that is down answers 502 through it.
type roundRobin struct {
	mu    sync.Mutex
	addrs []string
	next  atomic.Uint64
}

func newRoundRobin(t *testing.T, addrs ...string) string {
	t.Helper()
	rr := &roundRobin{addrs: addrs}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rr.mu.Lock()
			addr := rr.addrs[rr.next.Add(1)%uint64(len(rr.addrs))]
			rr.mu.Unlock()
			pr.SetURL(&url.URL{Scheme: "http", Host: addr})
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{DisableKeepAlives: true},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestPostgresReplicasKilled: a terminal syncs through a faulty network
// and a round-robin balancer with two hubs on one PostgreSQL database,
// one of which is killed (SIGKILL) again and again mid-batch: every record
// is stored exactly once, in chain order, with no gap or tampering flag —
// a batch retried against the other hub finds its records duplicate.
func TestPostgresReplicasKilled(t *testing.T) {
	n, kills := 1500, 5
	if testing.Short() {
		n, kills = 600, 3
	}
	h := newPGHub(t)
	a := h.startReplica(t, "127.0.0.1:0")
	b := h.startReplica(t, "127.0.0.1:0")
	lb := newRoundRobin(t, a.addr, b.addr)
	fp := newFaultProxy(t, lb, 0.15, 11)
	clk := clock.Real{}
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	if err := syncclient.Enroll(context.Background(), tm.rec, syncclient.EnrollOptions{HubURL: "http://" + a.addr, Token: h.token(t)}); err != nil {
		t.Fatal(err)
	}
	ids := tm.appendN(t, n, nil)
	c := tm.client(t, func(cfg *syncclient.Config) {
		cfg.HubURL = fp.URL()
		cfg.BatchSize, cfg.RetryWaitMax, cfg.RetryMax = 50, 50*time.Millisecond, 20
	})
	done := make(chan error, 1)
	go func() {
		var last error
		for range 300 {
			rep, err := c.Sync(context.Background())
			if err == nil && rep.Push.Remaining == 0 {
				done <- nil
				return
			}
			last = err
		}
		done <- fmt.Errorf("gave up: %v", last)
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	victim := a
	for range kills {
		time.Sleep(time.Duration(50+rng.IntN(200)) * time.Millisecond)
		victim.kill()
		victim = h.startReplica(t, victim.addr)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := pgstore.Open(context.Background(), h.url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkHubHolds(t, st, tm.rec.DeviceID(), ids)
}

// TestPostgresDownOrReadOnly: while the database is down or read-only,
// pushes answer 503 with Retry-After and the terminal keeps its records;
// once it is back, they arrive exactly once.
func TestPostgresDownOrReadOnly(t *testing.T) {
	ctx := context.Background()
	h := newPGHub(t)
	r := h.startReplica(t, "127.0.0.1:0")
	clk := clock.Real{}
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	if err := syncclient.Enroll(ctx, tm.rec, syncclient.EnrollOptions{HubURL: "http://" + r.addr, Token: h.token(t)}); err != nil {
		t.Fatal(err)
	}
	c := tm.client(t, func(cfg *syncclient.Config) {
		cfg.HubURL = "http://" + r.addr
		cfg.RetryMax, cfg.RetryWaitMax = 2, 10*time.Millisecond
	})
	ids := tm.appendN(t, 40, nil)
	expect503 := func(what string) {
		t.Helper()
		if _, err := c.Push(ctx); err == nil {
			t.Fatalf("%s: push succeeded", what)
		}
		if n, err := tm.rec.PendingCount(ctx); err != nil || n != len(ids) {
			t.Fatalf("%s: %d records pending, want %d (%v)", what, n, len(ids), err)
		}
		resp, err := http.Get("http://" + r.addr + "/v1/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: ready %d, Retry-After %q", what, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		m, err := http.Get("http://" + r.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(m.Body)
		m.Body.Close()
		if !strings.Contains(string(body), `rchub_http_requests_total{code="503",route="POST /v1/records"}`) {
			t.Fatalf("%s: no push answered 503", what)
		}
	}
	// Read-only: new sessions refuse writes; end the hub's sessions.
	terminate := "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'hub' AND pid <> pg_backend_pid()"
	if err := h.cluster.Exec(ctx, "postgres", "ALTER DATABASE hub SET default_transaction_read_only = on", terminate); err != nil {
		t.Fatal(err)
	}
	expect503("read-only")
	if err := h.cluster.Exec(ctx, "postgres", "ALTER DATABASE hub SET default_transaction_read_only = off", terminate); err != nil {
		t.Fatal(err)
	}
	// Down: the server is killed.
	h.cluster.Kill()
	expect503("down")
	if err := h.cluster.Restart(ctx, pgtest.Options{}); err != nil {
		t.Fatal(err)
	}
	syncUntilDone(t, c)
	st, err := pgstore.Open(ctx, h.url, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkHubHolds(t, st, tm.rec.DeviceID(), ids)
}
