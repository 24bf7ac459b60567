// Package hub owns the RoadCheck hub: the HTTPS service terminals sync with
// and supervisors query. It enrols devices with one-time tokens,
// authenticates every device request by the device's SM2 signature, ingests
// check records exactly once (verifying each signature and the per-device
// hash chain, flagging gaps and tampering), distributes trust data as a
// feed — a manifest of the current state (every certificate, the newest
// CRL of each CA, per status list the latest full list and the deltas after
// it) plus content-addressed objects streamed from disk with HTTP Range —
// answers online licence status checks from the status
// lists it holds, and serves paged record queries to supervisors holding a
// bearer token (by time, device, officer, verdict, kind, plate, roadside
// stop or flag; flags by time, device and kind).
//
// Tokens are listed by a public id (the first 8 bytes of their hash) and
// can be revoked; a device can be revoked (a lost or stolen tablet): it can
// then no longer push, pull, check status or enrol again under its id,
// while the records it delivered stay.
//
// Storage is behind the Store interface: BoltStore (one machine; the feed's
// objects as files beside the database, PATH.objects) and, in package
// pgstore, PostgreSQL (several hubs on one database); both pass the shared
// suite in package storetest. Stores keep rollups at ingestion, from which
// GET /v1/counters answers exactly; GET /v1/records/export streams every
// record of a query as CSV or XLSX. /metrics (Prometheus), /v1/ready and
// JSON logs (log/slog, never personal data or tokens) serve operations; a
// store that cannot answer (database down or read-only) makes requests
// answer 503 with Retry-After.
// Record
// evidence (canonical bytes and signature) is sealed with SM4-GCM under the
// hub's data key; plates are searchable through a keyed SM3 hash (HMAC-SM3
// under the hub's index key) of the normalised plate, never stored in the
// clear. The keys — those two, and the SM2 keys pushes are sealed to and
// audit checkpoints signed with — live in a keyring beside the database
// (PATH.keyring, mode 0600) wrapped by a key-encryption key from off the
// host (keyring.go), or, for hubs not yet moved, in the legacy key file.
//
// Security (security.go, secauth.go): every request that authenticates,
// fails to, or is refused goes into the audit log (package audit), with
// the actor, role, source, filters, rows and personal fields returned; a
// device request is authenticated before its body is read (the signature
// covers the body's hash), within quotas and body caps (package limit),
// its nonce kept for the replay window across restarts; records are keyed
// by (device, id), and the hub flags record times that disagree with their
// id or its own receive time. Supervisors are accounts with a role and a
// jurisdiction (package account) signed in with password and TOTP, or
// automation tokens with a scope and an expiry; responses mask personal
// fields, and a reveal — one record, with a reason, audited first — is
// sealed to the session's key (package wire/envelope).
package hub
