//go:build linux

package statusfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The helper-process pattern: the test binary re-executes itself with one
// of these variables set, and TestMain runs the child's job instead.
const (
	envCrashChild = "STATUSFILE_CRASH_CHILD" // dir: apply numbered operations forever
	envFullChild  = "STATUSFILE_FULL_CHILD"  // dir: one Update under RLIMIT_FSIZE
	envFullLimit  = "STATUSFILE_FULL_LIMIT"  // bytes a file may grow to
	envFullOp     = "STATUSFILE_FULL_OP"     // "replace" or "delta"
)

func TestMain(m *testing.M) {
	if d := os.Getenv(envCrashChild); d != "" {
		os.Exit(crashChild(d))
	}
	if d := os.Getenv(envFullChild); d != "" {
		os.Exit(fullChild(d))
	}
	if d := os.Getenv(envFreshChild); d != "" {
		os.Exit(freshChild(d))
	}
	if d := os.Getenv(envCommitChild); d != "" {
		os.Exit(commitChild(d))
	}
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(benchRoot)
	}
	os.Exit(code)
}

// crashKeys is how many lists the crash test uses.
const crashKeys = 6

// crashOp is operation n (n ≥ 1) of the crash workload, deterministic.
// It applies to tx when tx is not nil and to m in any case.
func crashOp(n int, tx *Tx, m *model) error {
	div := 1
	if raceOn {
		div = 10
	}
	return workOp(n, div, tx, m)
}

// workOp is operation n of a workload whose lists have up to 35000/div
// entries.
func workOp(n, div int, tx *Tx, m *model) error {
	r := rand.New(rand.NewPCG(uint64(n), 99))
	for j := 0; j < 1+r.IntN(3); j++ {
		k := testKey(r.IntN(crashKeys))
		switch x := r.IntN(10); {
		case x < 3:
			es := make([]Entry, (5000+r.IntN(30000))/div)
			for i := range es {
				es[i] = Entry{IDHash: hashN(r.IntN(60000)), Status: uint8(1 + r.IntN(2)), Since: int64(r.IntN(1000))}
			}
			if tx != nil {
				if err := tx.Replace(k, seqOf(es)); err != nil {
					return err
				}
			}
			m.replace(k, es)
		case x < 9:
			es := make([]Entry, r.IntN(2000)/div)
			for i := range es {
				es[i] = Entry{IDHash: hashN(r.IntN(60000)), Status: uint8(r.IntN(3)), Since: int64(r.IntN(1000))}
			}
			if tx != nil {
				if err := tx.Append(k, es); err != nil {
					return err
				}
			}
			m.append(k, es)
		default:
			if tx != nil {
				tx.Drop(k)
			}
			m.drop(k)
		}
	}
	m.meta = []byte(strconv.Itoa(n))
	if tx != nil {
		tx.SetMeta(m.meta)
	}
	return nil
}

// modelAfter replays operations 1..n.
func modelAfter(n int) *model {
	m := newModel()
	for i := 1; i <= n; i++ {
		crashOp(i, nil, m)
	}
	return m
}

func metaCount(meta []byte) int {
	n, _ := strconv.Atoi(string(meta))
	return n
}

func crashChild(dir string) int {
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	for {
		v, err := s.View(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		n := metaCount(v.Meta()) + 1
		v.Release()
		fmt.Printf("updating %d\n", n)
		if err := s.Update(ctx, func(tx *Tx) error { return crashOp(n, tx, newModel()) }); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		fmt.Printf("committed %d\n", n)
		if n%3 == 0 {
			fmt.Printf("compacting %d\n", n)
			if err := s.Compact(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "child: compact:", err)
				return 3
			}
			fmt.Printf("compacted %d\n", n)
		}
	}
}

