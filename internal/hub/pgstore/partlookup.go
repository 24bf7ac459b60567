package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// The duplicate lookup of an ingestion asks each day partition of its ids
// directly when the store knows the partition: a statement on records
// itself is planned anew for every lookup (its arrays), and the planning
// grows with the number of partitions (about 0.3 ms at 200 on our
// machine), while one on a partition plans like a plain table.

const dayMs = 24 * 60 * 60 * 1000

// idDay is the start (Unix ms) of the UTC day of id's time.
func idDay(id [16]byte) int64 {
	var t [8]byte
	copy(t[2:], id[:6])
	ms := int64(binary.BigEndian.Uint64(t[:]))
	return ms - ms%dayMs
}

// partitionDays returns the days (Unix ms) with a partition, loaded once
// and again after forgetPartitions, and again when want holds a day not
// among them (once per such day: a day made since by another hub is
// found; a day without a partition costs one reload). Nil when they
// cannot be listed: every lookup then goes through records.
func (s *Store) partitionDays(ctx context.Context, want [][16]byte) map[int64]bool {
	s.partsMu.Lock()
	defer s.partsMu.Unlock()
	reload := s.parts == nil
	for _, id := range want {
		if d := idDay(id); !s.parts[d] && !s.partsMissed[d] {
			s.partsMissed[d], reload = true, true
		}
	}
	if reload {
		days, err := s.Partitions(ctx)
		if err != nil {
			return nil
		}
		s.parts = make(map[int64]bool, len(days))
		for _, d := range days {
			s.parts[d.UnixMilli()] = true
		}
	}
	return s.parts
}

// forgetPartitions makes the next lookup list the partitions again.
func (s *Store) forgetPartitions() {
	s.partsMu.Lock()
	s.parts = nil
	clear(s.partsMissed)
	s.partsMu.Unlock()
}

// queueLookup queues on b the lookup of the stored records among ids: one
// statement per day partition in days, one on records for the others. It
// returns what it queued (for readLookup).
func queueLookup(b *pgx.Batch, days map[int64]bool, ids [][16]byte) lookup {
	byDay := map[int64][][16]byte{}
	var rest [][16]byte
	for _, id := range ids {
		if d := idDay(id); days[d] {
			byDay[d] = append(byDay[d], id)
		} else {
			rest = append(rest, id)
		}
	}
	if len(byDay) > 0 {
		// Planned once per connection and partition, by the primary key:
		// a plan made from a day's statistics while its partition was
		// nearly empty would scan it whole once it is not, and planning
		// each lookup for its ids costs about 0.25 ms.
		b.Queue("SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)")
	}
	for d, ids := range byDay {
		name := pgx.Identifier{partitionName(time.UnixMilli(d).UTC())}.Sanitize()
		b.Queue("SELECT "+recordCols+" FROM "+name+" WHERE id = ANY($1)", ids)
	}
	if len(byDay) > 0 {
		b.Queue("SELECT set_config('plan_cache_mode', 'auto', true), set_config('enable_seqscan', 'on', true)")
	}
	n := len(byDay)
	if len(rest) > 0 {
		want, lo, hi := rangeOf(rest)
		b.Queue(lookupIDs, want, lo, hi)
		n++
	}
	return lookup{statements: n, set: len(byDay) > 0}
}

// lookup is what queueLookup queued: statements lookups, between two
// settings of the transaction's planner when set.
type lookup struct {
	statements int
	set        bool
}

// readLookup reads the records of the lookup l from br.
func (s *Store) readLookup(ctx context.Context, br pgx.BatchResults, l lookup) ([]hub.StoredRecord, error) {
	var out []hub.StoredRecord
	if l.set {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	for range l.statements {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		recs, err := s.scanRecords(ctx, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	if l.set {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// undefinedTable reports whether err is a missing table's (a partition
// dropped by another hub since it was listed).
func undefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}
