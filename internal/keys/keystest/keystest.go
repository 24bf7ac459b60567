// Package keystest starts a real software TPM (Debian's swtpm) for tests
// of the key hierarchy and of the packages above it. It is test support:
// only _test.go files import it.
package keystest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// SWTPM starts swtpm with a fresh state in a temporary directory and
// returns the device spec for keys.OpenDevice / keys.OpenTPM
// ("unix:DIR/tpm.sock"). The process is killed when the test ends. A
// missing swtpm fails the test (never skips it): run build/deps.sh test.
func SWTPM(t testing.TB) string {
	t.Helper()
	return SWTPMIn(t, t.TempDir())
}

// SWTPMIn is SWTPM with the TPM's state kept in dir, so a test can stop
// and restart the same TPM (or start another one, with another dir).
func SWTPMIn(t testing.TB, dir string) string {
	t.Helper()
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		t.Fatalf("swtpm not found (%v): install it with `bash build/deps.sh test` (Debian packages swtpm, swtpm-tools)", err)
	}
	// Unix socket paths are limited to 108 bytes: use a short directory.
	sockDir, err := os.MkdirTemp("", "swtpm-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(sockDir, "tpm.sock")
	cmd := exec.Command(bin, "socket", "--tpm2",
		"--tpmstate", "dir="+dir,
		"--server", "type=unixio,path="+sock,
		"--ctrl", "type=unixio,path="+filepath.Join(sockDir, "ctrl.sock"),
		"--flags", "not-need-init,startup-clear")
	out, err := os.CreateTemp(sockDir, "log-")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting swtpm: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		os.RemoveAll(sockDir)
	})
	for i := 0; ; i++ {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			log, _ := os.ReadFile(out.Name())
			t.Fatalf("swtpm exited: %s", log)
		default:
		}
		if i > 500 {
			t.Fatalf("swtpm socket %s not ready: %v", sock, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Sprintf("unix:%s", sock)
}
