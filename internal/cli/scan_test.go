package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/scan"
)

// scanText is the RTC1 worked example (shared/spec/rtc1-example.md).
const scanText = "RTC1:NCF%RNMG2FDH.MH8JIA3KCRGYLSW2W/ S3I1/R83MJ/-CAL6$96C%6I9C*QPL3RNAC7DO/DJCIJ5IIEGJ-CWK SW03GCR9FRHOSG5O6260:6$0BU.73*MFMPOV4A6V+BFZ0EQXM6M3G3MD*1WH13:G: VRVM848IQ1KS5WVH:ZHK24/XL0H2C9J0NF76MCMCQTM9*JV2DNCFBSN0ID%Z1T-44F48O8D%4Y0905FD$04C1PEIJPEE38IOQUXC.NI.W1F34:6KHYDAWG:4J J1Y4OZIK 3M-60HYI5DLQACNSI1VCITDH 2Q IOFPA3OTHH6JK:JMGJLT0DYYPIV54LB-%JYHK2.UV0OVOTU7U9*F64KFNT8JMSOVW:NHR4LMANY5V+9+94/30/TO/JCCZG/M5TUGMRL-/4E2CYWK+TKY7SPGU7RPOVH1*RB6KMTBZDR.DC3$V*7S7*P$4ES36:1NET6X3C07PEZNT5G3X8QVIH:9DWL59S3$O$AAYM0U50NDWC4N10"

