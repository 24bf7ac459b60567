//go:build !cgo || android || ios

package imagecodec

import "context"

// Available reports whether this build decodes with the C libraries.
const Available = false

func decodeJPEG(context.Context, []byte, int, int, int, []byte, int64) error { return ErrUnsupported }

func decodePNG(context.Context, []byte, int, int, int, []byte, int64) error { return ErrUnsupported }
