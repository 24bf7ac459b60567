// Package audit owns the hub's security audit log (MLPS level 3 安全审计):
// an append-only, tamper-evident record of who did what at the hub.
//
// Every entry names the actor and role, the source address, the action
// (endpoint or administrative command), its outcome, the filters of a
// query, how many rows and which personal fields it returned, and a reason
// (for reveals). Entries are numbered 1, 2, 3 … and chained: each carries
// the SM3 hash of the one before, and its own hash covers its canonical
// CBOR form and that link, so an edited entry no longer matches its hash, a
// deleted one leaves a gap in the numbers and a broken link, and a moved
// one breaks two links. Periodically (Options.CheckpointEvery entries or
// Options.CheckpointInterval, and when the log closes) the writer signs the
// chain head with the hub's SM2 key: a checkpoint. Someone able to write
// the database can rebuild the hash chain after an edit, but not forge the
// checkpoints; only entries after the last checkpoint (the unsigned tail,
// reported by Verify) rest on the hash chain alone.
//
// Rotation is by retention, never by truncation: Log.Rotate removes only
// entries up to a signed checkpoint older than the retention, keeps that
// checkpoint as the anchor the remaining chain starts from, and logs
// itself as an entry.
//
// Writes go through one goroutine that commits queued entries together
// (group commit): Log.Record waits until its entry is committed, Log.Note
// does not (routine device requests). A full queue makes callers wait
// (back-pressure), so a flood slows down rather than losing entries.
//
// Storage is behind the Store interface (BoltStore here; other stores must
// pass the suite in package audittest). Log is safe for concurrent use.
package audit
