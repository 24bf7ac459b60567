// Package hubcmdtest provides hubs for tests of the hub's command line and
// of terminals talking to it: `rchub serve` (hubcmd.Main) running inside the
// test process, the way net/http/httptest runs an http.Handler, and a hub
// that is down.
package hubcmdtest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"regexp"
	"sync"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
)

// Buffer is written by the serving goroutine and read by the test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Server is `rchub serve` running in the test process.
type Server struct {
	URL  string // http://host:port
	Addr string // host:port it listens on
	Out  *Buffer
	Err  *Buffer
	stop func() int
}

// Stop cancels serve and returns its exit code; calling it again returns
// the same code. Serve registers it with t.Cleanup.
func (s *Server) Stop() int { return s.stop() }

var listenRe = regexp.MustCompile(`rchub listening on (http://(\S+))`)

// Serve runs `rchub serve ARGS…` with clk and returns once it listens; it
// fails the test when serve exits first.
func Serve(t testing.TB, clk clock.Clock, args ...string) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &Server{Out: &Buffer{}, Err: &Buffer{}}
	done := make(chan int, 1)
	go func() {
		code := hubcmd.Main(ctx, &hubcmd.Env{Stdout: pw, Stderr: s.Err, Clock: clk}, append([]string{"serve"}, args...))
		pw.Close()
		done <- code
	}()
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.Out.Write([]byte(sc.Text() + "\n"))
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m
			}
		}
		close(ready)
	}()
	code := -1
	s.stop = func() int {
		if code < 0 {
			cancel()
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { s.Stop() })
	m, ok := <-ready
	if !ok {
		t.Fatalf("rchub serve exited with %d before listening: %s %s", s.Stop(), s.Out.String(), s.Err.String())
	}
	s.URL, s.Addr = m[1], m[2]
	return s
}

// Dead returns the URL of a hub that is down: a listener that closes every
// connection at once. Unlike a closed httptest server, its port cannot be
// taken by another process while the test runs.
func Dead(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String()
}
