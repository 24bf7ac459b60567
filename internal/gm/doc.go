// Package gm is RoadCheck's only door to the Chinese national (国密) algorithms:
// SM2 signatures with SM3 and the default distinguishing identifier, SM3
// hashing, and SM4-GCM authenticated encryption. It wraps
// github.com/emmansun/gmsm so that the rest of the code never touches
// sm2/sm3/sm4 directly and never chooses parameters on its own.
//
// Signatures are exchanged in the raw form RTC1 uses: r || s, 32 bytes each,
// big-endian and left-padded (64 bytes). Keys are serialised as PKCS#8 (private)
// and PKIX (public) DER, the forms smx509 reads.
package gm
