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
// in the id, so a page is a keyset range scan; a page with several filters
// examines at most ScanLimit records and then names the last one examined
// as the next page. An ingestion is one transaction: the device's row is
// locked (FOR UPDATE) so that ingestions of one device never interleave,
// across hubs too (a batch retried against another hub finds its records
// and reports them duplicate), the batch's records go in with COPY, what
// they add to the rollups behind hub counters is appended to an
// insert-only table of deltas that a background fold (one hub at a time)
// moves into the rollups, readers adding what is not folded yet; and commits of concurrent ingestions share WAL flushes (PostgreSQL's
// group commit; commit_delay tunes it).
//
// Replay nonces live in an unlogged table shared by every hub; feed objects
// are stored in chunks and streamed chunk by chunk; trust anchors are
// stored for every hub to install. Errors that mean the database cannot
// answer now (down, read-only, out of connections) wrap hub.ErrUnavailable.
// All methods are safe for concurrent use.
package pgstore
