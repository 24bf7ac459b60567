package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// ScanLimit bounds the records one page of a query with several filters
// examines (one filter drives an index range scan, the others are checked
// on each record it yields); the page then ends at the last record
// examined.
const ScanLimit = 10_000

const recordCols = "id, device_no, seq, wall, received, officer, verdict, kind, plate, flags, stop, sealed, issuer"

// recordRow receives recordCols; every field may be NULL (outer joins).
type recordRow struct {
	id                  *[16]byte
	devNo               *int32
	seq, wall, received *int64
	plate, sealed       []byte
	officer, verdict    *string
	kind                *int16
	flags               []string
	stop                *string
	issuer              *int64
}

func (r *recordRow) dest() []any {
	return []any{&r.id, &r.devNo, &r.seq, &r.wall, &r.received, &r.officer, &r.verdict, &r.kind, &r.plate, &r.flags,
		&r.stop, &r.sealed, &r.issuer}
}

func (r *recordRow) record() (hub.StoredRecord, error) {
	if r.id == nil || r.devNo == nil || r.seq == nil || r.wall == nil || r.received == nil || r.officer == nil || r.verdict == nil ||
		r.kind == nil {
		return hub.StoredRecord{}, fmt.Errorf("pgstore: damaged record row")
	}
	out := hub.StoredRecord{ID: *r.id, Seq: uint64(*r.seq), Wall: tm(*r.wall), Received: tm(*r.received),
		Officer: *r.officer, Verdict: *r.verdict, Kind: uint8(*r.kind), PlateHash: r.plate, Flags: r.flags, Sealed: r.sealed}
	if r.stop != nil {
		out.Stop = *r.stop
	}
	if r.issuer != nil {
		out.Issuer = binary.BigEndian.AppendUint64(nil, uint64(*r.issuer))
	}
	return out, nil
}

// scanRecords reads rows of recordCols, naming their devices.
func (s *Store) scanRecords(ctx context.Context, rows pgx.Rows) ([]hub.StoredRecord, error) {
	defer rows.Close()
	var out []hub.StoredRecord
	var nos []int32
	for rows.Next() {
		var rr recordRow
		if err := rows.Scan(rr.dest()...); err != nil {
			return nil, err
		}
		r, err := rr.record()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		nos = append(nos, *rr.devNo)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	return out, s.nameDevices(ctx, out, nos)
}

func (s *Store) nameDevices(ctx context.Context, recs []hub.StoredRecord, nos []int32) error {
	if len(recs) == 0 {
		return nil
	}
	ids, err := s.deviceIDs(ctx, nos)
	if err != nil {
		return err
	}
	for i := range recs {
		recs[i].Device = ids[nos[i]]
	}
	return nil
}

// plateSize is how much of a plate's HMAC-SM3 the store keeps (records
// stored before schema version 2 keep all 32 bytes; every comparison
// takes the first plateSize of both sides). Two different plates share
// their first 16 bytes with odds of 2^-128 a pair: among a billion
// distinct plates, about 1.5·10^-21 that any two do.
const plateSize = 16

// plateValue is the stored form of a plate hash: its first plateSize
// bytes.
func plateValue(h []byte) []byte {
	if h == nil {
		return nil
	}
	return h[:min(plateSize, len(h))]
}

// plateKey is records_plate_key (migration 00002) of a plate: its first 8
// bytes, zero-padded, as a big-endian int64.
func plateKey(p []byte) int64 {
	var k [8]byte
	copy(k[:], p)
	return int64(binary.BigEndian.Uint64(k[:]))
}

// ulidAt is the smallest id of millisecond ms.
func ulidAt(ms int64) [16]byte {
	var k [16]byte
	if ms > 0 {
		var t [8]byte
		binary.BigEndian.PutUint64(t[:], uint64(ms))
		copy(k[:], t[2:])
	}
	return k
}

// query builds a statement's WHERE clause and arguments.
type query struct {
	args  []any
	conds []string
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *query) where(format string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		ph[i] = q.arg(a)
	}
	q.conds = append(q.conds, fmt.Sprintf(format, ph...))
}

// clone is a copy of q that conditions can be added to.
func (q *query) clone() *query {
	return &query{args: slices.Clone(q.args), conds: slices.Clone(q.conds)}
}

