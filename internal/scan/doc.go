// Package scan owns QR code acquisition for RoadCheck: turning camera
// frames, image files and hardware-scanner keystrokes into QR code texts.
//
// It owns:
//   - the decoding pipeline (Decoder): grey conversion, contrast
//     normalisation, unsharp masking, scaled copies, gozxing's hybrid and
//     global-histogram binarizers, inverted (dark-mode) images and crops
//     around finder patterns, tried in order under a per-frame time budget;
//     gozxing finds finder patterns and corrects errors, while this package
//     fits the module grid itself (finder and timing-pattern measurement,
//     all alignment patterns, a least-squares homography) and samples the
//     grey image, which is what makes blurred, tilted and small codes read;
//   - image loading with size limits (LoadImage, LoadFile, DecodeFile);
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
// context deadline.
package scan
