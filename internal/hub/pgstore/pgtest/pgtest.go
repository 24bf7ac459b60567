// Package pgtest starts throwaway PostgreSQL clusters for tests and
// benchmarks: initdb into a temporary directory, the postmaster started on a
// Unix socket in that directory and on a free loopback port, stopped and
// removed at the end. Nothing is mocked and nothing needs to run before: it
// needs only Debian's postgresql package (build/deps.sh test).
//
// A test binary shares one cluster (Shared), started on first use; each test
// gets a database of its own (NewDB), created from a template so that the
// schema is made once per binary. The postmaster is a child of the test
// process that receives SIGQUIT when the process dies (Linux parent-death
// signal), so a killed test binary leaves no server behind; directories left
// by killed binaries are removed by the next Start.
//
// As root, initdb and postgres run as the unprivileged user "postgres" (or
// "nobody"), which owns the cluster's directory: PostgreSQL refuses to run
// as root.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres: the PostgreSQL server binaries were not found.
var ErrNoPostgres = errors.New("pgtest: PostgreSQL server binaries not found: install them with `bash build/deps.sh test` (Debian package postgresql), or set RC_PG_BINDIR")

// Options configure Start.
type Options struct {
	// Durable keeps fsync on (benchmarks that measure what a real server
	// does); the default turns it off: commits still reach the kernel, so
	// a killed server loses nothing, but a power cut would.
	Durable bool
	// Settings are extra server settings (name → value), e.g.
	// "shared_buffers": "256MB".
	Settings map[string]string
}

// Cluster is a running throwaway cluster.
type Cluster struct {
	Dir    string // the temporary directory: data in Dir/data, the socket in Dir
	Port   int    // its loopback TCP port (also the socket's number)
	User   string // the superuser tests connect as
	BinDir string

	cmd     *exec.Cmd
	exited  chan struct{}
	release chan struct{}
	stopMu  sync.Mutex
	stopped bool
}

// BinDir finds the PostgreSQL server binaries: $RC_PG_BINDIR, else the
// newest /usr/lib/postgresql/N/bin, else the directory of initdb on PATH.
func BinDir() (string, error) {
	if d := os.Getenv("RC_PG_BINDIR"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", ErrNoPostgres
}

// runAs is the credential to run PostgreSQL with: nil unless we are root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
		}
	}
	return nil, errors.New("pgtest: running as root and neither user postgres nor nobody exists")
}

const dirPrefix = "roadcheck-pgtest-"

// sweep removes the directories of clusters whose test process is gone.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if syscall.Kill(pid, 0) == nil || errors.Is(syscall.Kill(pid, 0), syscall.EPERM) {
			continue // still running
		}
		os.RemoveAll(d)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start initialises and starts a new cluster. Stop it with Stop.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	sweep()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	c := &Cluster{Dir: dir, User: "roadcheck", BinDir: bin, exited: make(chan struct{}), release: make(chan struct{})}
	fail := func(err error) (*Cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", c.User, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pgtest: initdb: %v: %s", err, out))
	}
	var lastErr error
	for range 5 { // a port taken between freePort and the bind: try another
		if c.Port, err = freePort(); err != nil {
			return fail(err)
		}
		if lastErr = c.start(ctx, data, cred, o); lastErr == nil {
			return c, nil
		}
		c.exited, c.release = make(chan struct{}), make(chan struct{})
	}
	return fail(lastErr)
}

func (c *Cluster) start(ctx context.Context, data string, cred *syscall.Credential, o Options) error {
	settings := map[string]string{
		"listen_addresses": "127.0.0.1", "unix_socket_directories": c.Dir, "max_connections": "300",
		"log_min_messages": "warning", "logging_collector": "off",
		"max_locks_per_transaction": "256",
	}
	if !o.Durable {
		// Commits reach the kernel (a killed server loses nothing), not
		// the disk.
		settings["fsync"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	args := []string{"-D", data, "-p", strconv.Itoa(c.Port)}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}
	logf, err := os.Create(filepath.Join(c.Dir, "postgres.log"))
	if err != nil {
		return err
	}
	if cred != nil {
		os.Chown(logf.Name(), int(cred.Uid), int(cred.Gid))
	}
	cmd := exec.Command(filepath.Join(c.BinDir, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = c.Dir
	// SIGQUIT (immediate shutdown) when this process dies. The parent-death
	// signal follows the thread that started the child: start it from a
	// thread locked for the life of the cluster.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	exited, release := c.exited, c.release
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			return
		}
		started <- nil
		cmd.Wait()
		logf.Close()
		close(exited)
		<-release // keep the thread (and so the parent-death link) until Stop
		runtime.UnlockOSThread()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	c.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			close(release)
			c.cmd = nil
			log, _ := os.ReadFile(filepath.Join(c.Dir, "postgres.log"))
			return fmt.Errorf("pgtest: postgres exited: %s", log)
		case <-ctx.Done():
			c.Stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			return fmt.Errorf("pgtest: postgres did not accept connections: %v", err)
		}
	}
}