// planned is the arguments of a statement on records that PostgreSQL must
// plan for their values: pgx sends it unnamed (one more round trip), so
// it is never run on a cached generic plan. A generic plan of the
// partitioned records knows neither the partitions the time range keeps
// nor how many records the filter's key has: it estimates a handful a
// partition, and, the default partition standing in the way of an
// ordered Append of the day partitions, it fetches every match of the
// range and sorts them for the page (PostgreSQL switches to it after five
// executions). At 10 M records a device's month, about 5,000 records,
// took 60 to 120 ms a page that way; planned for its values, the page
// reads its first day's 101 records.
func planned(args []any) []any {
	return append([]any{pgx.QueryExecModeDescribeExec}, args...)
}

// window is a part of a page's time range: ids from lo to hi (Unix ms,
// hi exclusive; 0: the range's own bound).
type window struct{ lo, hi int64 }

// maxWindowDays is the longest window of a range without an end; the
// window after it holds the rest.
const maxWindowDays = 64

// windows splits the range of a page, from the later of from and after,
// into windows read one after the other until the page is full: its
// first UTC day, the next day, the next two, four and so on, each as long
// as the windows before it together. The whole range is one window when
// it has no start or holds one day.
//
// Each window's statement is planned for its values (see planned), which
// costs about 0.3 ms for each day partition it may read: a month in one
// statement cost about 10 ms of planning a page, six months more than the
// goal of 50 ms. A page of a common key (a device, an officer) or of time
// alone mostly fills from its first window, one partition; a rare key (a
// plate, a stop) reads a month in six windows, each partition planned
// once.
func windows(from, to time.Time, after [16]byte) iter.Seq[window] {
	return func(yield func(window) bool) {
		start := ms(from)
		if after != ([16]byte{}) {
			start = max(start, idDay(after))
		}
		end := int64(0)
		if !to.IsZero() {
			end = to.UnixMilli() + 1
		}
		lo, hi := int64(0), start-start%dayMs+dayMs
		if start <= 0 || end != 0 && end <= hi {
			yield(window{})
			return
		}
		for size := int64(dayMs); ; size *= 2 {
			w := window{lo: lo, hi: hi}
			last := end != 0 && hi >= end || end == 0 && lo != 0 && hi-lo >= maxWindowDays*dayMs
			if last {
				w.hi = 0
			}
			if !yield(w) || last {
				return
			}
			lo, hi = hi, hi+size
		}
	}
}

func (q *query) sql() string {
	if len(q.conds) == 0 {
		return "true"
	}
	return strings.Join(q.conds, " AND ")
}

// bounds adds the time range and the page token.
func bounds(w *query, from, to time.Time, after [16]byte) {
	lo := ulidAt(ms(from))
	if after != ([16]byte{}) && string(after[:]) >= string(lo[:]) {
		w.where("id > %s", after)
	} else if !from.IsZero() {
		w.where("id >= %s", lo)
	}
	if !from.IsZero() {
		w.where("wall >= %s", from.UnixMilli())
	}
	if !to.IsZero() {
		w.where("id < %s", ulidAt(to.UnixMilli()+1))
		w.where("wall <= %s", to.UnixMilli())
	}
}

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// Records implements hub.Store.
func (s *Store) Records(ctx context.Context, q hub.RecordQuery) ([]hub.StoredRecord, bool, error) {
	return hub.RecordsOf(func(q hub.RecordQuery) (hub.RecordPage, error) { return s.QueryRecords(ctx, q) }, q)
}

