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
// Every check record carries the check policy it was made under
// (Check.Policy, a policy.Ref: signer, sequence, digest, clock skew and
// maximum trust age) inside the signed bytes; records made before it
// existed decode with none. A check left without an outcome is recorded
// with ActionNone (未处置); ReadAction reads the form records had before
// (ActionOther with the text "未处置") as ActionNone.
//
// At rest (v2) every personal or evidential field — holder name and ID,
// licence number, id hash, plate, notes, action text, place and
// coordinates, reveal time — is sealed with SM4-GCM under the device data
// key, bound to the record id; what stays in the clear is what the chain
// and the outbox need (id, sequence, hashes, time, officer, verdict,
// reasons, action, stop). Local search (Search) goes through blind
// indexes: HMAC-SM3 of the normalised value under a key derived from the
// data key. The data key and the device's SM2 signing key come from
// package keys: the store is opened with a keyring a vault session
// unlocked (Unlocked: an officer's PIN and the device-bound root, a TPM
// where there is one); the legacy sources (KeyFile, Passphrase,
// OfficerPIN) remain for the demo world, tests and migration.
//
// The chain head (sequence and hash of the newest record) is signed by the
// device key at every append: Audit checks every record's signature, the
// links, the id index and the head's signature, so the newest records
// deleted and the head rolled back without the key show as
// ProblemHeadSig; Head gives the head with its stored signature for the
// hub (which also flags a head behind what it received). Purge erases the
// sealed fields of records the hub acknowledged long enough ago; the
// digest and a device signature over what remains keep the chain
// verifiable.
//
// Append returns only after the record, its outbox entry and the new chain
// head are committed with fsync: a record is "acknowledged" exactly when
// Append returned nil. A full disk gives ErrStorageFull and leaves what was
// stored intact.
//
// WARNING: a restored older copy of the whole database carries a validly
// signed older head: Audit cannot tell it from the real one; only the hub,
// which received later records or heads, can.
package records
