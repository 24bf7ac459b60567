// Package statusfile is the on-disk engine for licence status lists at
// national scale (10 M entries on a 4 GB tablet): a directory of immutable,
// SM3-verified files and one manifest naming the current generation.
//
// # Contract
//
// A list is identified by a Key (the CA that issued the list's signer and
// the issuer code). Tx.Replace makes a full list the whole state of its
// key; Tx.Append applies a delta after everything applied before; Tx.Drop
// removes a key. View.Lookup answers RTC1 §5 with Clarification 19: of the
// entries for an idHash applied since the last full list, in apply order,
// the last one with Since ≤ T gives the status at T; status 0, or no such
// entry, is no status (found = false). So a status-0 entry with a future
// since does not yet lift a revocation. View.Count is the number of
// idHashes whose latest applied entry has a status other than 0, computed
// when the list is written.
//
// Every Update is atomic: when its function returns nil, all its changes
// and its meta blob become visible together as a new generation; on any
// error (the function's, a full disk, a crash) nothing does. Writers are
// serialised across goroutines and processes by an flock on dir/LOCK;
// readers never take a lock and never block. A View is one generation,
// unchanged for as long as it is held; Store.View and ViewLazy pick up
// every commit of another process that returned before they were called.
// They learn of one without a system call: a commit counter shared by
// every Store on the directory (in LOCK, mapped shared) moves before and
// after each commit's rename, and only when it has moved does a Store stat
// the manifest (see changeCounter for why no commit can be missed).
// Compact merges overlays in the background, in batches that are ordinary
// commits.
//
// Damage (a digest that does not match, a truncated or missing file, an
// impossible structure) is an error wrapping ErrDamaged, never a crash and
// never "not found": a *KeyError names the list when it concerns one, so
// the caller can Drop it and fetch it again; a damaged manifest fails View
// and Update (Reset starts again from nothing); a damaged meta blob fails
// View (on a ViewLazy: LoadMeta and ReadMeta) and Update (unless the
// Update sets a new one).
//
// View verifies the whole meta blob (about 6 ms per MiB, once per
// generation in a process); ViewLazy does not, for a process that reads
// only parts of a large blob with ReadMeta.
//
// # Files
//
// The directory holds LOCK (the writer lock; its first 8 bytes are the
// commit counter, a native-endian uint64 that only grows), MANIFEST, and data
// files named by a 64-bit id, "%016x.rsf". Ids only grow (the next id is in
// the manifest), and a data file never changes after it is written: it is
// written completely, synced, and only then named by a manifest.
//
// MANIFEST is "RCSTMAN1", varint fields and the SM3 of everything before
// it (32 bytes): the generation number, the next file id, the meta file,
// every data file the generation uses (id, kind, size, header length and
// header SM3), every key in order (CA, issuer, count, and its runs in apply
// order: file, offset, records, entries), and the files the previous
// generation used that this one does not ("retired"). The commit removes
// the retired files at once unless a View of the committing process still
// holds them (those go with the next commit): a reader of the previous
// generation in another process that had not opened such a file gets
// ErrStale and takes a new View.
//
// A data file is a data area, its digest tree, and a header:
//
//	data area   "RCSTATF1", then runs (base: one; overlay segment: one per
//	            key the commit's deltas touched; meta: the blob)
//	tree        level 1: the SM3 (first 16 bytes) of every 1 KiB leaf of the
//	            data area; level k+1: the digest of every 1 KiB node (64
//	            digests) of level k; up to a level of at most 64 items
//	header      "RCSFHDR1", kind, leaf and node sizes, data length, the
//	            number of levels, and the digests of the top level
//
// The manifest holds the SM3 of the header, so opening a file checks only
// its size and its header (a few dozen bytes): nothing is hashed at open.
// A leaf is verified, through the nodes above it (each verified once), the
// first time a process reads it; verified leaves and nodes are remembered
// (one bit each). Check verifies every leaf of every file.
//
// A run is the entries of one key, compacted and sorted by idHash:
//
//	header      "RUN2", bucket bits bb, since bits, history pointer and
//	            count bits, records n, history entries, since base, 8 bytes
//	            of SM3 of the key (a run is checked to be its key's), and
//	            the number of filter blocks
//	filter      overlay runs only: a blocked Bloom filter, about 10 bits an
//	            idHash, 6 bits in one 64-byte block chosen from the low bits
//	            of the idHash (a non-cryptographic index: a "no" skips the
//	            run, a "maybe" searches it; Check verifies that it holds
//	            every record)
//	directory   2^bb buckets by the first bb bits of the idHash, in
//	            Elias-Fano style: a bit vector with, per bucket, one 1 bit
//	            per record then a 0, and the position of every 256th 0 (so
//	            a bucket's records are found with one sample and a short
//	            scan); about 2 bits per record
//	records     one per idHash, fixed width, bit-packed and byte-aligned:
//	            the 128-bb hash bits the bucket does not imply, 2 status
//	            bits, and the since minus the run's base in as many bits as
//	            the run's range needs; status 3 marks an idHash with
//	            several entries, whose payload points into the history
//	history     for those idHashes, every surviving entry (status, since)
//	            in apply order
//
// For the national benchmark (sinces over four years) a record is 17 or
// 18 bytes; with the directory and the digest tree a list costs about
// 18.3 bytes an entry on disk. Lookup finds the bucket, binary-searches
// its records, and reads the history only for idHashes that have one.
// Runs are read in place through a read-only shared mapping; a fault on a
// mapping (a file truncated behind the store's back) is recovered as
// ErrDamaged. Writers read with pread, so that their resident memory does
// not grow with the files they consult.
//
// # Compaction rule
//
// An entry is dead when an entry applied after it, for the same idHash,
// has a since ≤ its own (it can never be the last applicable one). In a
// base (a full list, or a merge from one) leading status-0 survivors go too
// (before them there is nothing to lift). What survives has strictly
// increasing sinces in apply order; usually one entry per idHash, but a
// delta that changes or lifts a status from a later since keeps the
// earlier entry for checks at earlier times. This is lossless: every
// lookup at every time gives the answer of the full history.
//
// # Writing
//
// Replace streams a full list into a builder that packs entries (25 bytes
// each) into 256 partitions by the first hash byte in apply order, sorts
// and compacts each partition alone, then writes one base file: only that
// list is in memory. Append keeps the delta; at commit all the deltas of
// the Update go into one overlay segment file (one fsync for any number of
// lists). Counting needs each idHash's latest entry before the delta: it
// is looked up in the key's runs with pread, in 64 KiB windows when the
// lookups are dense.
//
// WARNING: those count lookups read records without verifying their
// leaves (verifying would hash most of the store for a large delta): a
// damaged record can make a Count wrong, never a Lookup, and Lookup, Check
// and Compact report the damage.
//
// Compact rewrites every key with overlays (or made only of deltas) as one
// base file, reading its runs with verification and applying the rule
// across them, in commits of about 64 MiB of output. NeedsCompaction says
// when it is worth it (four overlay segments, a key with five runs, or
// overlays above 0.5 % of the records).
//
// # Crash safety
//
// A commit writes every new data file completely and fsyncs it, writes
// the new manifest to MANIFEST.tmp and fsyncs it, fsyncs the directory,
// makes the commit counter odd, renames MANIFEST.tmp over MANIFEST (the
// commit point: rename is atomic), makes the counter even, and fsyncs the
// directory again. Then it removes the files the previous
// generation retired.
//
//   - Killed before the rename: MANIFEST is the previous one, complete and
//     synced, naming only complete files it already named; the new files
//     and MANIFEST.tmp are unreferenced.
//   - Killed after the rename: MANIFEST is the new one, which was synced
//     before the rename and names only files synced before it.
//   - Killed while removing files: they are unreferenced.
//   - Killed with the counter odd: readers stat the manifest on every
//     call (as if there were no counter) until the next commit.
//
// Files no manifest refers to (neither the current one nor its retired
// list) are removed, with the writer lock held, by Open and at the start
// of every Update and Compact. A full disk fails a write or an fsync
// before the rename, so the Update returns an error wrapping ErrFull and
// its files are removed. A reader opens MANIFEST once per generation and
// only ever sees a complete one.
//
// WARNING: the digests protect against damage (a bad sector, a torn or
// truncated file, a bug), not against an attacker who can write the
// directory: such an attacker can replace the manifest too. A file changed
// in place after this process verified a leaf is not checked again.
//
// # Concurrency
//
// Store, View and Lookup are safe for concurrent use; a Tx is not. In a
// process, generations share mapped files; a file is unmapped when no
// View of a generation that uses it remains. A View held across a later
// commit of another process may find a file it had not yet opened
// removed: its methods then return ErrStale (never ErrDamaged), and a new
// View is needed; Store.View and Check start again on their own.
package statusfile
