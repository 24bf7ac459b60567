package scan

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan/scantest"
)

// peakRSSBound is the most a process decoding one image may hold at its
// peak: 100 MiB, 200 MiB under the race detector (its shadow memory
// doubles the Go heap; 200 MB is the bound for the 16-bit PNG
// bomb). Decoded at full size, a 48 Mpx 4:2:0 JPEG alone takes 72 MiB
// (plus image/jpeg's grey copy), the RGB PNG 144 MiB, the bomb 512 MiB.
func peakRSSBound() int64 {
	if raceBuild {
		return 200 << 20
	}
	return 100 << 20
}

// TestLoadPeakRSS decodes big files in a child process each, as `rcctl
// scan` does, and bounds the child's peak resident set (VmHWM). Under the
// race detector the Go heap has shadow memory too, and the bound still
// holds.
func TestLoadPeakRSS(t *testing.T) {
	dir := t.TempDir()
	bigFile(t, "phone.jpg", dir)
	bigFile(t, "phone-rgb.png", dir)
	if err := os.WriteFile(filepath.Join(dir, "bomb.png"), pngBomb(t, 8192, 8192, 16, 6, 8192), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, want string
	}{
		{file: "phone.jpg", want: "OK " + bigText},
		{file: "phone-rgb.png", want: "OK " + bigText},
		{file: "bomb.png", want: "ERR"},
	}
	if !ScaledDecoding {
		for i := range tests {
			tests[i].want = "ERR" // refused from the header
		}
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+filepath.Join(dir, tt.file))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v: %s", err, stderr.Bytes())
			}
			if !strings.HasPrefix(string(out), tt.want) {
				t.Fatalf("child printed %.80q, want %.40q…", out, tt.want)
			}
			ps := cmd.ProcessState
			rss := scantest.ChildPeakRSS(t, stderr.String())
			t.Logf("%s: peak RSS %.1f MiB, CPU %v", tt.file, float64(rss)/(1<<20), ps.UserTime()+ps.SystemTime())
			if bound := peakRSSBound(); rss > bound {
				t.Errorf("peak RSS %d MiB, more than %d MiB", rss>>20, bound>>20)
			}
		})
	}
}
