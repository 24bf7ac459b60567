// Package envelope owns RoadCheck's application-layer sealing of personal
// and evidential data, on top of TLS 1.3 (TLCP, the national TLS, is not
// available to the project): a fresh SM4 content key encrypts the payload
// with SM4-GCM, and the content key is encrypted with SM2 (GB/T 32918.4)
// to the recipient's public key — the hub's encryption key, published at
// enrolment, for record pushes; a supervisor session's key for responses
// that carry personal fields. The envelope names its recipient key and its
// content type, both bound into the GCM associated data, so an envelope
// cannot be opened as another type or re-addressed unnoticed.
//
// Sealing gives confidentiality end to end (a TLS-terminating proxy sees
// only envelopes); authenticity of a push still comes from the device's
// request signature over the sealed bytes.
//
// WARNING: software cryptography (gmsm through internal/gm), not a
// certified cryptographic module (密码模块).
package envelope
