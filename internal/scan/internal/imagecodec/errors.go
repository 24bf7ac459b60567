package imagecodec

import "errors"

// Sentinel errors of package imagecodec, wrapped with the library's message.
var (
	// ErrTruncated: the image data ends early.
	ErrTruncated = errors.New("imagecodec: image ends early")
	// ErrCorrupt: the image data is malformed.
	ErrCorrupt = errors.New("imagecodec: corrupt image")
	// ErrTooLarge: decoding needs more than Options.MaxMemory, or a
	// progressive JPEG has more than 500 scans.
	ErrTooLarge = errors.New("imagecodec: image too large")
	// ErrUnsupported: not a JPEG or PNG this build can decode to grey.
	ErrUnsupported = errors.New("imagecodec: unsupported image")
)
