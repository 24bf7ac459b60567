package scan

import (
	"context"
	"image"

	"github.com/roadcheck/roadcheck/internal/clock"
)

// Torch is implemented by frame sources with a light that can be switched
// (the flash LED of a tablet camera used as a torch).
type Torch interface {
	// SetTorch switches the light; errors wrap ErrNoTorch when there is
	// none.
	SetTorch(ctx context.Context, on bool) error
}

// CameraOptions select and configure a camera for OpenCamera.
type CameraOptions struct {
	// Device is the V4L2 device path; "" means the first capture device.
	Device string
	// Width and Height are the wanted resolution; the nearest the camera
	// offers is used. Zero means 1280×720.
	Width, Height int
	// Clock stamps frames; nil means clock.Real.
	Clock clock.Clock
}

// CameraInfo describes a capture device found by ListCameras.
type CameraInfo struct {
	// Device is the path, e.g. /dev/video0.
	Device string
	// Name is the driver's card name.
	Name string
	// Formats maps the pixel formats this package decodes to the frame
	// sizes the camera offers in each.
	Formats map[PixelFormat][]image.Point
}

// nearestSize picks the offered size closest to the wanted one (by pixel
// count, then aspect).
func nearestSize(offered []image.Point, want image.Point) (image.Point, bool) {
	best, bestD := image.Point{}, -1.0
	for _, s := range offered {
		d := float64(s.X*s.Y - want.X*want.Y)
		if d < 0 {
			d = -d
		}
		d += float64(abs(s.X*want.Y-s.Y*want.X)) / float64(max(want.Y, 1))
		if bestD < 0 || d < bestD {
			best, bestD = s, d
		}
	}
	return best, bestD >= 0
}
