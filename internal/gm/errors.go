package gm

import "errors"

var (
	// ErrSignatureLength is returned for a raw signature that is not 64 bytes.
	ErrSignatureLength = errors.New("gm: signature is not 64 bytes")
	// ErrNotSM2Key is returned when a key is not on the SM2 curve.
	ErrNotSM2Key = errors.New("gm: not an SM2 key")
	// ErrKeyLength is returned for an SM4 key that is not 16 bytes.
	ErrKeyLength = errors.New("gm: SM4 key is not 16 bytes")
	// ErrDecrypt is returned when SM4-GCM authentication fails: wrong key,
	// wrong associated data, or tampered ciphertext.
	ErrDecrypt = errors.New("gm: decryption failed")
)