// qrImage renders text as a QR code (ECC M) of size×size pixels.
func qrImage(t *testing.T, text string, size int) image.Image {
	t.Helper()
	hints := map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_ERROR_CORRECTION: "M"}
	bm, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, size, size, hints)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			if !bm.Get(x, y) {
				img.Pix[y*size+x] = 255
			}
		}
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// scanFixtures writes a code as PNG and JPEG, a blank PNG, a truncated PNG
// and a text file into a temporary folder.
func scanFixtures(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	code := encodePNG(t, qrImage(t, scanText, 400))
	blank := image.NewGray(image.Rect(0, 0, 200, 200))
	draw.Draw(blank, blank.Bounds(), image.White, image.Point{}, draw.Src)
	files := map[string][]byte{
		"code.png":      code,
		"code.jpg":      encodeJPEG(t, qrImage(t, scanText, 400)),
		"blank.png":     encodePNG(t, blank),
		"truncated.png": code[:len(code)/3],
		"notes.txt":     []byte("not an image"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// scanRun runs rcctl with buffers and a stopped fake clock.
func scanRun(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Clock: clock.NewFake(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))}
	code := Main(ctx, env, args)
	return code, out.String(), errb.String()
}

func TestScanImagesJSON(t *testing.T) {
	dir := scanFixtures(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOK   []bool
	}{
		{name: "one good file", args: []string{"--image", p("code.png")}, wantCode: ExitOK, wantOK: []bool{true}},
		{name: "png and jpeg", args: []string{"--image", p("code.png"), p("code.jpg")}, wantCode: ExitOK, wantOK: []bool{true, true}},
		{name: "repeated flag", args: []string{"--image", p("code.png"), "--image", p("code.jpg")}, wantCode: ExitOK, wantOK: []bool{true, true}},
		{name: "some fail", args: []string{"--image", p("code.png"), p("blank.png"), p("truncated.png"), p("notes.txt"), p("absent.png")}, wantCode: ExitPartial, wantOK: []bool{true, false, false, false, false}},
		{name: "all fail", args: []string{"--image", p("blank.png")}, wantCode: ExitPartial, wantOK: []bool{false}},
		{name: "folder", args: []string{"--dir", dir}, wantCode: ExitPartial, wantOK: []bool{false, true, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := scanRun(context.Background(), append([]string{"scan", "--json"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.wantCode, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if len(lines) != len(tt.wantOK) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tt.wantOK), stdout)
			}
			for i, l := range lines {
				var got map[string]any
				if err := json.Unmarshal([]byte(l), &got); err != nil {
					t.Fatalf("line %d not JSON: %q", i, l)
				}
				for _, k := range []string{"file", "ok", "text", "ms", "error"} {
					if _, ok := got[k]; !ok {
						t.Errorf("line %d lacks %q: %s", i, k, l)
					}
				}
				if got["ok"] != tt.wantOK[i] {
					t.Errorf("line %d ok = %v, want %v: %s", i, got["ok"], tt.wantOK[i], l)
				}
				if tt.wantOK[i] && got["text"] != scanText {
					t.Errorf("line %d text = %.30q…", i, got["text"])
				}
				if !tt.wantOK[i] && got["error"] == "" {
					t.Errorf("line %d: failure without an error message", i)
				}
				if got["ms"] != 0.0 {
					t.Errorf("line %d ms = %v with a stopped clock, want 0", i, got["ms"])
				}
			}
		})
	}
}

func TestScanImagesText(t *testing.T) {
	dir := scanFixtures(t)
	code, stdout, stderr := scanRun(context.Background(), "scan", filepath.Join(dir, "code.png"), filepath.Join(dir, "blank.png"))
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d", code, ExitPartial)
	}
	want := filepath.Join(dir, "code.png") + ": " + scanText + " (0.0 ms)\n"
	if !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout = %q, want it to start %q", stdout, want)
	}
	if !strings.Contains(stdout, "blank.png: FAILED: ") || !strings.Contains(stdout, "no QR code found") {
		t.Errorf("stdout lacks the failure line: %q", stdout)
	}
	if !strings.Contains(stderr, "1 of 2 images") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestScanUsageErrors(t *testing.T) {
	dir := scanFixtures(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "no input", args: nil, wantCode: ExitError, wantStderr: "no images given"},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: ExitError, wantStderr: "flag provided but not defined"},
		{name: "help (on standard output: TestHelpEverywhere)", args: []string{"--help"}, wantCode: ExitOK},
		{name: "bad budget", args: []string{"--budget", "-1s", dir}, wantCode: ExitError, wantStderr: "--budget must be positive"},
		{name: "files and dir", args: []string{"--dir", dir, filepath.Join(dir, "code.png")}, wantCode: ExitError, wantStderr: "not both"},
		{name: "camera and files", args: []string{"--camera", "/dev/video0", filepath.Join(dir, "code.png")}, wantCode: ExitError, wantStderr: "cannot be combined"},
		{name: "torch without camera", args: []string{"--torch", filepath.Join(dir, "code.png")}, wantCode: ExitError, wantStderr: "--torch needs --camera"},
		{name: "missing dir", args: []string{"--dir", filepath.Join(dir, "nope")}, wantCode: ExitError, wantStderr: "frame folder"},
		{name: "empty dir", args: []string{"--dir", t.TempDir()}, wantCode: ExitError, wantStderr: "no image files found"},
		{name: "no camera there", args: []string{"--camera", filepath.Join(dir, "video7")}, wantCode: ExitError, wantStderr: "no camera"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := scanRun(context.Background(), append([]string{"scan"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

// cancelOnWrite cancels a context once a full line was written.
type cancelOnWrite struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if bytes.Contains(p, []byte("\n")) {
		w.cancel()
	}
	return n, err
}

// withFakeCamera makes --camera open a FakeCamera built by mk.
func withFakeCamera(t *testing.T, mk func() (*scan.FakeCamera, error)) *[]*scan.FakeCamera {
	t.Helper()
	var opened []*scan.FakeCamera
	saved := openCamera
	openCamera = func(ctx context.Context, device string, clk clock.Clock) (scan.FrameSource, error) {
		c, err := mk()
		if err == nil {
			opened = append(opened, c)
		}
		return c, err
	}
	t.Cleanup(func() { openCamera = saved })
	return &opened
}

func TestScanCamera(t *testing.T) {
	frame := encodeJPEG(t, qrImage(t, scanText, 480))
	tests := []struct {
		name     string
		json     bool
		torch    bool
		noTorch  bool
		wantLine func(string) bool
		wantWarn string
	}{
		{name: "text", wantLine: func(l string) bool { return l == scanText }},
		{name: "json", json: true, wantLine: func(l string) bool {
			var got cameraLine
			return json.Unmarshal([]byte(l), &got) == nil && got.Text == scanText && got.Camera == "/dev/video0" && got.Frame >= 1
		}},
		{name: "torch", torch: true, wantLine: func(l string) bool { return l == scanText }},
		{name: "torch missing", torch: true, noTorch: true, wantLine: func(l string) bool { return l == scanText }, wantWarn: "no torch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cams := withFakeCamera(t, func() (*scan.FakeCamera, error) {
				return scan.NewFakeCamera(scan.FakeCameraOptions{
					Name: "/dev/video0", Format: scan.FormatMJPEG, Width: 480, Height: 480,
					Frames: [][]byte{frame}, Loop: true, Interval: 2 * time.Millisecond, NoTorch: tt.noTorch,
				})
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &cancelOnWrite{cancel: cancel}
			var errb bytes.Buffer
			env := &Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: &errb, Clock: clock.NewFake(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))}
			// The test is about the camera plumbing, not the decoder's speed:
			// a race-instrumented decoder needs more than a frame's budget.
			args := []string{"scan", "--budget", "30s", "--camera", "/dev/video0"}
			if tt.json {
				args = append(args, "--json")
			}
			if tt.torch {
				args = append(args, "--torch")
			}
			code := Main(ctx, env, args)
			if code != ExitOK {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitOK, errb.String())
			}
			out.mu.Lock()
			lines := strings.Split(strings.TrimSuffix(out.buf.String(), "\n"), "\n")
			out.mu.Unlock()
			if len(lines) != 1 || !tt.wantLine(lines[0]) {
				t.Errorf("output %q", lines)
			}
			if !strings.Contains(errb.String(), tt.wantWarn) {
				t.Errorf("stderr = %q, want %q", errb.String(), tt.wantWarn)
			}
			if len(*cams) != 1 {
				t.Fatalf("%d cameras opened", len(*cams))
			}
			c := (*cams)[0]
			<-c.Stopped()
			if n := c.DeviceCloses(); n != 1 {
				t.Errorf("camera closed %d times, want 1", n)
			}
			if c.TorchOn() {
				t.Error("torch left on")
			}
		})
	}
}

