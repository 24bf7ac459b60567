//go:build cgo && !android && !ios

// C side of package imagecodec: decoding with libjpeg-turbo and libpng
// straight to a reduced 8-bit grey image. Every libjpeg/libpng error ends in
// a longjmp to the setjmp of the same C function that called the library,
// so no jump ever crosses a Go frame, and nothing calls exit().

#ifndef RC_IMAGECODEC_H
#define RC_IMAGECODEC_H

#include <stddef.h>

// Results of rc_jpeg_grey and rc_png_grey.
enum {
	RC_OK = 0,
	RC_TRUNCATED = 1,   // the data ends early
	RC_CORRUPT = 2,     // the library found the data malformed
	RC_TOO_LARGE = 3,   // over the working-memory limit or the scan limit
	RC_CANCELLED = 4,   // *cancel became non-zero
	RC_UNSUPPORTED = 5  // a JPEG colour space that cannot be read as grey
};

// rc_jpeg_grey decodes the JPEG in data at scale/8 of its size (scale 1..8)
// as 8-bit grey into out, ow×oh bytes, row-major. It fails unless libjpeg's
// output size is exactly ow×oh. max_mem bounds libjpeg's working memory
// (max_memory_to_use). A non-empty message goes to msg.
int rc_jpeg_grey(const unsigned char *data, size_t len, int scale,
		unsigned char *out, int ow, int oh, size_t max_mem,
		const volatile int *cancel, char *msg, size_t msglen);

// rc_png_grey decodes the w×h PNG in data as 8-bit grey into out, each
// output pixel the mean of a factor×factor block (smaller at the right and
// bottom edges): out is ceil(w/factor)×ceil(h/factor). Transparent pixels
// count as white. max_mem bounds every libpng allocation and the
// accumulators together.
int rc_png_grey(const unsigned char *data, size_t len, int w, int h,
		int factor, unsigned char *out, size_t max_mem,
		const volatile int *cancel, char *msg, size_t msglen);

#endif
