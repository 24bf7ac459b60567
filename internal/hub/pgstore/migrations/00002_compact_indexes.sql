-- Smaller record indexes (issue 12: storage per record).
--
-- A day partition holds few distinct devices, officers and issuers per
-- record, so their indexes hold the key alone: PostgreSQL's B-tree
-- deduplication then keeps one key per value and 6 bytes per record
-- (posting lists), where (key, id) cost a full entry per record. A
-- filter's matches in a partition are found through the key and sorted
-- by id (a day's worth: a few hundred at most).
--
-- The device filter uses records_device_seq (device_no, seq), the index
-- ingestion's sequence lookups need anyway. (A single bigint packing the
-- pair was tried: PostgreSQL splits a single-column index's pages in half
-- where it packs a composite one filling each device's key range, and it
-- came out no smaller.)
--
-- Plates: new records store the first 16 bytes of the plate's HMAC-SM3
-- (earlier ones keep 32; queries compare the first 16 of both), indexed
-- by their first 8 bytes as a bigint (records_plate_key), 8 bytes an
-- entry instead of a bytea prefix and the id. The index is not partial:
-- the planner estimates from an expression index's statistics only when
-- it is not (a partial one made it scan a month by id for one plate);
-- records without a plate share one deduplicated NULL key.
--
-- New day partitions take their columns from record_partition_layout:
-- the records' columns in an order that wastes nothing on alignment (the
-- 8-byte columns, device_no, the id, then the sealed evidence, whose
-- 4-byte length header starts aligned, the short variable-length columns,
-- and kind last). A partition may order its columns unlike its parent:
-- rows are routed by column name. The table never holds rows; a migration
-- that changes the records' columns changes it alike.
--
-- Down restores the indexes of version 1. Records stored meanwhile keep
-- their 16-byte plates, which version 1 compares with the full 32 bytes:
-- an older rchub does not find them by plate.

-- +goose Up
DROP INDEX records_device;
DROP INDEX records_officer;
DROP INDEX records_issuer;
DROP INDEX records_plate;
CREATE INDEX records_officer ON records (officer) WHERE officer <> '';
CREATE INDEX records_issuer ON records (issuer) WHERE issuer IS NOT NULL;
CREATE FUNCTION records_plate_key(plate bytea) RETURNS bigint
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN ('x' || rpad(encode(substring(plate FROM 1 FOR 8), 'hex'), 16, '0'))::bit(64)::bigint;
CREATE INDEX records_plate ON records (records_plate_key(plate));
CREATE TABLE record_partition_layout (
	wall      bigint NOT NULL,
	received  bigint NOT NULL,
	seq       bigint NOT NULL,
	issuer    bigint,
	device_no integer NOT NULL,
	id        uuid NOT NULL,
	sealed    bytea NOT NULL,
	hash      bytea NOT NULL,
	officer   text NOT NULL,
	verdict   text NOT NULL,
	plate     bytea,
	stop      text,
	flags     text[],
	kind      smallint NOT NULL
);
ALTER TABLE record_partition_layout ALTER COLUMN sealed SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE record_partition_layout;
DROP INDEX records_plate;
DROP FUNCTION records_plate_key(bytea);
DROP INDEX records_issuer;
DROP INDEX records_officer;
CREATE INDEX records_device ON records (device_no, id);
CREATE INDEX records_officer ON records (officer, id) WHERE officer <> '';
CREATE INDEX records_plate ON records ((substring(plate FROM 1 FOR 8)), id) WHERE plate IS NOT NULL;
CREATE INDEX records_issuer ON records (issuer, id) WHERE issuer IS NOT NULL;
