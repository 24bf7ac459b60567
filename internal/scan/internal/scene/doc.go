// Package scene renders synthetic camera frames of QR codes, deterministic
// from a seed, for the scan tests, the corpus generator and the benchmark:
// RTC1 payloads (Payload, Sample) encoded by gozxing's QR writer.
//
// Two kinds of family (Condition): the classic ones (Conditions) place a
// version 12–17 code at ECC M on a cluttered background with one
// degradation of a roadside tablet camera on top of a baseline; the hard
// ones (Hard) are physically modelled — curved surfaces, steep tilt through
// a short lens, overexposure with bloom, lamp glare, small distant codes,
// glass and mirrors, dark-mode screens — with real-length codes (versions
// 13–25, ECC M or Q), and each of their frames passes the readability
// oracle (Check, Oracle): sampled under the true geometry it stays within
// the code's error correction. Render is deterministic and safe for
// concurrent use.
package scene
