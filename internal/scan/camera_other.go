//go:build !linux

package scan

import (
	"context"
	"fmt"
)

// ListCameras returns ErrNoCamera: V4L2 capture exists on Linux only.
func ListCameras(ctx context.Context) ([]CameraInfo, error) {
	return nil, fmt.Errorf("list cameras: not supported on this platform: %w", ErrNoCamera)
}

// Camera is unavailable off Linux.
type Camera struct{ *liveSource }

// SetTorch implements Torch.
func (c *Camera) SetTorch(ctx context.Context, on bool) error { return ErrNoTorch }

// OpenCamera returns ErrNoCamera: V4L2 capture exists on Linux only.
func OpenCamera(ctx context.Context, opts CameraOptions) (*Camera, error) {
	return nil, fmt.Errorf("open camera: not supported on this platform: %w", ErrNoCamera)
}