// TestCrashAtRandomMoments kills a child that loops Update and Compact
// with SIGKILL at 32 random moments; after each kill the store opens, its
// generation is exactly the state after some whole number of operations
// (never a mix), no stray file remains and Check finds nothing damaged.
func TestCrashAtRandomMoments(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	last, progressed := 0, 0
	during := map[string]int{} // what the child said last before the kill
	times := []int64{-1, 0, 250, 500, 999, 1000}
	for kill := 0; kill < 32; kill++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashChild+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1000)
		lastLine := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(out)
			l := ""
			for sc.Scan() {
				l = sc.Text()
				select {
				case lines <- l:
				default:
				}
			}
			close(lines)
			lastLine <- l
		}()
		// Wait for the first commit two times in three (so kills also
		// land late, in Compact), then a random delay.
		if kill%3 != 2 {
			deadline := time.After(60 * time.Second)
		wait:
			for {
				select {
				case l := <-lines:
					if strings.HasPrefix(l, "committed") {
						break wait
					}
				case <-deadline:
					t.Fatal("child made no progress")
				}
			}
		}
		time.Sleep(time.Duration(r.IntN(120_000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for range lines {
		}
		during[strings.Fields(<-lastLine + " start")[0]]++

		s, err := Open(context.Background(), dir)
		if err != nil {
			t.Fatalf("kill %d: Open: %v", kill, err)
		}
		checkClean(t, dir)
		v, err := s.View(context.Background())
		if err != nil {
			t.Fatalf("kill %d: View: %v", kill, err)
		}
		n := metaCount(v.Meta())
		if n < last {
			t.Fatalf("kill %d: went back from %d to %d operations", kill, last, n)
		}
		if n > last {
			progressed++
		}
		last = n
		if err := compareViewN(v, modelAfter(n), times, 400); err != nil {
			t.Fatalf("kill %d after %d operations: %v", kill, n, err)
		}
		v.Release()
		if bad, err := s.Check(context.Background()); err != nil || len(bad) != 0 {
			t.Fatalf("kill %d: Check: %v %v", kill, bad, err)
		}
		s.Close()
	}
	t.Logf("%d operations committed over 32 kills, %d kills after progress; killed while %v", last, progressed, during)
	if progressed < 10 {
		t.Fatalf("only %d of 32 runs committed anything", progressed)
	}
}

func fullChild(dir string) int {
	ctx := context.Background()
	s, err := Open(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	// Without this the kernel kills the process with SIGXFSZ instead of
	// failing the write with EFBIG.
	signal.Ignore(syscall.SIGXFSZ)
	limit, _ := strconv.ParseUint(os.Getenv(envFullLimit), 10, 64)
	lim := syscall.Rlimit{Cur: limit, Max: limit}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "child: setrlimit:", err)
		return 3
	}
	var m model
	err = s.Update(ctx, func(tx *Tx) error {
		if os.Getenv(envFullOp) == "replace" {
			es := make([]Entry, 50000)
			for i := range es {
				es[i] = Entry{IDHash: hashN(i), Status: 1, Since: 7}
			}
			return tx.Replace(testKey(0), seqOf(es))
		}
		return tx.Append(testKey(0), []Entry{{IDHash: hashN(1), Status: 2, Since: 9}})
	})
	_ = m
	fmt.Printf("full=%v err=%v\n", errors.Is(err, ErrFull), err)
	return 0
}

// TestDiskFull: a file size limit hit while writing a list file, or while
// writing the manifest, fails the Update with ErrFull and leaves the
// previous generation, with no stray file after Open.
func TestDiskFull(t *testing.T) {
	for _, tc := range []struct{ name, op, limit string }{
		{"list file", "replace", "65536"},
		{"manifest", "delta", "8192"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			s, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			m := newModel()
			// Many small lists make a manifest larger than the limit.
			if err := s.Update(ctx, func(tx *Tx) error {
				for i := 0; i < 400; i++ {
					es := []Entry{{IDHash: hashN(i), Status: 1, Since: 5}}
					m.append(testKey(i), es)
					if err := tx.Append(testKey(i), es); err != nil {
						return err
					}
				}
				m.meta = []byte("before")
				tx.SetMeta(m.meta)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envFullChild+"="+dir, envFullLimit+"="+tc.limit, envFullOp+"="+tc.op)
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v", err)
			}
			if !strings.HasPrefix(string(out), "full=true") {
				t.Fatalf("child: %s", out)
			}
			s, err = Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkClean(t, dir)
			compareStore(t, s, m, []int64{0, 5, 10})
		})
	}
}
