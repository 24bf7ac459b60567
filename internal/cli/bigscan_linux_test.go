package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/scan/scantest"
)

// TestScanBigImagesProcess runs `rcctl scan --json --image` in a child
// process on a 48 Mpx phone photo (8000×6000 4:2:0 JPEG, 72 MiB decoded
// at full size), the same page as a 48 Mpx RGB PNG (144 MiB) and the
// photo cut short, and bounds each process's peak resident set (VmHWM;
// getrusage's ru_maxrss of a child counts the parent's peak too). With scan.ScaledDecoding the codes are read;
// without, the big files are refused from their headers.
func TestScanBigImagesProcess(t *testing.T) {
	page := scantest.Page{W: 8000, H: 6000, Text: scanText, Module: 32, X: 1024, Y: 1024}
	jp, err := scantest.JPEG(page, 40)
	if err != nil {
		t.Fatal(err)
	}
	pn, err := scantest.PNG(page, scantest.PNGOptions{Color: scantest.RGB})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{"phone.jpg": jp, "screen.png": pn, "cut.jpg": jp[:len(jp)/2]}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The race detector's shadow memory doubles what the Go heap takes.
	bound := int64(100 << 20)
	if raceEnabled {
		bound = 200 << 20
	}
	tests := []struct {
		file     string
		wantOK   bool
		wantErr  string
		wantCode int
	}{
		{file: "phone.jpg", wantOK: true, wantCode: ExitOK},
		{file: "screen.png", wantOK: true, wantCode: ExitOK},
		{file: "cut.jpg", wantErr: "ends early", wantCode: ExitPartial},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			wantOK, wantErr := tt.wantOK, tt.wantErr
			wantCode := tt.wantCode
			if !scan.ScaledDecoding {
				wantOK, wantErr, wantCode = false, "64 MiB limit", ExitPartial
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childArgsEnv+"=scan\n--json\n--image\n"+filepath.Join(dir, tt.file))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != wantCode {
				t.Fatalf("exit %d, want %d: %s", code, wantCode, out)
			}
			var got struct {
				OK    bool   `json:"ok"`
				Text  string `json:"text"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
			if got.OK != wantOK || (wantOK && got.Text != scanText) || !strings.Contains(got.Error, wantErr) {
				t.Fatalf("got %+v, want ok %v, error saying %q", got, wantOK, wantErr)
			}
			ps := cmd.ProcessState
			rss := scantest.ChildPeakRSS(t, stderr.String())
			t.Logf("%s: peak RSS %.1f MiB, CPU %v", tt.file, float64(rss)/(1<<20), ps.UserTime()+ps.SystemTime())
			if rss > bound {
				t.Errorf("peak RSS %d MiB, more than %d MiB", rss>>20, bound>>20)
			}
		})
	}
}
