package pgstore

import (
	"context"
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

// admitSQL is the statement of a round of admissions. Each nonce is
// stored, or its expiry moved when it had expired at its call's now: those
// stored are fresh. The takes of the other admissions (fresh, or without a
// nonce) are read as the round's snapshot has their windows; a take is
// tried when every take before it in its admission passes on that
// snapshot, and adds its n unless the total would pass its max — checked
// again on the row as it is written, under its lock (a take of 0 only
// looks). It answers the admissions with a stale nonce, and each take
// tried, with its window's total after the charge (took) or on the
// snapshot (cur): settle decides from them. Rows are written in key order,
// so that concurrent statements lock shared keys in one order.
const admitSQL = `WITH o AS (SELECT * FROM unnest($1::integer[], $2::text[], $3::bigint[], $4::bigint[]) AS o (op, key, expires, now)),
	used AS (INSERT INTO nonces AS n (key, expires) SELECT key, expires FROM o ORDER BY key
		ON CONFLICT (key) DO UPDATE SET expires = EXCLUDED.expires WHERE n.expires < (SELECT o.now FROM o WHERE o.key = EXCLUDED.key)
		RETURNING n.key),
	stale AS (SELECT op FROM o WHERE key NOT IN (SELECT key FROM used)),
	t AS (SELECT t.*, coalesce(w.total, 0) AS cur
		FROM unnest($5::integer[], $6::integer[], $7::text[], $8::bigint[], $9::integer[], $10::integer[]) AS t (op, pos, key, start, n, max)
		LEFT JOIN rate_windows w ON w.key = t.key AND w.start = t.start),
	tried AS (SELECT * FROM t WHERE op NOT IN (SELECT op FROM stale)
		AND NOT EXISTS (SELECT 1 FROM t e WHERE e.op = t.op AND e.pos < t.pos AND e.cur + e.n > e.max)),
	u AS (INSERT INTO rate_windows AS w (key, start, total) SELECT key, start, n FROM tried WHERE n <> 0 AND cur + n <= max ORDER BY key, start
		ON CONFLICT (key, start) DO UPDATE SET total = w.total + EXCLUDED.total
		WHERE w.total + EXCLUDED.total <= (SELECT tried.max FROM tried WHERE tried.key = EXCLUDED.key)
		RETURNING w.key, w.total)
	SELECT op, NULL::text, NULL::integer, NULL::integer FROM stale
	UNION ALL SELECT tried.op, tried.key, u.total, tried.cur::integer FROM tried LEFT JOIN u ON u.key = tried.key`

// takeAnswer is what admitSQL answered for a take it tried: the total
// after its charge (took), or the window's total on the round's snapshot
// (cur) when it was not charged.
type takeAnswer struct{ took, cur *int32 }

// settle decides an admission's takes from the statement's answers (by
// key): in order, each passed when charged (or, a look, when the total is
// within its max), the first refused ending the admission. A take charged
// after a refused one — the snapshot said the refused one would pass, but
// another hub charged its window meanwhile — is given back (giveBack)
// and reported not reached, so that the takes stop at the first refused,
// as limit.Store requires.
func settle(takes []limit.Take, got map[string]takeAnswer) (taken []limit.Taken, giveBack []limit.Take) {
	taken = make([]limit.Taken, len(takes))
	refused := false
	for k, t := range takes {
		a, ok := got[t.Key]
		switch {
		case !ok: // not tried: a take before it was refused
		case refused:
			if a.took != nil {
				giveBack = append(giveBack, t)
			}
		case a.took != nil:
			taken[k] = limit.Taken{OK: true, Total: int(*a.took)}
		case a.cur != nil:
			taken[k] = limit.Taken{OK: t.N == 0 && int(*a.cur) <= t.Max, Total: int(*a.cur)}
		}
		if !taken[k].OK {
			refused = true
		}
	}
	return taken, giveBack
}

// admit carries out a round of admissions (distinct nonces and windows)
// with one statement (admitSQL), and gives back the rare charges made
// past a take refused (settle).
func (s *Store) admit(ctx context.Context, batch []*op[admitOp]) {
	var (
		nOp, tOp, tPos, tN, tMax []int32
		nKeys, tKey              []string
		nExp, nNow, tStart       []int64
	)
	for i, o := range batch {
		if o.v.nonce != "" {
			nOp, nKeys, nExp, nNow = append(nOp, int32(i)), append(nKeys, o.v.nonce), append(nExp, o.v.expires), append(nNow, o.v.now)
		}
		for k, t := range o.v.takes {
			tOp, tPos, tKey = append(tOp, int32(i)), append(tPos, int32(k)), append(tKey, t.Key)
			tStart, tN, tMax = append(tStart, t.Start.UnixMilli()), append(tN, int32(min(t.N, 1<<31-1))), append(tMax, int32(min(t.Max, 1<<31-1)))
		}
	}
	rows, err := s.hot.Query(ctx, admitSQL, nOp, nKeys, nExp, nNow, tOp, tPos, tKey, tStart, tN, tMax)
	got := make(map[string]takeAnswer, len(tKey))
	stale := map[int32]bool{}
	if err == nil {
		var (
			opNo int32
			key  *string
			a    takeAnswer
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
	var giveBack []limit.Take
	for i, o := range batch {
		if o.err = err; err != nil {
			continue
		}
		o.v.fresh = o.v.nonce != "" && !stale[int32(i)]
		if stale[int32(i)] {
			continue
		}
		var back []limit.Take
		o.v.taken, back = settle(o.v.takes, got)
		giveBack = append(giveBack, back...)
	}
	if len(giveBack) > 0 && err == nil {
		err = s.giveBack(ctx, giveBack)
		for _, o := range batch {
			o.err = err
		}
	}
}

// giveBack takes back charges of takes.
func (s *Store) giveBack(ctx context.Context, takes []limit.Take) error {
	keys, starts, ns := make([]string, 0, len(takes)), make([]int64, 0, len(takes)), make([]int32, 0, len(takes))
	for _, t := range takes {
		keys, starts, ns = append(keys, t.Key), append(starts, t.Start.UnixMilli()), append(ns, int32(min(t.N, 1<<31-1)))
	}
	_, err := s.hot.Exec(ctx, `UPDATE rate_windows w SET total = w.total - u.n FROM unnest($1::text[], $2::bigint[], $3::integer[]) AS u (key, start, n)
		WHERE w.key = u.key AND w.start = u.start`, keys, starts, ns)
	return err
}

var (
	_ limit.Store  = (*Store)(nil)
	_ hub.Admitter = (*Store)(nil)
)
