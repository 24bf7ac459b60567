package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
)

// TakeWindow implements limit.Store: the window's counter is one row,
// updated under its row lock, so hubs on one database share quotas
// exactly. Concurrent calls are carried out by one statement (a key once:
// a second charge of a key waits for the next round, and sees the first).
func (s *Store) TakeWindow(ctx context.Context, key string, start time.Time, n, max int) (bool, int, error) {
	o, err := s.windows.do(ctx, windowOp{key: key, start: start.UnixMilli(), n: int32(n), max: int32(max)})
	return o.ok, o.total, wrap(err)
}

// windowOp is one TakeWindow call in a round.
type windowOp struct {
	key    string
	start  int64
	n, max int32
	ok     bool
	total  int
}

// takeWindows carries out a round of TakeWindow calls (distinct keys) with
// one statement: each adds its n unless the total would pass its max, and
// learns the total (after its charge, or as it stands when refused: read
// only then); a charge of 0 (limit.Limiter's look at a budget) only reads
// the total.
func (s *Store) takeWindows(ctx context.Context, batch []*op[windowOp]) {
	k := len(batch)
	keys, starts, ns, maxes := make([]string, 0, k), make([]int64, 0, k), make([]int32, 0, k), make([]int32, 0, k)
	for _, o := range batch {
		keys, starts, ns, maxes = append(keys, o.v.key), append(starts, o.v.start), append(ns, o.v.n), append(maxes, o.v.max)
	}
	rows, err := s.hot.Query(ctx, `WITH u AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::integer[]) AS u (key, start, n, max)),
		up AS (INSERT INTO rate_windows AS w (key, start, total) SELECT key, start, n FROM u WHERE n <= max AND n <> 0
			ON CONFLICT (key, start) DO UPDATE SET total = w.total + EXCLUDED.total
			WHERE w.total + EXCLUDED.total <= (SELECT u.max FROM u WHERE u.key = EXCLUDED.key AND u.start = EXCLUDED.start)
			RETURNING w.key, w.total)
		SELECT u.key, up.total, CASE WHEN up.total IS NULL THEN (SELECT r.total FROM rate_windows r WHERE r.key = u.key AND r.start = u.start) END
		FROM u LEFT JOIN up ON up.key = u.key`, keys, starts, ns, maxes)
	type answer struct{ took, cur *int32 }
	got := make(map[string]answer, k)
	if err == nil {
		var key string
		var a answer
		_, err = pgx.ForEachRow(rows, []any{&key, &a.took, &a.cur}, func() error {
			got[key] = a
			return nil
		})
	}
	for _, o := range batch {
		o.err = err
		a := got[o.v.key]
		switch {
		case o.v.n == 0: // a look, not a charge: nothing written
			o.v.ok = 0 <= o.v.max && (a.cur == nil || *a.cur <= o.v.max)
			if a.cur != nil {
				o.v.total = int(*a.cur)
			}
		case a.took != nil:
			o.v.ok, o.v.total = true, int(*a.took)
		case a.cur != nil:
			o.v.total = int(*a.cur)
		}
	}
}

var _ limit.Store = (*Store)(nil)
