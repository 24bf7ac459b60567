package hubcmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// AdminSocket is the admin socket of the bbolt hub database at path: a
// Unix socket (mode 0600) through which the commands run inside the hub
// that serves the file.
func AdminSocket(path string) string { return path + ".admin" }

func socketExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&fs.ModeSocket != 0
}

// adminRequest is what a client sends: the command line, and the input
// files it names (read on the client's side).
type adminRequest struct {
	Argv  []string          `json:"argv"`
	Files map[string][]byte `json:"files,omitempty"`
}

const (
	trailerCode   = "X-Rchub-Exit-Code"
	trailerStderr = "X-Rchub-Stderr"
)

// flushWriter flushes every write to the client.
type flushWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// serveAdmin serves the admin socket of o until ctx ends. Only the hub's
// own user (or root) may connect: the socket's mode is 0600 and, on Linux,
// the peer's credentials are checked.
func serveAdmin(ctx context.Context, env *Env, o *opened) (stop func(), err error) {
	sock := AdminSocket(o.ref)
	if socketExists(sock) {
		// A socket nobody answers on is left from a hub that died.
		if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s is in use: is another rchub serving this database?", sock)
		}
		os.Remove(sock)
	}
	old := umask(0o077)
	ln, err := net.Listen("unix", sock)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/run" {
			http.Error(w, "POST /run", http.StatusNotFound)
			return
		}
		var req adminRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 256<<20)).Decode(&req); err != nil || len(req.Argv) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Trailer", trailerCode+", "+trailerStderr)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		var stderr bytes.Buffer
		sub := &Env{Stdout: &flushWriter{w: w}, Stderr: &stderr, Clock: env.Clock, served: o, files: req.Files}
		code := Main(r.Context(), sub, req.Argv)
		w.Header().Set(trailerCode, strconv.Itoa(code))
		w.Header().Set(trailerStderr, base64.StdEncoding.EncodeToString(stderr.Bytes()))
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(peerChecked(ln))
	return func() {
		srv.Close()
		os.Remove(sock)
	}, nil
}

// forward runs the command line of env inside the hub serving on sock,
// sending the files its positional arguments name and, for --out FILE,
// writing what the hub streams back to FILE.
func forward(ctx context.Context, env *Env, sock string) int {
	argv := append([]string(nil), env.argv...)
	req := adminRequest{Argv: argv, Files: map[string][]byte{}}
	out := ""
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if (a == "--out" || a == "-out") && i+1 < len(argv) {
			out, argv[i+1] = argv[i+1], "-"
			i++
			continue
		}
		if fi, err := os.Stat(a); err == nil && fi.Mode().IsRegular() && fi.Size() < 128<<20 {
			if b, err := os.ReadFile(a); err == nil {
				req.Files[a] = b
			}
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return failf(env, "%v", err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://rchub/run", bytes.NewReader(body))
	if err != nil {
		return failf(env, "%v", err)
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return failf(env, "the database is held by a serving hub, and its admin socket %s does not answer: %v", sock, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return failf(env, "admin socket: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var dst io.Writer = env.Stdout
	var tmp *os.File
	if out != "" && out != "-" {
		if tmp, err = os.CreateTemp(filepath.Dir(out), ".rchub-out-*"); err != nil {
			return failf(env, "%v", err)
		}
		defer os.Remove(tmp.Name())
		dst = tmp
	}
	if _, err := io.Copy(dst, resp.Body); err != nil {
		return failf(env, "admin socket: %v", err)
	}
	if msg, err := base64.StdEncoding.DecodeString(resp.Trailer.Get(trailerStderr)); err == nil {
		env.Stderr.Write(msg)
	}
	code, err := strconv.Atoi(resp.Trailer.Get(trailerCode))
	if err != nil {
		return failf(env, "admin socket: the hub's answer was cut short")
	}
	if tmp != nil {
		err := tmp.Sync()
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil && code == ExitOK {
			err = os.Rename(tmp.Name(), out)
		}
		if err != nil {
			return failf(env, "%v", err)
		}
	}
	return code
}
