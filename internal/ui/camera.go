package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/scan"
)

// ScanCameras is the Camera of a terminal over package scan's cameras
// (V4L2 on Linux). It is safe for concurrent use.
type ScanCameras struct {
	// List lists the cameras (default scan.ListCameras).
	List func(ctx context.Context) ([]scan.CameraInfo, error)
	// Open opens one for streaming (default scan.OpenCamera with the
	// clock). A source that implements scan.Torch has a switchable torch.
	Open func(ctx context.Context, device string) (scan.FrameSource, error)

	mu   sync.Mutex
	open map[string]scan.FrameSource
}

// NewScanCameras returns the V4L2 cameras of package scan, frames stamped
// with clk.
func NewScanCameras(clk clock.Clock) *ScanCameras {
	return &ScanCameras{
		List: scan.ListCameras,
		Open: func(ctx context.Context, device string) (scan.FrameSource, error) {
			return scan.OpenCamera(ctx, scan.CameraOptions{Device: device, Clock: clk})
		},
	}
}

// Devices lists the capture devices' paths; none when there is no camera
// (or listing failed: the GUI then says "no camera").
func (c *ScanCameras) Devices() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	infos, err := c.List(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(infos))
	for _, in := range infos {
		if in.Device != "" {
			out = append(out, in.Device)
		}
	}
	return out
}

// Stream opens device and hands each frame to frame until ctx ends (it then
// returns ctx.Err()) or the camera fails (an error wrapping
// scan.ErrNoCamera, scan.ErrCameraGone or scan.ErrFormat). The source
// keeps only the newest frame, so a slow frame callback drops frames rather
// than queueing them.
func (c *ScanCameras) Stream(ctx context.Context, device string, frame func(image.Image)) error {
	src, err := c.Open(ctx, device)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.open == nil {
		c.open = map[string]scan.FrameSource{}
	}
	c.open[device] = src
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.open[device] == src {
			delete(c.open, device)
		}
		c.mu.Unlock()
		_ = src.Close()
	}()
	for {
		f, err := src.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		frame(f.Image)
	}
}

// Torch switches the torch of device, which must be streaming; errors wrap
// ErrNoCamera (not streaming) or scan.ErrNoTorch.
func (c *ScanCameras) Torch(device string, on bool) error {
	c.mu.Lock()
	src := c.open[device]
	c.mu.Unlock()
	if src == nil {
		return fmt.Errorf("%s: %w", device, ErrNoCamera)
	}
	t, ok := src.(scan.Torch)
	if !ok {
		return fmt.Errorf("%s: %w", device, scan.ErrNoTorch)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return t.SetTorch(ctx, on)
}

// cameraErrorKey names the sentence for a camera that stopped.
func cameraErrorKey(err error) string {
	switch {
	case errors.Is(err, scan.ErrCameraGone):
		return "scan.cameraGone"
	case errors.Is(err, scan.ErrFormat):
		return "scan.cameraFormat"
	}
	return "scan.cameraFailed"
}
