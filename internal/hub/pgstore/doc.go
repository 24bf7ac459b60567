// Package pgstore is the hub's Store on PostgreSQL (pgx v5), for hubs that
// outgrow one machine: several `rchub serve` processes on one database
// behave as one hub.
//
// The schema is embedded and migrated by Migrate (pressly/goose: each
// migration in one transaction, so a failing one leaves the schema as it
// was; concurrent migrators wait on an advisory lock). Open refuses a
// database whose schema is older (run Migrate) or newer than this build
// knows (hub.ErrSchema).
//
// Records are partitioned by day of their id (the device's wall time), with
// a default partition for days that have none; Maintain makes the coming
// days' partitions ahead and moves matching rows out of the default one,
// packs the indexes of days that are over (PackPartitions), and Retain
// drops whole days. Records keep no hash of their own (the hub takes it
// from the sealed evidence: hub.StoredRecord.Hash is zero). Every supervisor filter has an index ending
// in the id, so a page is a keyset range scan, read a window of days at a
// time (its first day, then 1, 2, 4… days), planned for its values (a
// generic plan would sort every match of the range); a page
// with several filters examines at most ScanLimit records and then names
// the last one examined as the next page. An ingestion is one transaction: the device's row is
// locked (FOR UPDATE) so that ingestions of one device never interleave,
// across hubs too (a batch retried against another hub finds its records
// and reports them duplicate), the batch's records go in with COPY, what
// they add to the rollups behind hub counters is appended to an
// insert-only table of deltas that a background fold (one hub at a time)
// moves into the rollups, readers adding what is not folded yet.
// Concurrent ingestions of different devices are committed together: one
// transaction locks their devices (in id order), looks their records up
// in one query and sends every write with one commit; an ingestion whose
// function fails loses only its own writes (a savepoint), and a group
// that fails on a statement runs each ingestion again alone (so a
// function may run twice, as on bbolt). Concurrent groups' commits share
// WAL flushes too (commit_delay tunes it).
//
// The small statements of the request path are combined likewise
// (combiner): concurrent Device reads, replay-nonce uses and rate-window
// charges each go out as one statement per round, a round starting at
// once when none is in flight and otherwise taking everything that came
// meanwhile; a nonce or window key is used once per round, so concurrent
// uses of one key are decided in turn, exactly as one statement each
// would.
//
// Replay nonces live in an unlogged table shared by every hub; feed objects
// are stored in chunks and streamed chunk by chunk; trust anchors are
// stored for every hub to install. Errors that mean the database cannot
// answer now (down, read-only, out of connections) wrap hub.ErrUnavailable.
// All methods are safe for concurrent use.
package pgstore