// URL is the connection URL of database db over the cluster's Unix socket.
func (c *Cluster) URL(db string) string {
	q := url.Values{"host": {c.Dir}, "port": {strconv.Itoa(c.Port)}, "user": {c.User}, "sslmode": {"disable"}}
	return "postgres:///" + url.PathEscape(db) + "?" + q.Encode()
}

// TCPURL is the connection URL of database db over loopback TCP.
func (c *Cluster) TCPURL(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", c.User, c.Port, url.PathEscape(db))
}

// Exec runs SQL statements on database db.
func (c *Cluster) Exec(ctx context.Context, db string, sql ...string) error {
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("pgtest: %s: %w", s, err)
		}
	}
	return nil
}

// Stop shuts the cluster down (fast shutdown) and removes its directory.
// Calling it again does nothing.
func (c *Cluster) Stop() error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
		close(c.release)
	}
	return os.RemoveAll(c.Dir)
}

// Kill stops the postmaster at once (SIGKILL to its process group: the
// server dies as in a crash), leaving the directory; Restart starts it
// again on the same data and port.
func (c *Cluster) Kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.exited
		close(c.release)
		c.exited, c.release = make(chan struct{}), make(chan struct{})
	}
}

// Restart starts a killed cluster again on its data and port.
func (c *Cluster) Restart(ctx context.Context, o Options) error {
	cred, err := runAs()
	if err != nil {
		return err
	}
	// An immediate kill leaves the postmaster.pid behind, which PostgreSQL
	// removes itself, and backends that take a moment to exit and release
	// the shared memory: try again meanwhile.
	for i := 0; ; i++ {
		err = c.start(ctx, filepath.Join(c.Dir, "data"), cred, o)
		if err == nil || i == 40 || !strings.Contains(err.Error(), "shared memory block") {
			return err
		}
		c.exited, c.release = make(chan struct{}), make(chan struct{})
		time.Sleep(250 * time.Millisecond)
	}
}

var (
	sharedMu  sync.Mutex
	shared    *Cluster
	sharedErr error
	dbSeq     int
	templates = map[string]error{}
)

// Shared returns the cluster shared by this test binary, starting it on
// first use. It is stopped by Main, or killed with the process.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = Start(context.Background(), Options{})
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// Main runs the tests of m and stops the shared cluster: call it from
// TestMain when the package has one.
func Main(m *testing.M) int {
	code := m.Run()
	StopShared()
	return code
}

// StopShared stops the shared cluster if it was started.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Stop()
		shared = nil
	}
}

// Template makes database name on the shared cluster once per binary,
// running init with its URL (e.g. to migrate it), for NewDB to copy.
func Template(t testing.TB, name string, init func(ctx context.Context, url string) error) {
	t.Helper()
	c := Shared(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	err, done := templates[name]
	if !done {
		ctx := context.Background()
		err = c.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		if err == nil {
			err = init(ctx, c.URL(name))
		}
		templates[name] = err
	}
	if err != nil {
		t.Fatal(err)
	}
}

// NewDB creates a fresh database on the shared cluster — a copy of
// template, or empty when template is "" — dropped when the test ends, and
// returns its URL.
func NewDB(t testing.TB, template string) string {
	t.Helper()
	c := Shared(t)
	sharedMu.Lock()
	dbSeq++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq)
	sharedMu.Unlock()
	ctx := context.Background()
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize() + " STRATEGY FILE_COPY"
	}
	if err := c.Exec(ctx, "postgres", stmt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Exec(context.Background(), "postgres", "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return c.URL(name)
}