// TestScanCameraLost: a camera unplugged mid-stream prints what it saw, then
// fails with a clear message, and is released. The camera is unplugged once
// the code is printed, however slow the decoder is.
func TestScanCameraLost(t *testing.T) {
	frame := encodeJPEG(t, qrImage(t, scanText, 480))
	gone := make(chan struct{})
	cams := withFakeCamera(t, func() (*scan.FakeCamera, error) {
		return scan.NewFakeCamera(scan.FakeCameraOptions{
			Name: "/dev/video0", Format: scan.FormatMJPEG, Width: 480, Height: 480,
			Frames: [][]byte{frame}, Loop: true, Gone: gone, Interval: 20 * time.Millisecond,
		})
	})
	out := &lineSignal{line: make(chan struct{})}
	go func() {
		<-out.line
		close(gone)
	}()
	var errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: &errb, Clock: clock.NewFake(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))}
	code := Main(context.Background(), env, []string{"scan", "--budget", "30s", "--camera", "/dev/video0"})
	if code != ExitError {
		t.Fatalf("exit %d, want %d", code, ExitError)
	}
	if got := out.String(); got != scanText+"\n" {
		t.Errorf("stdout = %q, want the code once", got)
	}
	if stderr := errb.String(); !strings.Contains(stderr, "camera lost") || !strings.Contains(stderr, "disconnected") {
		t.Errorf("stderr = %q", stderr)
	}
	c := (*cams)[0]
	<-c.Stopped()
	if n := c.DeviceCloses(); n != 1 {
		t.Errorf("camera closed %d times, want 1", n)
	}
}

// lineSignal is a stdout that closes line when the first line is complete.
type lineSignal struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line chan struct{}
	once sync.Once
}

func (w *lineSignal) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if bytes.IndexByte(w.buf.Bytes(), '\n') >= 0 {
		w.once.Do(func() { close(w.line) })
	}
	return n, err
}

func (w *lineSignal) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestScanListCameras(t *testing.T) {
	saved := listCameras
	t.Cleanup(func() { listCameras = saved })
	listCameras = func(ctx context.Context) ([]scan.CameraInfo, error) {
		return []scan.CameraInfo{{Device: "/dev/video0", Name: "USB Camera", Formats: map[scan.PixelFormat][]image.Point{scan.FormatMJPEG: {{X: 1280, Y: 720}}}}}, nil
	}
	code, stdout, _ := scanRun(context.Background(), "scan", "--list-cameras", "--json")
	if code != ExitOK || !strings.Contains(stdout, `"device":"/dev/video0"`) || !strings.Contains(stdout, `"MJPEG":["1280x720"]`) {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	listCameras = func(ctx context.Context) ([]scan.CameraInfo, error) { return nil, scan.ErrNoCamera }
	code, _, stderr := scanRun(context.Background(), "scan", "--list-cameras")
	if code != ExitError || !strings.Contains(stderr, "no camera") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
