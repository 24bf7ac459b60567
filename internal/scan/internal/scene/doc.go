// Package scene renders synthetic camera frames of QR codes, deterministic
// from a seed, for the scan tests, the corpus generator and the benchmark:
// RTC1 payloads (Payload, Sample) encoded by gozxing's QR writer at ECC M,
// placed on a cluttered background with the degradations of a roadside
// tablet camera (Condition).
package scene