// QueryRecords implements hub.Store. The most selective filter given
// drives the scan (plate, stop, device, officer, issuer, flagged, a
// LIMITED or INVALID verdict; else the primary key), in id order: an
// index range scan, or for the issuer and plate filters (indexed by key
// alone) the key's records of each day partition sorted by id; the other
// filters are checked on the records it yields, at most ScanLimit of them
// per page.
//
// Every statement is planned for its arguments (see planned); a page of
// one filter reads its range window by window (see windows).
func (s *Store) QueryRecords(ctx context.Context, rq hub.RecordQuery) (hub.RecordPage, error) {
	var page hub.RecordPage
	limit := pageLimit(rq.Limit)
	drive, rest := &query{}, &query{}
	driven := false
	by := func(cond bool, format string, args ...any) {
		switch {
		case !cond:
		case !driven:
			drive.where(format, args...)
			driven = true
		default:
			rest.where(format, args...)
		}
	}
	var devNo int32
	if rq.Device != "" {
		no, ok, err := s.deviceNo(ctx, rq.Device)
		if err != nil || !ok {
			return page, err
		}
		devNo = no
	}
	if rq.PlateHash != nil {
		p := plateValue(rq.PlateHash)
		by(true, "records_plate_key(plate) = %s AND substring(plate FROM 1 FOR "+strconv.Itoa(plateSize)+") = %s AND plate IS NOT NULL", plateKey(p), p)
	}
	by(rq.Stop != "", "stop = %s AND stop IS NOT NULL", rq.Stop)
	by(rq.Device != "", "device_no = %s", devNo)
	by(rq.Officer != "", "officer = %s AND officer <> ''", rq.Officer)
	if rq.Issuer != nil {
		v := issuerValue(rq.Issuer)
		if v == nil {
			return page, fmt.Errorf("%w: issuer kid of %d bytes", hub.ErrBadInput, len(rq.Issuer))
		}
		by(true, "issuer = %s AND issuer IS NOT NULL", *v)
	}
	by(rq.FlaggedOnly, "flags IS NOT NULL")
	switch rq.Verdict {
	case "":
	case "LIMITED", "INVALID": // partial indexes: the literal must be in the statement
		by(true, "verdict = '"+rq.Verdict+"'")
	default:
		if !driven {
			rest.where("verdict = %s", rq.Verdict)
		} else {
			by(true, "verdict = %s", rq.Verdict)
		}
	}
	if rq.Kind != 0 {
		rest.where("kind = %s", int16(rq.Kind))
	}
	bounds(drive, rq.From, rq.To, rq.After)

	if len(rest.conds) == 0 {
		var recs []hub.StoredRecord
		for w := range windows(rq.From, rq.To, rq.After) {
			stmt := drive.clone()
			if w.lo != 0 {
				stmt.where("id >= %s", ulidAt(w.lo))
			}
			if w.hi != 0 {
				stmt.where("id < %s", ulidAt(w.hi))
			}
			rows, err := s.pool.Query(ctx, "SELECT "+recordCols+" FROM records WHERE "+stmt.sql()+" ORDER BY id LIMIT "+strconv.Itoa(limit+1-len(recs)),
				planned(stmt.args)...)
			if err != nil {
				return page, wrap(err)
			}
			more, err := s.scanRecords(ctx, rows)
			if err != nil {
				return page, wrap(err)
			}
			if recs = append(recs, more...); len(recs) > limit {
				break
			}
		}
		if len(recs) > limit {
			recs = recs[:limit]
			page.More, page.Next = true, recs[limit-1].ID
		}
		page.Records = recs
		return page, nil
	}
	// Several filters: the driving one yields at most scanLimit records
	// in id order, the rest are checked on them; the executor stops as
	// soon as the page is full. A page that is not full asks where the
	// scan ended: its scanLimit-th record, if there is one, is the next
	// page's start.
	restSQL := renumber(rest.sql(), len(drive.args))
	args := append(append([]any{}, drive.args...), rest.args...)
	stmt := "SELECT " + recordCols + " FROM (SELECT * FROM records WHERE " + drive.sql() + " ORDER BY id LIMIT " + strconv.Itoa(s.scanLimit) +
		") scan WHERE " + restSQL + " ORDER BY id LIMIT " + strconv.Itoa(limit+1)
	rows, err := s.pool.Query(ctx, stmt, planned(args)...)
	if err != nil {
		return page, wrap(err)
	}
	recs, err := s.scanRecords(ctx, rows)
	if err != nil {
		return page, wrap(err)
	}
	if len(recs) > limit {
		recs = recs[:limit]
		page.More, page.Next = true, recs[limit-1].ID
		page.Records = recs
		return page, nil
	}
	page.Records = recs
	var last [16]byte
	err = s.pool.QueryRow(ctx, "SELECT id FROM records WHERE "+drive.sql()+" ORDER BY id OFFSET "+strconv.Itoa(s.scanLimit-1)+" LIMIT 1",
		planned(drive.args)...).Scan(&last)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return page, nil // the scan reached the end of the data
	case err != nil:
		return page, wrap(err)
	}
	page.More, page.Next, page.Scanned = true, last, true
	return page, nil
}

// renumber shifts the placeholders $1… of stmt by n.
func renumber(stmt string, n int) string {
	var b strings.Builder
	for i := 0; i < len(stmt); i++ {
		if stmt[i] != '$' {
			b.WriteByte(stmt[i])
			continue
		}
		j := i + 1
		for j < len(stmt) && stmt[j] >= '0' && stmt[j] <= '9' {
			j++
		}
		v, _ := strconv.Atoi(stmt[i+1 : j])
		b.WriteString("$" + strconv.Itoa(v+n))
		i = j - 1
	}
	return b.String()
}

