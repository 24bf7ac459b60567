-- Storage per record (issue 12), schema version 5.
--
-- Records no longer keep their hash (33 bytes of every row). The SM3 hash
-- of a record's canonical bytes is needed only when a record is looked up
-- again at ingestion (a duplicate, a late record's predecessor, a device's
-- head report), and the hub takes it then from the sealed evidence, which
-- holds the canonical bytes. Dropping the column forgets the hashes of
-- the records already stored: they are taken from the evidence alike.
--
-- record_partitions_packed names the day partitions whose indexes the
-- hub's maintenance rebuilt filled once their day was over
-- (Store.PackPartitions).
--
-- Down restores the column with a zero hash for every record (the hashes
-- cannot be computed in SQL: the evidence is sealed). An rchub of schema
-- version 4 then compares a re-delivered record with a zero hash: it
-- rejects the re-delivery as edited instead of answering duplicate, and
-- flags late records and head reports as not linking. Packed indexes stay
-- packed.

-- +goose Up
ALTER TABLE records DROP COLUMN hash;
ALTER TABLE record_partition_layout DROP COLUMN hash;
CREATE TABLE record_partitions_packed (
	name text PRIMARY KEY
);

-- +goose Down
DROP TABLE record_partitions_packed;
ALTER TABLE records ADD COLUMN hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000';
ALTER TABLE record_partition_layout ADD COLUMN hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000';
