package scan

import "errors"

// Sentinel errors of package scan. Functions wrap them with
// fmt.Errorf("...: %w", err); test with errors.Is.
var (
	// ErrNoCode: the image was read but no QR code could be decoded in it
	// within the time budget.
	ErrNoCode = errors.New("scan: no QR code found")
	// ErrNotImage: the bytes are not a PNG or JPEG image.
	ErrNotImage = errors.New("scan: not a PNG or JPEG image")
	// ErrTruncated: the image file ends early or is corrupt inside.
	ErrTruncated = errors.New("scan: truncated or corrupt image")
	// ErrTooLarge: the file or the dimensions it declares are beyond the
	// hard limits (MaxFileBytes, MaxLoadSide, MaxLoadPixels; MaxSide and
	// MaxDeclaredPixels for images in memory), or decoding it would take
	// more than MaxDecodedBytes (see LoadImage).
	ErrTooLarge = errors.New("scan: image too large")
	// ErrNoCamera: no V4L2 camera is present, or the platform has none.
	ErrNoCamera = errors.New("scan: no camera")
	// ErrCameraGone: the camera stopped delivering frames (unplugged,
	// driver error) in the middle of a stream.
	ErrCameraGone = errors.New("scan: camera disconnected")
	// ErrFormat: the camera offers no pixel format this package decodes
	// (MJPEG or YUYV), or a frame does not match its declared format.
	ErrFormat = errors.New("scan: unsupported frame format")
	// ErrNoTorch: the camera has no controllable torch (flash LED).
	ErrNoTorch = errors.New("scan: camera has no torch")
	// ErrClosed: the frame source was used after Close.
	ErrClosed = errors.New("scan: source closed")
)
