// Package issuer owns the issuing side of RTC1: an SM2 PKI (national root,
// provincial and city CAs with jurisdiction prefixes, signer certificates),
// signing credentials into QR text (static codes and short-lived dynamic
// codes), CRLs, status lists (full and delta) and trust bundles. The demo
// world, the test vectors and the hub use it; a real authority would run the
// same code behind an HSM.
//
// Randomness is a parameter everywhere: crypto/rand in production,
// gm.DeterministicReader for reproducible demo worlds and vectors.
package issuer
