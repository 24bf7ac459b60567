// Package scantest builds large test pictures in milliseconds: a QR code
// on a plain page, as a JPEG or an 8-bit PNG of any size (a 48 Mpx phone
// photo, a screenshot), without encoding every pixel. Encoding 48 Mpx with
// image/jpeg takes half a minute under the race detector; these files are
// stitched from a few pieces the standard encoders make:
//   - JPEG: a restart marker after every 16×16 MCU (DRI = 1) resets the DC
//     predictors, so every MCU's entropy-coded bytes depend on its pixels
//     alone. Pages whose code is aligned to the MCU grid have two kinds of
//     MCU, white and black; image/jpeg encodes each once (baseline, 4:2:0)
//     and the file repeats them.
//   - PNG: each row (each pass row of an interlaced file) is deflated on
//     its own with a sync flush, so equal rows have equal bytes; the zlib
//     stream is those pieces, an empty final block and the Adler-32 of the
//     whole, combined from the rows' own.
//
// It also reads a test child process's peak resident set (PeakRSSLine,
// ChildPeakRSS).
//
// It is for tests only: the files are valid, decode with image/jpeg and
// image/png as well as with libjpeg and libpng, and say nothing about how
// real cameras compress.
package scantest