// CountRecords implements hub.Store.
func (s *Store) CountRecords(ctx context.Context, device string) (int, error) {
	var n int
	if device == "" {
		err := s.pool.QueryRow(ctx, "SELECT count(*) FROM records").Scan(&n)
		return n, wrap(err)
	}
	no, ok, err := s.deviceNo(ctx, device)
	if err != nil || !ok {
		return 0, err
	}
	err = s.pool.QueryRow(ctx, "SELECT count(*) FROM records WHERE device_no = $1", no).Scan(&n)
	return n, wrap(err)
}

// Flags implements hub.Store.
func (s *Store) Flags(ctx context.Context, fq hub.FlagQuery) ([]hub.Flag, bool, error) {
	limit := pageLimit(fq.Limit)
	w := &query{}
	lo := ulidAt(ms(fq.From))
	if string(fq.After[:]) > string(lo[:]) {
		w.where("id > %s", fq.After)
	} else if !fq.From.IsZero() {
		w.where("id >= %s", lo)
	}
	if !fq.From.IsZero() {
		w.where("at >= %s", fq.From.UnixMilli())
	}
	if !fq.To.IsZero() {
		w.where("id < %s", ulidAt(fq.To.UnixMilli()+1))
		w.where("at <= %s", fq.To.UnixMilli())
	}
	if fq.Device != "" {
		w.where("device = %s", fq.Device)
	}
	if fq.Kind != "" {
		w.where("kind = %s", fq.Kind)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, key, device, kind, reason, from_seq, to_seq, record_id, detail, at FROM flags
		WHERE `+w.sql()+` ORDER BY id LIMIT `+strconv.Itoa(limit+1), w.args...)
	if err != nil {
		return nil, false, wrap(err)
	}
	defer rows.Close()
	var out []hub.Flag
	for rows.Next() {
		var (
			f            hub.Flag
			key          []byte
			from, to, at int64
		)
		if err := rows.Scan(&f.ID, &key, &f.Device, &f.Kind, &f.Reason, &from, &to, &f.RecordID, &f.Detail, &at); err != nil {
			return nil, false, err
		}
		if len(key) == gm.SM3Size {
			f.Key = [gm.SM3Size]byte(key)
		}
		f.FromSeq, f.ToSeq, f.At = uint64(from), uint64(to), tm(at)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, false, wrap(err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// Counters implements hub.Store.
func (s *Store) Counters(ctx context.Context, cq hub.CounterQuery) ([]hub.CounterRow, error) {
	return hub.CombineCounters(cq, func(dim hub.CounterDim, from, to int64, byHour bool) ([]hub.CounterRow, error) {
		return s.countersRange(ctx, dim, from, to, byHour)
	})
}

func (s *Store) countersRange(ctx context.Context, dim hub.CounterDim, from, to int64, byHour bool) ([]hub.CounterRow, error) {
	cq := hub.CounterQuery{Dim: dim, ByHour: byHour}
	sums := "sum(total)::bigint, sum(valid)::bigint, sum(limited)::bigint, sum(invalid)::bigint, sum(flagged)::bigint"
	// The folded counters and the deltas not folded yet, in one snapshot
	// (a fold moves rows from one to the other in one transaction).
	from_ := `(SELECT hour, key, total, valid, limited, invalid, flagged FROM counters WHERE dim = $1 AND hour >= $2 AND hour < $3
		UNION ALL SELECT hour, key, total, valid, limited, invalid, flagged FROM counter_deltas WHERE dim = $1 AND hour >= $2 AND hour < $3) c`
	stmt := "SELECT 0, key COLLATE \"C\", " + sums + " FROM " + from_ + " GROUP BY key ORDER BY key COLLATE \"C\""
	if cq.ByHour {
		stmt = "SELECT hour, key COLLATE \"C\", " + sums + " FROM " + from_ + " GROUP BY hour, key ORDER BY hour, key COLLATE \"C\""
	}
	rows, err := s.pool.Query(ctx, stmt, int16(cq.Dim), from, to)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []hub.CounterRow
	for rows.Next() {
		var (
			r    hub.CounterRow
			hour int64
		)
		if err := rows.Scan(&hour, &r.Key, &r.Count.Total, &r.Count.Valid, &r.Count.Limited, &r.Count.Invalid, &r.Count.Flagged); err != nil {
			return nil, err
		}
		if cq.ByHour {
			r.Hour = hub.HourTime(hour)
		}
		out = append(out, r)
	}
	return out, wrap(rows.Err())
}
