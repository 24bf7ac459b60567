package scan

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/scan/internal/scene"
)

var pinned = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// yuyvFrame renders spec and encodes it as a YUYV camera frame.
func yuyvFrame(t *testing.T, spec scene.Spec) ([]byte, string) {
	t.Helper()
	f := render(t, spec)
	return rgbaToYUYV(f.Image), f.Text
}

func blankYUYV(w, h int) []byte {
	b := make([]byte, w*h*2)
	for i := range b {
		b[i] = 128
	}
	return b
}

func TestFakeCameraStream(t *testing.T) {
	spec := scene.Spec{Seed: 3, Condition: scene.Clean, Size: scene.Size{W: 640, H: 480}, Text: scene.Sample}
	code, text := yuyvFrame(t, spec)
	blank := blankYUYV(640, 480)
	cam, err := NewFakeCamera(FakeCameraOptions{
		Format: FormatYUYV, Width: 640, Height: 480,
		// The code is in view for three frames, gone, then back: reported once.
		Frames:    [][]byte{blank, code, code, code, blank, code},
		GoneAfter: 6,
		Clock:     clock.NewFake(pinned),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	var got []string
	err = Stream(context.Background(), cam, NewDecoder(Options{Budget: -1}), StreamOptions{}, func(f Frame, r Result) error {
		got = append(got, r.Text)
		if !f.Time.Equal(pinned) {
			t.Errorf("frame time %v, want the fake clock's %v", f.Time, pinned)
		}
		return nil
	})
	if !errors.Is(err, ErrCameraGone) {
		t.Fatalf("Stream error = %v, want ErrCameraGone", err)
	}
	if len(got) != 1 || got[0] != text {
		t.Errorf("codes = %q, want the sample once", got)
	}
	// The vanished device was released at once, and the goroutine ended.
	select {
	case <-cam.Stopped():
	case <-time.After(10 * time.Second):
		t.Fatal("capture goroutine still running after the camera vanished")
	}
	if n := cam.DeviceCloses(); n != 1 {
		t.Errorf("device closed %d times, want 1", n)
	}
	if err := cam.Close(); err != nil {
		t.Errorf("Close after loss: %v", err)
	}
	if n := cam.DeviceCloses(); n != 1 {
		t.Errorf("device closed %d times after Close, want 1", n)
	}
	if _, err := cam.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
}

func TestFakeCameraCloseWhileWaiting(t *testing.T) {
	cam, err := NewFakeCamera(FakeCameraOptions{Format: FormatYUYV, Width: 4, Height: 2})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := cam.Next(context.Background())
		errc <- err
	}()
	if err := cam.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Next during Close = %v, want ErrClosed", err)
	}
	<-cam.Stopped()
	if n := cam.DeviceCloses(); n != 1 {
		t.Errorf("device closed %d times, want 1", n)
	}
	if err := cam.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFakeCameraContextCancel(t *testing.T) {
	cam, err := NewFakeCamera(FakeCameraOptions{Format: FormatMJPEG, Width: 4, Height: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cam.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next = %v, want context.Canceled", err)
	}
	err = Stream(ctx, cam, NewDecoder(Options{}), StreamOptions{}, func(Frame, Result) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Stream = %v, want context.Canceled", err)
	}
}

// TestFakeCameraDropsStaleFrames: a consumer that does not keep up gets the
// newest frame, and the ones it missed are counted as dropped, not queued.
func TestFakeCameraDropsStaleFrames(t *testing.T) {
	frames := make([][]byte, 5)
	for i := range frames {
		frames[i] = blankYUYV(4, 2)
		frames[i][0] = byte(i + 1) // luma of pixel 0 tells the frames apart
	}
	cam, err := NewFakeCamera(FakeCameraOptions{Format: FormatYUYV, Width: 4, Height: 2, Frames: frames})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	// Wait until all five are captured (the fake then stalls).
	for {
		cam.mu.Lock()
		n := cam.seq
		cam.mu.Unlock()
		if n == 5 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	f, err := cam.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Seq != 5 || greyOf(f.Image).pix[0] != 5 {
		t.Errorf("got frame %d (luma %d), want the newest, 5", f.Seq, greyOf(f.Image).pix[0])
	}
	if d := cam.Dropped(); d != 4 {
		t.Errorf("dropped %d, want 4", d)
	}
}

func TestFakeCameraBadFrame(t *testing.T) {
	cam, err := NewFakeCamera(FakeCameraOptions{Format: FormatMJPEG, Width: 4, Height: 2, Frames: [][]byte{[]byte("garbage")}})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	f, err := cam.Next(context.Background())
	if !errors.Is(err, ErrNotImage) || f.Seq != 1 {
		t.Errorf("Next = frame %d, %v; want frame 1 with ErrNotImage", f.Seq, err)
	}
}

func TestFakeCameraOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    FakeCameraOptions
		wantErr error
	}{
		{name: "yuyv", opts: FakeCameraOptions{Format: FormatYUYV, Width: 2, Height: 2}},
		{name: "no format", opts: FakeCameraOptions{Width: 2, Height: 2}, wantErr: ErrFormat},
		{name: "no size", opts: FakeCameraOptions{Format: FormatMJPEG}, wantErr: ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cam, err := NewFakeCamera(tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewFakeCamera error = %v, want %v", err, tt.wantErr)
			}
			if cam != nil {
				cam.Close()
			}
		})
	}
}

