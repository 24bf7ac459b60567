//go:build linux

package records

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// The helper-process pattern: the test binary re-executes itself with one of
// these variables set, and TestMain runs the child's job instead of tests.
const (
	envCrashChild = "RECORDS_CRASH_CHILD" // db path: append forever, print each acknowledged id
	envFullChild  = "RECORDS_FULL_CHILD"  // db path: append under RLIMIT_FSIZE until full
	envFullLimit  = "RECORDS_FULL_LIMIT"  // bytes of file growth allowed
)

func TestMain(m *testing.M) {
	if p := os.Getenv(envCrashChild); p != "" {
		os.Exit(crashChild(p))
	}
	if p := os.Getenv(envFullChild); p != "" {
		os.Exit(fullChild(p))
	}
	os.Exit(m.Run())
}

func childStore(path string) (*Store, error) {
	db, err := storage.Open(context.Background(), path, storage.Options{})
	if err != nil {
		return nil, err
	}
	return Open(context.Background(), db, KeyFile(KeyFilePath(path)), Options{Clock: clock.Real{}, DeviceID: "T-CRASH"})
}

func crashChild(path string) int {
	s, err := childStore(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	for i := 0; ; i++ {
		r, err := s.Append(context.Background(), sampleCheck(i))
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		// Written straight to the pipe (os.Stdout is unbuffered).
		fmt.Fprintf(os.Stdout, "%s\n", r.ID)
	}
}

func fullChild(path string) int {
	s, err := childStore(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	st, err := os.Stat(path)
	if err != nil {
		return 3
	}
	var growth uint64
	fmt.Sscan(os.Getenv(envFullLimit), &growth)
	// Without this the kernel kills the process with SIGXFSZ instead of
	// failing the write with EFBIG.
	signal.Ignore(syscall.SIGXFSZ)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		return 3
	}
	lim.Cur = uint64(st.Size()) + growth
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "child: setrlimit:", err)
		return 3
	}
	for i := 0; i < 100000; i++ {
		r, err := s.Append(context.Background(), sampleCheck(i))
		if err != nil {
			fmt.Printf("ERR full=%v %v\n", errors.Is(err, ErrStorageFull), err)
			// Once more: a full disk must keep failing cleanly, not corrupt.
			_, err2 := s.Append(context.Background(), sampleCheck(i))
			fmt.Printf("ERR2 full=%v\n", errors.Is(err2, ErrStorageFull))
			return 0
		}
		fmt.Printf("ACK %s\n", r.ID)
	}
	return 4
}

func runChild(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// checkAcked opens the database and checks that every acknowledged id is
// stored and the chain is intact.
func checkAcked(t *testing.T, path string, acked []string) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, path, storage.Options{})
	if err != nil {
		t.Fatalf("database does not open after the kill: %v", err)
	}
	defer db.Close()
	s, err := Open(ctx, db, KeyFile(KeyFilePath(path)), Options{})
	if err != nil {
		t.Fatalf("store does not open after the kill: %v", err)
	}
	for _, a := range acked {
		id, err := ParseID(a)
		if err != nil {
			t.Fatalf("child printed %q: %v", a, err)
		}
		e, err := s.Get(ctx, id)
		if err != nil || e.Damaged != nil {
			t.Fatalf("acknowledged record %s lost: %v %v", a, err, e)
		}
	}
	rep, err := s.Audit(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("chain damaged after the kill: %v %+v", err, rep)
	}
	if rep.Records < len(acked) {
		t.Fatalf("%d records, %d acknowledged", rep.Records, len(acked))
	}
}

func TestSIGKILLLosesNoAcknowledgedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "terminal.db")
	kills := 50
	if testing.Short() {
		kills = 10
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var acked []string
	for i := range kills {
		cmd := runChild(t, envCrashChild+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random moment: sometimes while the child is still
		// opening (or creating) the database, mostly in the middle of
		// appends — after its first acknowledgement, however slowly a
		// loaded machine starts it.
		var first []string
		delay := time.Duration(rng.IntN(40_000)) * time.Microsecond
		if i%5 == 0 {
			delay = time.Duration(rng.IntN(3_000)) * time.Microsecond
		} else if l, ok := <-lines; ok {
			first = append(first, l)
		}
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for _, l := range first {
			if len(l) == 26 && !strings.ContainsAny(l, " ") {
				acked = append(acked, l)
			}
		}
		for l := range lines {
			// A line cut short by the kill was never acknowledged in full.
			if len(l) == 26 && !strings.ContainsAny(l, " ") {
				acked = append(acked, l)
			}
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child %d did not die of SIGKILL: %v", i, err)
		}
		checkAcked(t, path, acked)
	}
	if len(acked) == 0 {
		t.Fatal("no record was ever acknowledged: the kills came too early")
	}
	t.Logf("%d kills, %d acknowledged records survived", kills, len(acked))
}

func TestStorageFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "terminal.db")
	// Create the database first, with a few records, without limits.
	s, err := childStore(path)
	if err != nil {
		t.Fatal(err)
	}
	before := make([]string, 0, 3)
	for i := range 3 {
		before = append(before, mustAppend(t, s, sampleCheck(i)).ID.String())
	}
	s.db.Close()

	cmd := runChild(t, envFullChild+"="+path, envFullLimit+"=200000")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	acked := before
	var errLine, err2Line string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case strings.HasPrefix(l, "ACK "):
			acked = append(acked, strings.TrimPrefix(l, "ACK "))
		case strings.HasPrefix(l, "ERR "):
			errLine = l
		case strings.HasPrefix(l, "ERR2 "):
			err2Line = l
		}
	}
	if !strings.HasPrefix(errLine, "ERR full=true") || err2Line != "ERR2 full=true" {
		t.Fatalf("the full disk was not reported as ErrStorageFull: %q %q", errLine, err2Line)
	}
	if len(acked) <= len(before) {
		t.Fatal("no record fitted before the limit")
	}
	t.Logf("%d records acknowledged before the limit; then: %s", len(acked), errLine)
	checkAcked(t, path, acked)
	// With space again, recording goes on.
	s, err = childStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.db.Close()
	mustAppend(t, s, sampleCheck(0))
	if rep, err := s.Audit(context.Background()); err != nil || !rep.OK() {
		t.Fatalf("audit after refill: %+v %v", rep, err)
	}
}
