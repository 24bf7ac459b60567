package pgstore

import (
	"context"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/limit"
)

// TakeWindow implements limit.Store: the window's counter is one row,
// updated under its row lock, so hubs on one database share quotas
// exactly.
func (s *Store) TakeWindow(ctx context.Context, key string, start time.Time, n, max int) (bool, int, error) {
	var took, cur *int32
	err := s.pool.QueryRow(ctx, `WITH up AS (
			INSERT INTO rate_windows AS w (key, start, total) SELECT $1::text, $2::bigint, $3::integer WHERE $3::integer <= $4::integer
			ON CONFLICT (key, start) DO UPDATE SET total = w.total + EXCLUDED.total WHERE w.total + EXCLUDED.total <= $4::integer
			RETURNING total)
		SELECT (SELECT total FROM up), (SELECT total FROM rate_windows WHERE key = $1::text AND start = $2::bigint)`,
		key, start.UnixMilli(), int32(n), int32(max)).Scan(&took, &cur)
	if err != nil {
		return false, 0, wrap(err)
	}
	if took != nil {
		return true, int(*took), nil
	}
	if cur != nil {
		return false, int(*cur), nil
	}
	return false, 0, nil
}

var _ limit.Store = (*Store)(nil)
