// Package imagecodec decodes large JPEG and PNG images straight to a
// reduced 8-bit grey image, with libjpeg-turbo and libpng through cgo, so
// that a 48 Mpx photo never exists in memory at full size. It is package
// scan's only user of C and the only package of RoadCheck with cgo
// (internal/arch enforces it).
//
// Contract:
//   - Grey returns an *image.Gray of at least Options.MinPixels pixels when
//     the image has that many (the whole image otherwise), as small as the
//     codec can make it: a JPEG is decoded at M/8 of its size (libjpeg's
//     scale_num/scale_denom, M = 1…8, the smallest M that gives MinPixels;
//     only the luminance is inverse-transformed, JCS_GRAYSCALE), a PNG row
//     by row (png_read_row), each output pixel the mean of a k×k block,
//     with the largest k that gives MinPixels. Peak memory is the output
//     plus the library's working memory: for a PNG one row and one row of
//     accumulators (every output row's for an interlaced PNG), for a
//     baseline JPEG a few rows of blocks (about 1 MiB at 8000 px wide:
//     libjpeg does not count these small buffers against its limit), for
//     a progressive or multi-scan JPEG the coefficients of the whole image
//     (2 bytes a sample, every component).
//   - Options.MaxMemory bounds that working memory: libjpeg's
//     max_memory_to_use, every libpng allocation (a counting allocator),
//     and the output; a progressive JPEG whose coefficients would not fit
//     is refused before its data is read. Over the bound: ErrTooLarge. A
//     progressive JPEG of more than 500 scans is refused too (ErrTooLarge).
//   - Grey is BT.601 luminance as package scan computes it (16-bit PNG
//     samples keep their high byte); transparent PNG pixels are laid over
//     white. A PNG's zlib Adler-32 is not checked: the CRC-32 of every IDAT
//     chunk covers the same bytes compressed.
//   - Errors: ErrTruncated (the data ends early), ErrCorrupt (the library
//     rejects the data, or a JPEG warning that means damaged image data:
//     libjpeg would paint grey and go on), ErrTooLarge, ErrUnsupported (not
//     a JPEG or PNG, a CMYK/YCCK JPEG, or a build without cgo: the caller
//     decodes another way), or ctx.Err() when ctx ends (checked between
//     rows; the C code stops within a row).
//   - Safety: each library error handler longjmps to a setjmp in the same
//     C function that called the library, so no jump crosses a Go frame;
//     nothing is printed to stderr and nothing calls exit(). The C code
//     writes only into the output buffer Go passes in and keeps no pointer
//     to Go memory after it returns. Concurrent calls are independent.
//
// Without cgo (CGO_ENABLED=0) and on Android and iOS, where the Debian
// libraries are not there, Available is false and Grey returns
// ErrUnsupported.
package imagecodec
