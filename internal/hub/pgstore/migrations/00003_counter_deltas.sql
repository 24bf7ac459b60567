-- Rollup deltas: ingestion appends what each transaction adds to the
-- counters here, insert-only, instead of updating the shared counter rows
-- of the hour (which serialised concurrent ingestions on row locks held
-- until commit, and grew long chains of row versions). A background fold
-- moves them into counters; readers add the rows not folded yet, so
-- counters stay exact.

-- +goose Up
CREATE TABLE counter_deltas (
	dim     smallint NOT NULL,
	hour    integer NOT NULL,
	key     text NOT NULL,
	total   bigint NOT NULL,
	valid   bigint NOT NULL,
	limited bigint NOT NULL,
	invalid bigint NOT NULL,
	flagged bigint NOT NULL
);

-- +goose Down
INSERT INTO counters (dim, hour, key, shard, total, valid, limited, invalid, flagged)
	SELECT dim, hour, key, 0, sum(total), sum(valid), sum(limited), sum(invalid), sum(flagged) FROM counter_deltas GROUP BY dim, hour, key
	ON CONFLICT (dim, hour, key, shard) DO UPDATE SET total = counters.total + EXCLUDED.total, valid = counters.valid + EXCLUDED.valid,
	limited = counters.limited + EXCLUDED.limited, invalid = counters.invalid + EXCLUDED.invalid, flagged = counters.flagged + EXCLUDED.flagged;
DROP TABLE counter_deltas;