func TestTorch(t *testing.T) {
	tests := []struct {
		name    string
		noTorch bool
		wantErr error
	}{
		{name: "has torch"},
		{name: "no torch", noTorch: true, wantErr: ErrNoTorch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cam, err := NewFakeCamera(FakeCameraOptions{Format: FormatYUYV, Width: 2, Height: 2, NoTorch: tt.noTorch})
			if err != nil {
				t.Fatal(err)
			}
			defer cam.Close()
			var torch Torch = cam
			if err := torch.SetTorch(context.Background(), true); !errors.Is(err, tt.wantErr) {
				t.Fatalf("SetTorch error = %v, want %v", err, tt.wantErr)
			}
			if cam.TorchOn() != (tt.wantErr == nil) {
				t.Errorf("TorchOn = %v", cam.TorchOn())
			}
		})
	}
}

func TestFileSourceAndStream(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(src, dst string) {
		t.Helper()
		b := readTestdata(t, src)
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("seed.png", "a.png")
	copyFile("truncated.png", "b.png")
	copyFile("seed.jpg", "c.JPG") // same code again: reported once
	copyFile("frame-160x120.png", "d.png")
	copyFile("not-an-image.txt", "e.txt") // not picked up by extension
	src, err := NewDirSource(context.Background(), dir, clock.NewFake(pinned))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var codes []string
	var bad []string
	err = Stream(context.Background(), src, NewDecoder(Options{Budget: -1}), StreamOptions{
		OnError: func(f Frame, err error) {
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("%s: error %v, want ErrTruncated", f.Name, err)
			}
			bad = append(bad, filepath.Base(f.Name))
		},
	}, func(f Frame, r Result) error {
		codes = append(codes, filepath.Base(f.Name)+"="+r.Text)
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	want := []string{"a.png=" + seedText, "d.png=" + frameText}
	if len(codes) != len(want) || codes[0] != want[0] || codes[1] != want[1] {
		t.Errorf("codes = %q, want %q", codes, want)
	}
	if len(bad) != 1 || bad[0] != "b.png" {
		t.Errorf("bad frames = %q, want [b.png]", bad)
	}
	if _, err := src.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("Next at end = %v, want io.EOF", err)
	}
	src.Close()
	if _, err := src.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
}

func TestNewDirSourceMissing(t *testing.T) {
	_, err := NewDirSource(context.Background(), filepath.Join(t.TempDir(), "nope"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want os.ErrNotExist", err)
	}
}

func TestStreamEmitError(t *testing.T) {
	src := NewFileSource([]string{filepath.Join("testdata", "seed.png")}, nil)
	stop := errors.New("stop")
	err := Stream(context.Background(), src, NewDecoder(Options{Budget: -1}), StreamOptions{}, func(Frame, Result) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Stream = %v, want the emit error", err)
	}
}

func TestStreamRepeat(t *testing.T) {
	dir := t.TempDir()
	blank := image.NewGray(image.Rect(0, 0, 64, 64))
	var buf bytes.Buffer
	if err := png.Encode(&buf, blank); err != nil {
		t.Fatal(err)
	}
	blankPath := filepath.Join(dir, "blank.png")
	if err := os.WriteFile(blankPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code := filepath.Join("testdata", "seed.png")
	frames := []string{code, code, blankPath, blankPath, code}
	tests := []struct {
		name   string
		repeat int
		want   int
	}{
		{name: "once per stream", repeat: 0, want: 1},
		{name: "again after a gap longer than Repeat", repeat: 2, want: 2},
		{name: "not again within Repeat frames", repeat: 3, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := Stream(context.Background(), NewFileSource(frames, nil), NewDecoder(Options{Budget: -1}), StreamOptions{Repeat: tt.repeat},
				func(Frame, Result) error { n++; return nil })
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Errorf("emitted %d times, want %d", n, tt.want)
			}
		})
	}
}
