package scan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
)

// FakeCameraOptions script a FakeCamera.
type FakeCameraOptions struct {
	// Name is the device name in frame names; "" means "fake".
	Name string
	// Format, Width and Height describe Frames.
	Format        PixelFormat
	Width, Height int
	// Frames are raw frames in Format, delivered in order.
	Frames [][]byte
	// Loop replays Frames forever; otherwise the camera stalls (delivers
	// nothing more) after the last one, as a real camera with no new frame.
	Loop bool
	// GoneAfter > 0 makes the device vanish after that many frames, as an
	// unplugged USB camera does.
	GoneAfter int
	// Gone, when closed, makes the device vanish at its next frame: a test
	// unplugs the camera once it has seen what it waits for.
	Gone <-chan struct{}
	// Interval paces the frames in real time (0: as fast as they are read).
	Interval time.Duration
	// Clock stamps the frames; nil means clock.Real.
	Clock clock.Clock
	// NoTorch makes SetTorch fail with ErrNoTorch.
	NoTorch bool
}

// FakeCamera is a scripted camera for tests: it runs the same capture
// goroutine and newest-frame-only hand-over as the V4L2 camera, over frames
// given in memory.
type FakeCamera struct {
	*liveSource
	dev *fakeDevice
}

// errFakeGone is what the fake device reports when it vanishes.
var errFakeGone = errors.New("no such device")

type fakeDevice struct {
	opts FakeCameraOptions

	mu      sync.Mutex
	n       int
	closed  int
	torchOn bool
}

// NewFakeCamera starts a FakeCamera. Errors wrap ErrFormat for a format or
// size it cannot describe.
func NewFakeCamera(opts FakeCameraOptions) (*FakeCamera, error) {
	if opts.Format != FormatYUYV && opts.Format != FormatMJPEG {
		return nil, fmt.Errorf("fake camera: %v: %w", opts.Format, ErrFormat)
	}
	if opts.Width <= 0 || opts.Height <= 0 {
		return nil, fmt.Errorf("fake camera: %dx%d: %w", opts.Width, opts.Height, ErrFormat)
	}
	if opts.Name == "" {
		opts.Name = "fake"
	}
	dev := &fakeDevice{opts: opts}
	return &FakeCamera{liveSource: newLiveSource(dev, opts.Name, opts.Format, opts.Width, opts.Height, opts.Clock), dev: dev}, nil
}

func (d *fakeDevice) readRaw(stop <-chan struct{}) ([]byte, error) {
	d.mu.Lock()
	n := d.n
	d.mu.Unlock()
	if d.opts.GoneAfter > 0 && n >= d.opts.GoneAfter {
		return nil, errFakeGone
	}
	select {
	case <-d.opts.Gone: // a nil channel never fires
		return nil, errFakeGone
	default:
	}
	if len(d.opts.Frames) == 0 || (!d.opts.Loop && n >= len(d.opts.Frames)) {
		<-stop
		return nil, nil
	}
	if d.opts.Interval > 0 {
		t := time.NewTimer(d.opts.Interval)
		select {
		case <-stop:
			t.Stop()
			return nil, nil
		case <-t.C:
		}
	} else {
		select {
		case <-stop:
			return nil, nil
		default:
		}
	}
	d.mu.Lock()
	d.n++
	d.mu.Unlock()
	f := d.opts.Frames[n%len(d.opts.Frames)]
	return append([]byte(nil), f...), nil
}

func (d *fakeDevice) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed++
	return nil
}

// DeviceCloses reports how many times the fake device was closed (1 after
// Close or after it vanished: never 0, never 2).
func (c *FakeCamera) DeviceCloses() int {
	c.dev.mu.Lock()
	defer c.dev.mu.Unlock()
	return c.dev.closed
}

// Stopped is closed once the capture goroutine has exited.
func (c *FakeCamera) Stopped() <-chan struct{} { return c.done }

// SetTorch implements Torch; it records the state.
func (c *FakeCamera) SetTorch(ctx context.Context, on bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.dev.opts.NoTorch {
		return fmt.Errorf("%s: %w", c.name, ErrNoTorch)
	}
	c.dev.mu.Lock()
	defer c.dev.mu.Unlock()
	c.dev.torchOn = on
	return nil
}

// TorchOn reports the last state set with SetTorch.
func (c *FakeCamera) TorchOn() bool {
	c.dev.mu.Lock()
	defer c.dev.mu.Unlock()
	return c.dev.torchOn
}
