// Package scan owns QR code acquisition for RoadCheck: turning camera
// frames, image files and hardware-scanner keystrokes into QR code texts.
//
// It owns:
//   - the decoding pipeline (Decoder), a plan of attempts tried in order
//     under a per-frame time budget: preprocessed detection planes
//     (sharpened, contrast-normalised, dark modules thickened for
//     overexposed screens, scaled), a hybrid and a global binarizer, both
//     polarities (dark-mode screens) on each bitmap, a full-resolution look
//     at the parts of a large frame textured like a code (small or distant
//     codes), and crops around the finders seen; an overexposed frame
//     starts with its dark modules thickened. It finds finder patterns
//     itself (tolerating the foreshortening of a steep tilt), ranks the
//     triples of finders (equal legs, or equal legs counted in modules,
//     so a keystoned code ranks with a square one), and reads a
//     code with one finder washed out by glare or covered by predicting it
//     from the other two (their sides give the code's edges). Per candidate
//     it measures each finder along its own sides (a measure that bloom
//     and blur do not bias), reads the version information beside the
//     finders, locates every alignment pattern outwards from the finders,
//     each where a homography corrected by a thin-plate spline through the
//     patterns found so far puts it, and samples the grey frame through the
//     homography or, when the patterns stray from it (a bent surface, a
//     lens), through the spline-warped grid. gozxing corrects errors and
//     decodes the bits, also mirrored (a code seen in a mirror reads
//     transposed). Candidates that show no version information or timing
//     pattern are put off until the likelier ones are done, and a grid whose
//     finders and timing patterns do not show where they belong is given up
//     before it is decoded;
//   - image loading with size limits (LoadImage, LoadFile, DecodeFile).
//     Images of up to LoadPixels (4 Mpx) are decoded by image/png and
//     image/jpeg, as they always were: colour kept, no C involved for the
//     camera-sized frames and files that make up nearly every scan. Larger
//     ones are reduced to grey of about LoadPixels anyway, so with cgo
//     (ScaledDecoding) they go to internal/imagecodec, which decodes them
//     straight to a reduced grey image with libjpeg-turbo (DCT scaling,
//     luminance only) and libpng (rows streamed into block means): a 48 Mpx
//     photo costs 6.6 MiB of grey (decoded at 3/8) instead of 72 MiB of
//     YCbCr, and a 16-bit PNG bomb a row at a time instead of 512 MiB.
//     Those two libraries parse only files declaring more than 4 Mpx
//     (which an attacker can choose, so they are exposed all the same:
//     Debian's builds, fuzzed upstream, with our own fuzz target and
//     memory bounds around them).
//     Without cgo such images must fit MaxDecodedBytes at full size;
//   - frame sources (FrameSource): files, folders, V4L2 cameras (Linux,
//     github.com/blackjack/webcam) with YUYV and MJPEG decoding, and a
//     scripted FakeCamera for tests; Stream feeds a source to a Decoder;
//   - the keyboard-wedge filter (Wedge) that tells a hardware scanner's
//     bursts from human typing.
//
// It does not interpret the texts: RTC1 parsing and verification live
// elsewhere. The only RTC1 knowledge here is Options.Prefer, the prefix of
// the codes wanted when a frame shows several.
//
// Time: the decoding logic never reads the wall clock. Result.Duration and
// frame stamps come from an injected clock.Clock; the per-frame budget is a
// context deadline, checked between attempts and inside the long image
// operations, so a frame stops within a few milliseconds of it.
//
// Memory: the planes and bitmaps of a frame come from buffer pools and go
// back when Decode returns, so a stream of frames allocates little.
package scan
