package hub

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CounterDim is a dimension the stores keep rollups by.
type CounterDim byte

// Dimensions of the rollups.
const (
	DimAll     CounterDim = 'a' // one key, ""
	DimOfficer CounterDim = 'o'
	DimDevice  CounterDim = 'd'
	DimIssuer  CounterDim = 'i' // hex of the code signer's kid
	DimKind    CounterDim = 'k' // "0"–"3"
)

// Daily twins of the dimensions with many keys: the same counts per UTC
// day (their hour is the day's first), so that a month by officer sums
// one row per officer and day, not per hour. Stores keep both and answer
// a range from the days inside it and the hours at its edges.
const (
	DimOfficerDay CounterDim = 'O'
	DimDeviceDay  CounterDim = 'D'
	DimIssuerDay  CounterDim = 'I'
)

// CounterDims lists every dimension a record is counted in.
var CounterDims = []CounterDim{DimAll, DimOfficer, DimDevice, DimIssuer, DimKind, DimOfficerDay, DimDeviceDay, DimIssuerDay}

// dailyOf is the daily twin of a dimension (0: none).
func dailyOf(d CounterDim) CounterDim {
	switch d {
	case DimOfficer:
		return DimOfficerDay
	case DimDevice:
		return DimDeviceDay
	case DimIssuer:
		return DimIssuerDay
	}
	return 0
}

// Count is how many records, by verdict, and how many were flagged.
type Count struct {
	Total, Valid, Limited, Invalid, Flagged int64
}

// Add adds o to c.
func (c *Count) Add(o Count) {
	c.Total += o.Total
	c.Valid += o.Valid
	c.Limited += o.Limited
	c.Invalid += o.Invalid
	c.Flagged += o.Flagged
}

// CountOf is what record r adds to each of its counters.
func CountOf(r *StoredRecord) Count {
	c := Count{Total: 1}
	switch r.Verdict {
	case "VALID":
		c.Valid = 1
	case "LIMITED":
		c.Limited = 1
	default:
		c.Invalid = 1
	}
	if len(r.Flags) > 0 {
		c.Flagged = 1
	}
	return c
}

// CounterKey is one counter a record is counted in: a dimension, a key and
// the hour the counter covers (for a daily dimension, its day's first).
type CounterKey struct {
	Dim  CounterDim
	Key  string
	Hour int64
}

// CounterKeys returns the counters record r is counted in, one per
// dimension (a record without officer or issuer counts under "").
func CounterKeys(r *StoredRecord) [8]CounterKey {
	h := HourOf(r.Wall)
	d := h - ((h%24)+24)%24
	issuer := hex.EncodeToString(r.Issuer)
	return [8]CounterKey{
		{DimAll, "", h}, {DimOfficer, r.Officer, h}, {DimDevice, r.Device, h},
		{DimIssuer, issuer, h}, {DimKind, strconv.Itoa(int(r.Kind)), h},
		{DimOfficerDay, r.Officer, d}, {DimDeviceDay, r.Device, d}, {DimIssuerDay, issuer, d},
	}
}

// CombineCounters answers q from raw, which reads one dimension's rows in
// the hours [from, to) (summed per key, or per hour and key): a dimension
// with a daily twin is read per day for the whole UTC days inside the
// range and per hour at its edges, and the parts summed per key.
func CombineCounters(q CounterQuery, raw func(dim CounterDim, from, to int64, byHour bool) ([]CounterRow, error)) ([]CounterRow, error) {
	from, to := HourOf(q.From), HourOf(q.To)
	day := dailyOf(q.Dim)
	firstDay, lastDay := (from+23)/24*24, to/24*24
	if from < 0 || q.ByHour || day == 0 || firstDay >= lastDay {
		return raw(q.Dim, from, to, q.ByHour)
	}
	sums := map[string]Count{}
	for _, part := range []struct {
		dim      CounterDim
		from, to int64
	}{{q.Dim, from, firstDay}, {day, firstDay, lastDay}, {q.Dim, lastDay, to}} {
		if part.from >= part.to {
			continue
		}
		rows, err := raw(part.dim, part.from, part.to, false)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			c := sums[r.Key]
			c.Add(r.Count)
			sums[r.Key] = c
		}
	}
	out := make([]CounterRow, 0, len(sums))
	for k, c := range sums {
		out = append(out, CounterRow{Key: k, Count: c})
	}
	slices.SortFunc(out, func(a, b CounterRow) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// HourOf is the rollup hour of t: whole hours since the Unix epoch (UTC).
func HourOf(t time.Time) int64 {
	ms := t.UnixMilli()
	h := ms / 3_600_000
	if ms < 0 && ms%3_600_000 != 0 {
		h--
	}
	return h
}

// HourTime is the start of rollup hour h.
func HourTime(h int64) time.Time { return time.UnixMilli(h * 3_600_000).UTC() }

// CounterQuery selects rollups: one dimension, the hours in [From, To)
// (whole hours), per key — or per hour and key when ByHour is set.
type CounterQuery struct {
	Dim      CounterDim
	From, To time.Time
	ByHour   bool
}

// CounterRow is one rollup row: its hour (ByHour only), key and count.
type CounterRow struct {
	Hour  time.Time
	Key   string
	Count Count
}

// RetainReport says what Retain deleted.
type RetainReport struct {
	Records    int64 // records whose time was before the cutoff
	Flags      int64 // flags raised before the cutoff
	Partitions int   // whole partitions dropped (PostgreSQL)
}

// RetentionCutoff is the cutoff of a retention that keeps `keep` before
// now: the start of the UTC day keep before now, so whole days go.
func RetentionCutoff(now time.Time, keep time.Duration) time.Time {
	c := now.Add(-keep).UTC()
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC)
}

// RecordPage is one page of a record query.
type RecordPage struct {
	Records []StoredRecord
	// More reports that the query did not reach its end: ask for the
	// next page with After = Next.
	More bool
	// Next is the last key the query examined (with More): the last
	// record returned when the page is full, or the last record scanned
	// when the scan limit ended the page first — then Records may even be
	// empty, but Next always moves on, so paging never stalls.
	Next [16]byte
	// Scanned reports that the page ended at the scan limit rather than
	// at Limit records.
	Scanned bool
}

// RecordsOf adapts QueryRecords to the page contract of Store.Records:
// it returns a page that is not empty unless the query is complete, by
// asking for further pages while the scan limit ends them empty.
func RecordsOf(query func(q RecordQuery) (RecordPage, error), q RecordQuery) ([]StoredRecord, bool, error) {
	for {
		p, err := query(q)
		if err != nil || len(p.Records) > 0 || !p.More {
			return p.Records, p.More, err
		}
		q.After = p.Next
	}
}
