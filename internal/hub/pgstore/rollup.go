package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// foldLock is the advisory lock key of counter folding (one hub at a time).
const foldLock = 0x52434855_42000002

// FoldInterval is how often an open Store folds counter deltas.
const FoldInterval = 2 * time.Second

// FoldCounters moves the counter deltas committed so far into the counters,
// in one transaction (a reader sees each delta either pending or folded,
// never both nor neither), and returns how many delta rows it folded. Only
// one fold runs at a time across hubs: one that finds another running
// returns 0 at once. Counts are exact whether or not folds run; folding
// keeps the deltas few, so that reading them stays cheap.
func (s *Store) FoldCounters(ctx context.Context) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", int64(foldLock)).Scan(&got); err != nil || !got {
			return err
		}
		tag, err := tx.Exec(ctx, `WITH d AS (DELETE FROM counter_deltas RETURNING *)
			INSERT INTO counters (dim, hour, key, shard, total, valid, limited, invalid, flagged)
			SELECT dim, hour, key, 0, sum(total), sum(valid), sum(limited), sum(invalid), sum(flagged) FROM d
			GROUP BY dim, hour, key ORDER BY dim, hour, key
			ON CONFLICT (dim, hour, key, shard) DO UPDATE SET total = counters.total + EXCLUDED.total, valid = counters.valid + EXCLUDED.valid,
			limited = counters.limited + EXCLUDED.limited, invalid = counters.invalid + EXCLUDED.invalid, flagged = counters.flagged + EXCLUDED.flagged`)
		n = tag.RowsAffected()
		return err
	})
	return n, wrap(err)
}

// foldLoop folds counter deltas every FoldInterval until ctx ends. A fold
// that fails is retried at the next tick: nothing is lost meanwhile.
func (s *Store) foldLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(FoldInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.FoldCounters(ctx)
		}
	}
}
