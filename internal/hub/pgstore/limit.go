package pgstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
)

// UseNonce, TakeWindows and Admit are admissions: a replay nonce to use,
// quota windows to charge in order, or both. Concurrent admissions are
// carried out together, one statement per round (see combiner); a round
// names a nonce or a window once, so a second admission of a key waits for
// the next round and sees the first. A window's counter is one row,
// updated under its row lock, so hubs on one database share quotas
// exactly.

// UseNonce implements hub.NonceStore.
func (s *Store) UseNonce(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	o, err := s.admits.do(ctx, admitOp{nonce: key, now: now.UnixMilli(), expires: expires.UnixMilli()})
	return o.fresh, wrap(err)
}

// TakeWindows implements limit.Store.
func (s *Store) TakeWindows(ctx context.Context, takes []limit.Take) ([]limit.Taken, error) {
	o, err := s.admits.do(ctx, admitOp{takes: takes})
	if err != nil {
		return nil, wrap(err)
	}
	return o.taken, nil
}

// Admit implements hub.Admitter: the nonce and the takes in one statement.
func (s *Store) Admit(ctx context.Context, key string, now, expires time.Time, takes []limit.Take) (bool, []limit.Taken, error) {
	o, err := s.admits.do(ctx, admitOp{nonce: key, now: now.UnixMilli(), expires: expires.UnixMilli(), takes: takes})
	if err != nil {
		return false, nil, wrap(err)
	}
	if !o.fresh {
		return false, nil, nil
	}
	return true, o.taken, nil
}

// admitOp is one admission in a round: a nonce to use (none when empty)
// and takes applied in order, when the nonce was fresh.
type admitOp struct {
	nonce        string
	now, expires int64
	takes        []limit.Take

	fresh bool
	taken []limit.Taken
}

// joinAdmission reports whether o may join the round of batch: it names no
// nonce and no window the round names.
func joinAdmission(batch []*op[admitOp], o *op[admitOp]) bool {
	for _, b := range batch {
		if o.v.nonce != "" && b.v.nonce == o.v.nonce {
			return false
		}
		for _, t := range o.v.takes {
			for _, u := range b.v.takes {
				if t.Key == u.Key {
					return false
				}
			}
		}
	}
	return true
}

// admitSQL is the statement of a round whose admissions take at most
// `stages` windows each. Each nonce is stored, or its expiry moved when it
// had expired at its call's now: those stored are fresh. Then stage by
// stage (the k-th take of each admission), the takes of admissions still
// going (fresh, or without a nonce, and every take before passed) add
// their n unless the total would pass their max; a take of 0 only looks.
// It answers the admissions with a stale nonce, and each take reached,
// with its total after the charge (took) or as it stands (cur). Rows are
// written in key order within each step, so that concurrent rounds (which
// may name the same keys) lock them in one order and never deadlock.
func admitSQL(stages int) string {
	var b strings.Builder
	b.WriteString(`WITH o AS (SELECT * FROM unnest($1::integer[], $2::text[], $3::bigint[], $4::bigint[]) AS o (op, key, expires, now)),
	used AS (INSERT INTO nonces AS n (key, expires) SELECT key, expires FROM o ORDER BY key
		ON CONFLICT (key) DO UPDATE SET expires = EXCLUDED.expires WHERE n.expires < (SELECT o.now FROM o WHERE o.key = EXCLUDED.key)
		RETURNING n.key),
	stale AS (SELECT op FROM o WHERE key NOT IN (SELECT key FROM used)),
	t AS (SELECT * FROM unnest($5::integer[], $6::integer[], $7::text[], $8::bigint[], $9::integer[], $10::integer[]) AS t (op, stage, key, start, n, max))`)
	for k := range stages {
		going := "SELECT op FROM stale"
		cond := "op NOT IN (" + going + ")"
		if k > 0 {
			cond = fmt.Sprintf("op IN (SELECT op FROM r%d WHERE took IS NOT NULL OR (n = 0 AND cur <= max))", k-1)
		}
		fmt.Fprintf(&b, `,
	s%[1]d AS (SELECT * FROM t WHERE stage = %[1]d AND %[2]s),
	u%[1]d AS (INSERT INTO rate_windows AS w (key, start, total) SELECT key, start, n FROM s%[1]d WHERE n <> 0 AND n <= max ORDER BY key, start
		ON CONFLICT (key, start) DO UPDATE SET total = w.total + EXCLUDED.total
		WHERE w.total + EXCLUDED.total <= (SELECT s.max FROM s%[1]d s WHERE s.key = EXCLUDED.key AND s.start = EXCLUDED.start)
		RETURNING w.key, w.total),
	r%[1]d AS (SELECT s.op, s.key, u.total AS took,
		CASE WHEN u.total IS NULL THEN coalesce((SELECT r.total FROM rate_windows r WHERE r.key = s.key AND r.start = s.start), 0) END AS cur,
		s.n, s.max
		FROM s%[1]d s LEFT JOIN u%[1]d u ON u.key = s.key)`, k, cond)
	}
	b.WriteString("\nSELECT op, NULL::text, NULL::integer, NULL::integer FROM stale")
	for k := range stages {
		fmt.Fprintf(&b, "\nUNION ALL SELECT op, key, took, cur FROM r%d", k)
	}
	return b.String()
}

