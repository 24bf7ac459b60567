// Package records owns the terminal's check records: the enforcement
// evidence written after every roadside check, kept on the terminal's bbolt
// database (the same file as the trust store) until the hub has them.
//
// A record is appended once and never changed: a correction is a new record
// whose Corrects field names the old one. Each record carries a sequence
// number, the SM3 hash of the previous record's canonical bytes and the
// device's SM2 signature over its own canonical bytes (deterministic CBOR,
// see wire.go), so a record edited in the database file, or deleted from it,
// is detectable by Audit on the terminal and by the hub on delivery.
//
// A check made during a roadside stop carries the stop's id and the codes
// of the stop's cross-check warnings (package stop's Warning codes, kept
// here as validated strings: records and stop are on the same layer), both
// inside the signed bytes.
//
// A check confirmed online (verify.Confirm) carries whether the hub was
// asked, the hub's time and answer, or why there was none, and whether the
// answer added the record's LICENCE_REVOKED or LICENCE_SUSPENDED (Online),
// inside the signed bytes; records without it encode as before.
//
// Personal fields (holder name, holder ID, plate) are sealed at rest with
// SM4-GCM under a per-device data key. The data key is never stored in the
// clear: it is wrapped under one or more key sources (slots), each of which
// can unlock it on its own:
//
//   - KeyFile: 16 random bytes in a file beside the database, mode 0600. This
//     is what rcctl uses: the file's permissions protect it, exactly like an
//     SSH private key without passphrase.
//   - OfficerPIN: a key derived from one officer's PIN with PBKDF2-HMAC-SM3
//     (200,000 iterations, 16-byte random salt), in a slot named
//     "officer/<ID>"; every officer has their own slot over the same data
//     key. The GUI unlocks the store at sign-in with it, adds an officer's
//     slot with AddKeySource while unlocked, and retires the key-file slot
//     once every officer has one, so that personal data is only readable
//     after an officer types the PIN. Passphrase is the same with the
//     single slot name "pin".
//
// The device's SM2 signing key is sealed under the same data key.
//
// Append returns only after the record, its outbox entry and the new chain
// head are committed with fsync: a record is "acknowledged" exactly when
// Append returned nil. A full disk gives ErrStorageFull and leaves what was
// stored intact.
//
// WARNING: a 6-digit PIN has only a million values; anyone who copies the
// database file can try them all offline, PBKDF2 only slows that down. A PIN
// slot is meant to be combined with a device-bound secret (a keystore or
// TPM-sealed key file) or a long passphrase; attempt counting is the GUI's
// job.
package records
