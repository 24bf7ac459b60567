-- The hub's schema. Times are Unix milliseconds (bigint, 0: none) unless
-- named otherwise; record ids are the records' 16-byte ULIDs as uuid
-- values, which compare as their bytes do: an id range is a time range.

-- +goose Up
CREATE TABLE tokens (
	hash    bytea PRIMARY KEY,
	role    text NOT NULL,
	label   text NOT NULL DEFAULT '',
	created bigint NOT NULL,
	expires bigint NOT NULL DEFAULT 0,
	used_by text NOT NULL DEFAULT '',
	revoked bigint NOT NULL DEFAULT 0
);

-- no is the device's number in records (4 bytes instead of its id).
CREATE TABLE devices (
	id         text PRIMARY KEY,
	no         integer GENERATED ALWAYS AS IDENTITY UNIQUE,
	public_key bytea NOT NULL,
	label      text NOT NULL DEFAULT '',
	enrolled   bigint NOT NULL,
	next_seq   bigint NOT NULL,
	last_hash  bytea NOT NULL,
	last_seen  bigint NOT NULL DEFAULT 0,
	revoked    bigint NOT NULL DEFAULT 0
);

-- Records, partitioned by day of their id (the device's wall time): one
-- partition per UTC day (records_YYYYMMDD), made ahead by the hub's
-- maintenance, and records_default for any other day (a device clock far
-- off). Retention drops whole day partitions.
CREATE TABLE records (
	id        uuid NOT NULL,
	wall      bigint NOT NULL,
	received  bigint NOT NULL,
	seq       bigint NOT NULL,
	issuer    bigint,          -- the code signer's 8-byte kid; NULL: none
	device_no integer NOT NULL,
	kind      smallint NOT NULL,
	hash      bytea NOT NULL,
	officer   text NOT NULL,
	verdict   text NOT NULL,
	plate     bytea,           -- HMAC-SM3 of the normalised plate; NULL: none
	flags     text[],          -- NULL: none
	stop      text,            -- NULL: none
	sealed    bytea NOT NULL,
	PRIMARY KEY (id)
) PARTITION BY RANGE (id);
ALTER TABLE records ALTER COLUMN sealed SET STORAGE EXTERNAL;
CREATE TABLE records_default PARTITION OF records DEFAULT;

-- One index per supervisor filter, each ending in id for keyset paging in
-- id (time) order; a time range alone uses the primary key.
CREATE INDEX records_device_seq ON records (device_no, seq);
CREATE INDEX records_device ON records (device_no, id);
CREATE INDEX records_officer ON records (officer, id) WHERE officer <> '';
CREATE INDEX records_plate ON records ((substring(plate FROM 1 FOR 8)), id) WHERE plate IS NOT NULL;
CREATE INDEX records_issuer ON records (issuer, id) WHERE issuer IS NOT NULL;
CREATE INDEX records_stop ON records (stop, id) WHERE stop IS NOT NULL;
CREATE INDEX records_flagged ON records (id) WHERE flags IS NOT NULL;
CREATE INDEX records_limited ON records (id) WHERE verdict = 'LIMITED';
CREATE INDEX records_invalid ON records (id) WHERE verdict = 'INVALID';

-- Rollups maintained by ingestion: per hour of the records' time, per
-- dimension ('a' all, 'o' officer, 'd' device, 'i' issuer, 'k' kind) and
-- key, spread over shards (by device) so that concurrent ingestions rarely
-- wait for each other's row locks.
CREATE TABLE counters (
	dim     smallint NOT NULL, -- a CounterDim byte
	hour    integer NOT NULL,  -- hours since the Unix epoch
	key     text NOT NULL,
	shard   smallint NOT NULL,
	total   bigint NOT NULL,
	valid   bigint NOT NULL,
	limited bigint NOT NULL,
	invalid bigint NOT NULL,
	flagged bigint NOT NULL,
	PRIMARY KEY (dim, hour, key, shard)
);

CREATE TABLE flags (
	id        uuid PRIMARY KEY,
	key       bytea UNIQUE,    -- dedupe key; NULL: none
	device    text NOT NULL,
	kind      text NOT NULL,
	reason    text NOT NULL DEFAULT '',
	from_seq  bigint NOT NULL DEFAULT 0,
	to_seq    bigint NOT NULL DEFAULT 0,
	record_id text NOT NULL DEFAULT '',
	detail    text NOT NULL DEFAULT '',
	at        bigint NOT NULL
);
CREATE INDEX flags_device ON flags (device, id);
CREATE INDEX flags_kind ON flags (kind, id);

-- Replay nonces of device requests, shared by every hub on the database.
-- Unlogged: a database crash forgets them, like a hub restart did (every
-- write a replay could repeat is idempotent).
CREATE UNLOGGED TABLE nonces (
	key     text PRIMARY KEY,
	expires bigint NOT NULL
);

-- Rate-limit windows shared by every hub (limit.Store): charges per key
-- in fixed windows. Unlogged, like the nonces.
CREATE UNLOGGED TABLE rate_windows (
	key   text NOT NULL,
	start bigint NOT NULL,
	total integer NOT NULL,
	PRIMARY KEY (key, start)
);

-- The trust feed: one state row, object metadata, object bytes in chunks.
CREATE TABLE feed_state (
	one        boolean PRIMARY KEY DEFAULT true CHECK (one),
	hub        text NOT NULL,
	generation bigint NOT NULL,
	manifest   bytea NOT NULL
);
CREATE TABLE feed_objects (
	digest  bytea PRIMARY KEY,
	type    text NOT NULL,
	size    bigint NOT NULL,
	stored  bigint NOT NULL,
	retired bigint NOT NULL   -- 0: the manifest names it
);
CREATE TABLE feed_chunks (
	digest bytea NOT NULL REFERENCES feed_objects ON DELETE CASCADE,
	n      integer NOT NULL,
	data   bytea NOT NULL,
	PRIMARY KEY (digest, n)
);
ALTER TABLE feed_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Trust anchors installed with `rchub trust anchors`: every hub on the
-- database installs them in its own trust store.
CREATE TABLE trust_anchors (
	digest bytea PRIMARY KEY,
	pem    bytea NOT NULL,
	added  bigint NOT NULL
);

-- The hub's security state (issue 11): the audit log (append-only: the
-- hub's role needs INSERT, SELECT and DELETE — rotation — on it, never
-- UPDATE), supervisor accounts, sessions and scopes.
CREATE TABLE audit_entries (
	seq     bigint PRIMARY KEY,
	at      bigint NOT NULL,
	who     text NOT NULL DEFAULT '',
	role    text NOT NULL DEFAULT '',
	source  text NOT NULL DEFAULT '',
	action  text NOT NULL,
	outcome text NOT NULL,
	status  integer NOT NULL DEFAULT 0,
	filters text NOT NULL DEFAULT '',
	rows    integer NOT NULL DEFAULT 0,
	fields  text[],
	reason  text NOT NULL DEFAULT '',
	detail  text NOT NULL DEFAULT '',
	nonce   text NOT NULL DEFAULT '',
	prev    bytea NOT NULL,
	hash    bytea NOT NULL
);
CREATE TABLE audit_checkpoints (
	seq    bigint PRIMARY KEY,
	hash   bytea NOT NULL,
	at     bigint NOT NULL,
	key_id text NOT NULL,
	sig    bytea NOT NULL
);
-- One row (id 1): the checkpoint the log was rotated up to.
CREATE TABLE audit_anchor (
	id     smallint PRIMARY KEY CHECK (id = 1),
	seq    bigint NOT NULL,
	hash   bytea NOT NULL,
	at     bigint NOT NULL,
	key_id text NOT NULL,
	sig    bytea NOT NULL
);

CREATE TABLE accounts (
	name          text PRIMARY KEY,
	role          text NOT NULL,
	jurisdiction  text NOT NULL,
	password_hash text NOT NULL,
	totp_sealed   bytea NOT NULL,
	totp_step     bigint NOT NULL DEFAULT 0,
	failures      integer NOT NULL DEFAULT 0,
	locked_until  bigint NOT NULL DEFAULT 0,
	created       bigint NOT NULL,
	disabled      bigint NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
	hash    bytea PRIMARY KEY,
	account text NOT NULL,
	created bigint NOT NULL,
	expires bigint NOT NULL,
	revoked bigint NOT NULL DEFAULT 0,
	source  text NOT NULL DEFAULT '',
	key     bytea
);
CREATE INDEX sessions_account ON sessions (account);
CREATE TABLE scopes (
	key          text PRIMARY KEY,
	role         text NOT NULL DEFAULT '',
	jurisdiction text NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE scopes, sessions, accounts, audit_anchor, audit_checkpoints, audit_entries;
DROP TABLE trust_anchors, feed_chunks, feed_objects, feed_state, rate_windows, nonces, flags, counters, records, devices, tokens;