var admitSQLs sync.Map // stages → admitSQL(stages)

// admit carries out a round of admissions (distinct nonces and windows)
// with one statement (admitSQL).
func (s *Store) admit(ctx context.Context, batch []*op[admitOp]) {
	var (
		nOp, tOp, tStage, tN, tMax []int32
		nKeys, tKey                []string
		nExp, nNow, tStart         []int64
	)
	stages := 1
	for i, o := range batch {
		if o.v.nonce != "" {
			nOp, nKeys, nExp, nNow = append(nOp, int32(i)), append(nKeys, o.v.nonce), append(nExp, o.v.expires), append(nNow, o.v.now)
		}
		stages = max(stages, len(o.v.takes))
		for k, t := range o.v.takes {
			tOp, tStage, tKey = append(tOp, int32(i)), append(tStage, int32(k)), append(tKey, t.Key)
			tStart, tN, tMax = append(tStart, t.Start.UnixMilli()), append(tN, int32(min(t.N, 1<<31-1))), append(tMax, int32(min(t.Max, 1<<31-1)))
		}
	}
	q, ok := admitSQLs.Load(stages)
	if !ok {
		q, _ = admitSQLs.LoadOrStore(stages, admitSQL(stages))
	}
	rows, err := s.hot.Query(ctx, q.(string), nOp, nKeys, nExp, nNow, tOp, tStage, tKey, tStart, tN, tMax)
	type answer struct{ took, cur *int32 }
	got := make(map[string]answer, len(tKey))
	stale := map[int32]bool{}
	if err == nil {
		var (
			opNo int32
			key  *string
			a    answer
		)
		_, err = pgx.ForEachRow(rows, []any{&opNo, &key, &a.took, &a.cur}, func() error {
			if key == nil {
				stale[opNo] = true
			} else {
				got[*key] = a
			}
			return nil
		})
	}
	for i, o := range batch {
		if o.err = err; err != nil {
			continue
		}
		o.v.fresh = o.v.nonce != "" && !stale[int32(i)]
		if stale[int32(i)] {
			continue
		}
		o.v.taken = make([]limit.Taken, len(o.v.takes))
		for k, t := range o.v.takes {
			a, ok := got[t.Key]
			switch {
			case !ok: // not reached: a take before was refused
			case a.took != nil:
				o.v.taken[k] = limit.Taken{OK: true, Total: int(*a.took)}
			case a.cur != nil:
				o.v.taken[k] = limit.Taken{OK: t.N == 0 && int(*a.cur) <= t.Max, Total: int(*a.cur)}
			}
		}
	}
}

var (
	_ limit.Store  = (*Store)(nil)
	_ hub.Admitter = (*Store)(nil)
)
