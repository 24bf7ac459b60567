package pgstore

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// maintLock is the advisory lock key of partition work (one hub at a time).
const maintLock = 0x52434855_42000001

// AheadDays is how many days of partitions Maintain makes ahead of now.
const AheadDays = 7

// PackAfterDays is how many days after its day ended Maintain packs a day
// partition's indexes (PackPartitions): late records (terminals that were
// offline) mostly arrive before.
const PackAfterDays = 2

// packLock is the advisory lock key of PackPartitions (one hub at a time).
const packLock = 0x52434855_42000002

// packLockTimeout bounds each wait of a partition's rebuild.
const packLockTimeout = "'60s'"

var partName = regexp.MustCompile(`^records_(\d{8})$`)

func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func partitionName(day time.Time) string { return "records_" + day.Format("20060102") }

// Partitions lists the day partitions of records (their days, ascending).
func (s *Store) Partitions(ctx context.Context) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'records'::regclass ORDER BY c.relname`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if m := partName.FindStringSubmatch(name); m != nil {
			if d, err := time.Parse("20060102", m[1]); err == nil {
				out = append(out, d)
			}
		}
	}
	return out, wrap(rows.Err())
}

// EnsurePartitions makes the day partitions of records from from's day to
// to's day that are missing, each in one transaction that moves the day's
// records out of the default partition into it (with records locked
// against readers while there are any to move). A partition's columns are
// those of record_partition_layout (migration 00002), in its order.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) (int, error) {
	have, err := s.Partitions(ctx)
	if err != nil {
		return 0, err
	}
	exists := map[time.Time]bool{}
	for _, d := range have {
		exists[d] = true
	}
	made := 0
	for d := dayOf(from); !d.After(dayOf(to)); d = d.AddDate(0, 0, 1) {
		if exists[d] {
			continue
		}
		ok, err := s.makePartition(ctx, d)
		if err != nil {
			return made, err
		}
		if ok {
			made++
			s.forgetPartitions()
		}
	}
	return made, nil
}

func (s *Store) makePartition(ctx context.Context, day time.Time) (bool, error) {
	name := pgx.Identifier{partitionName(day)}.Sanitize()
	lo, hi := ulidAt(day.UnixMilli()), ulidAt(day.AddDate(0, 0, 1).UnixMilli())
	made := false
	cols := strings.Join(recordColumns, ", ")
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(maintLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '10s'"); err != nil {
			return err
		}
		var there bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", partitionName(day)).Scan(&there); err != nil || there {
			return err
		}
		// Rows to move: readers (queries, pg_dump) must never see them
		// leave the default partition without seeing the new partition,
		// so the whole table is locked for the move (lock_timeout bounds
		// the wait behind a long reader; Maintain tries again later).
		var move bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM records_default WHERE id >= $1 AND id < $2)", lo, hi).Scan(&move); err != nil {
			return err
		}
		if move {
			if _, err := tx.Exec(ctx, "LOCK TABLE records IN ACCESS EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		for _, stmt := range []string{
			"CREATE TABLE " + name + " (LIKE record_partition_layout INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)",
			"INSERT INTO " + name + " (" + cols + ") SELECT " + cols + " FROM records_default WHERE id >= $1 AND id < $2",
			"DELETE FROM records_default WHERE id >= $1 AND id < $2",
			"ALTER TABLE records ATTACH PARTITION " + name + " FOR VALUES FROM ('" + uuidText(lo) + "') TO ('" + uuidText(hi) + "')",
		} {
			var err error
			if len(stmt) > 6 && (stmt[:6] == "INSERT" || stmt[:6] == "DELETE") {
				_, err = tx.Exec(ctx, stmt, lo, hi)
			} else {
				_, err = tx.Exec(ctx, stmt)
			}
			if err != nil {
				return fmt.Errorf("partition %s: %w", partitionName(day), err)
			}
		}
		made = true
		return nil
	})
	return made, wrap(err)
}

// PackPartitions rebuilds the indexes of the day partitions whose day
// ended at or before before (closed days) and that are not packed yet,
// with their pages filled (fillfactor 100): at most limit of them (all
// when limit <= 0), the newest first. It returns how many it packed.
//
// While a day is written, the indexes ordered by a key and then the id
// (device, officer) split their pages half and half, and the primary key
// takes the ids of many terminals interleaved: they stay half to two
// thirds full, about 205 B a record of indexes at the end of a day, 130 B
// once packed (BenchmarkIngest). A closed day takes few inserts (late
// records), which split a packed page where they land.
//
// Each partition is rebuilt with REINDEX CONCURRENTLY: queries and late
// records go on meanwhile; indexes a rebuild that failed left invalid are
// dropped first. A rebuild waits for the transactions older than it (a
// long export, say) at most packLockTimeout, and then fails: the
// partition is packed again next time. Concurrent calls from several hubs
// are safe (one packs, the others return at once).
func (s *Store) PackPartitions(ctx context.Context, before time.Time, limit int) (int, error) {
	days, err := s.Partitions(ctx)
	if err != nil {
		return 0, err
	}
	var todo []string
	for _, d := range slices.Backward(days) { // the newest first
		if d.AddDate(0, 0, 1).After(before) {
			continue
		}
		todo = append(todo, partitionName(d))
	}
	if len(todo) == 0 {
		return 0, nil
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, wrap(err)
	}
	defer c.Release()
	var locked bool
	if err := c.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(packLock)).Scan(&locked); err != nil || !locked {
		return 0, wrap(err)
	}
	defer c.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(packLock))
	if _, err := c.Exec(ctx, "SET lock_timeout = "+packLockTimeout); err != nil {
		return 0, wrap(err)
	}
	defer c.Exec(context.WithoutCancel(ctx), "RESET lock_timeout")
	rows, err := c.Query(ctx, "SELECT name FROM record_partitions_packed WHERE name = ANY($1)", todo)
	if err != nil {
		return 0, wrap(err)
	}
	packed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, wrap(err)
	}
	n := 0
	for _, name := range todo {
		if slices.Contains(packed, name) {
			continue
		}
		if limit > 0 && n == limit {
			break
		}
		if err := packPartition(ctx, c, name); err != nil {
			return n, fmt.Errorf("pgstore: pack %s: %w", name, wrap(err))
		}
		n++
	}
	return n, nil
}

// packPartition rebuilds the indexes of partition name filled, on c.
func packPartition(ctx context.Context, c *pgxpool.Conn, name string) error {
	rows, err := c.Query(ctx, `SELECT i.relname, x.indisvalid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE x.indrelid = $1::regclass ORDER BY 1`, name)
	if err != nil {
		return err
	}
	type index struct {
		name  string
		valid bool
	}
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var i index
		return i, r.Scan(&i.name, &i.valid)
	})
	if err != nil {
		return err
	}
	for _, i := range indexes {
		id := pgx.Identifier{i.name}.Sanitize()
		stmt := "ALTER INDEX " + id + " SET (fillfactor = 100)"
		if !i.valid {
			stmt = "DROP INDEX CONCURRENTLY " + id // left by a rebuild that failed
		}
		if _, err := c.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := c.Exec(ctx, "REINDEX TABLE CONCURRENTLY "+pgx.Identifier{name}.Sanitize()); err != nil {
		return err
	}
	_, err = c.Exec(ctx, "INSERT INTO record_partitions_packed (name) VALUES ($1) ON CONFLICT DO NOTHING", name)
	return err
}

func uuidText(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Maintain implements hub.Maintainer: it makes the partitions of the day
// before now to AheadDays after, deletes expired replay nonces and
// rate-limit windows older than a day, folds the counter deltas, and then
// packs the indexes of one day partition that ended PackAfterDays before
// now or earlier (PackPartitions; one a call, so that a hub's first
// maintenance after an upgrade does not pack months of days before it
// serves).
func (s *Store) Maintain(ctx context.Context, now time.Time) error {
	if _, err := s.EnsurePartitions(ctx, now.AddDate(0, 0, -1), now.AddDate(0, 0, AheadDays)); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, "DELETE FROM nonces WHERE expires < $1", now.UnixMilli()); err != nil {
		return wrap(err)
	}
	if _, err := s.pool.Exec(ctx, "DELETE FROM rate_windows WHERE start < $1", now.Add(-24*time.Hour).UnixMilli()); err != nil {
		return wrap(err)
	}
	s.forgetPartitions() // those other hubs made or dropped too
	if _, err := s.FoldCounters(ctx); err != nil {
		return err
	}
	_, err := s.PackPartitions(ctx, dayOf(now).AddDate(0, 0, 1-PackAfterDays), 1)
	return err
}

// Retain implements hub.Store: whole day partitions before the cutoff are
// dropped; what is left before it (in the default partition, or all of it
// when the cutoff is not at a day's start) is deleted by range.
func (s *Store) Retain(ctx context.Context, before time.Time) (hub.RetainReport, error) {
	var rep hub.RetainReport
	days, err := s.Partitions(ctx)
	if err != nil {
		return rep, err
	}
	for _, d := range days {
		if d.AddDate(0, 0, 1).After(before) {
			continue
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '30s'"); err != nil {
				return err
			}
			name := pgx.Identifier{partitionName(d)}.Sanitize()
			var n int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+name).Scan(&n); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DROP TABLE "+name); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "DELETE FROM record_partitions_packed WHERE name = $1", partitionName(d)); err != nil {
				return err
			}
			rep.Records += n
			rep.Partitions++
			s.forgetPartitions()
			return nil
		})
		if err != nil {
			return rep, wrap(err)
		}
	}
	cut := ulidAt(before.UnixMilli())
	tag, err := s.pool.Exec(ctx, "DELETE FROM records WHERE id < $1", cut)
	if err != nil {
		return rep, wrap(err)
	}
	rep.Records += tag.RowsAffected()
	if tag, err = s.pool.Exec(ctx, "DELETE FROM flags WHERE id < $1", cut); err != nil {
		return rep, wrap(err)
	}
	rep.Flags = tag.RowsAffected()
	if _, err = s.pool.Exec(ctx, "DELETE FROM counter_deltas WHERE hour < $1", hub.HourOf(before)); err != nil {
		return rep, wrap(err)
	}
	_, err = s.pool.Exec(ctx, "DELETE FROM counters WHERE hour < $1", hub.HourOf(before))
	return rep, wrap(err)
}

// PutAnchors implements hub.AnchorStore.
func (s *Store) PutAnchors(ctx context.Context, pemData []byte, at time.Time) error {
	b := &pgx.Batch{}
	for rest := pemData; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		d := gm.SM3(blk.Bytes)
		b.Queue("INSERT INTO trust_anchors (digest, pem, added) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", d[:], pem.EncodeToMemory(blk), ms(at))
	}
	if b.Len() == 0 {
		return errors.New("pgstore: no CERTIFICATE block in the anchors")
	}
	return wrap(s.pool.SendBatch(ctx, b).Close())
}

// Anchors implements hub.AnchorStore.
func (s *Store) Anchors(ctx context.Context) ([]byte, error) {
	rows, err := s.pool.Query(ctx, "SELECT pem FROM trust_anchors ORDER BY added, digest")
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []byte
	for rows.Next() {
		var p []byte
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out, wrap(rows.Err())
}
