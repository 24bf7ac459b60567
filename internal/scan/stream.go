package scan

import (
	"context"
	"errors"
	"io"
)

// StreamOptions configure Stream.
type StreamOptions struct {
	// OnError, when set, sees per-frame errors that do not end the stream
	// (an unreadable file, a corrupt camera frame). Frames without a code
	// are not errors.
	OnError func(Frame, error)
	// Repeat reports a code again when it reappears after this many frames
	// without it; 0 means never (each distinct text once per stream).
	Repeat int
}

// Stream reads frames from src until it ends, decodes each with d, and
// calls emit once for each distinct code text (see StreamOptions.Repeat).
// It returns nil when src ends (io.EOF), ctx.Err() when ctx ends, the
// source's error (wrapping ErrCameraGone for a vanished camera), or emit's
// error. It does not close src.
func Stream(ctx context.Context, src FrameSource, d *Decoder, opts StreamOptions, emit func(Frame, Result) error) error {
	seen := map[string]int{} // text → frame index last seen
	for i := 0; ; i++ {
		f, err := src.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if f.Name != "" && !errors.Is(err, ErrCameraGone) && !errors.Is(err, ErrClosed) {
				// One bad frame (unreadable file, corrupt JPEG): go on.
				if opts.OnError != nil {
					opts.OnError(f, err)
				}
				continue
			}
			return err
		}
		res, err := d.Decode(ctx, f.Image)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		last, dup := seen[res.Text]
		seen[res.Text] = i
		if dup && (opts.Repeat <= 0 || i-last <= opts.Repeat) {
			continue
		}
		if len(seen) > 4096 {
			// Bound memory on endless streams: forget all but this one.
			seen = map[string]int{res.Text: i}
		}
		if err := emit(f, res); err != nil {
			return err
		}
	}
}
