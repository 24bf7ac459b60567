//go:build cgo && !android && !ios

package imagecodec

/*
#cgo pkg-config: libjpeg libpng16
#include <stdlib.h>
#include "codec.h"
*/
import "C"

import (
	"context"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Available reports whether this build decodes with the C libraries.
const Available = true

// call runs a C decode with a cancel flag that ctx sets, and turns its
// result into an error.
func call(ctx context.Context, format string, maxMem int64, outLen int, run func(cancel *C.int, msg *C.char, msglen C.size_t) C.int) error {
	// Go memory passed to C for the call only; written atomically by the
	// AfterFunc while C reads it with __atomic_load_n.
	cancel := new(int32)
	if ctx.Err() != nil {
		*cancel = 1
	}
	stop := context.AfterFunc(ctx, func() { atomic.StoreInt32(cancel, 1) })
	defer stop()
	msg := make([]byte, 256)
	rc := run((*C.int)(unsafe.Pointer(cancel)), (*C.char)(unsafe.Pointer(&msg[0])), C.size_t(len(msg)))
	text := C.GoString((*C.char)(unsafe.Pointer(&msg[0])))
	switch rc {
	case C.RC_OK:
		return nil
	case C.RC_TRUNCATED:
		return fmt.Errorf("%w: %s: %s", ErrTruncated, format, text)
	case C.RC_TOO_LARGE:
		return fmt.Errorf("%w: %s: %s: more than the %s limit leaves (%s beside the %s output)",
			ErrTooLarge, format, text, mib(maxMem), mib(maxMem-int64(outLen)), mib(int64(outLen)))
	case C.RC_CANCELLED:
		if err := ctx.Err(); err != nil {
			return err
		}
		return context.Canceled
	case C.RC_UNSUPPORTED:
		return fmt.Errorf("%w: %s: %s", ErrUnsupported, format, text)
	}
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, format, text)
}

func decodeJPEG(ctx context.Context, data []byte, scale, ow, oh int, out []byte, maxMem int64) error {
	return call(ctx, "jpeg", maxMem, len(out), func(cancel *C.int, msg *C.char, msglen C.size_t) C.int {
		return C.rc_jpeg_grey((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(scale),
			(*C.uchar)(unsafe.Pointer(&out[0])), C.int(ow), C.int(oh), C.size_t(maxMem-int64(len(out))),
			cancel, msg, msglen)
	})
}

func decodePNG(ctx context.Context, data []byte, w, h, factor int, out []byte, maxMem int64) error {
	return call(ctx, "png", maxMem, len(out), func(cancel *C.int, msg *C.char, msglen C.size_t) C.int {
		return C.rc_png_grey((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(w), C.int(h),
			C.int(factor), (*C.uchar)(unsafe.Pointer(&out[0])), C.size_t(maxMem-int64(len(out))),
			cancel, msg, msglen)
	})
}
