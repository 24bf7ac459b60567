package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// copyMin is the smallest batch stored with COPY; smaller ones take one
// INSERT (fewer round trips).
const copyMin = 8

// Ingest implements hub.Store: one transaction, the device's row locked
// for its duration (so ingestions of one device never interleave, whichever
// hub runs them).
func (s *Store) Ingest(ctx context.Context, deviceID string, fn func(tx hub.IngestTx) error) error {
	return s.IngestExpecting(ctx, deviceID, nil, nil, fn)
}

// IngestExpecting implements hub.ExpectingIngester: Ingest with the
// batch's records looked up in the round trip that opens the transaction
// and locks the device, and the writes sent with the commit, so that a
// small batch costs two round trips to the database (three with COPY).
// The lookup runs after the lock is granted, so it sees every ingestion of
// the device committed before.
func (s *Store) IngestExpecting(ctx context.Context, deviceID string, ids [][16]byte, _ []uint64, fn func(tx hub.IngestTx) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrap(err)
	}
	defer c.Release()
	it := &ingestTx{ctx: ctx, c: c, s: s, put: make([]hub.StoredRecord, 0, len(ids)),
		known: make(map[[16]byte]*hub.StoredRecord, len(ids)), expected: make(map[[16]byte]bool, len(ids)), atSeq: make(map[uint64][16]byte, len(ids))}
	err = it.run(deviceID, ids, fn)
	if err != nil && !c.Conn().IsClosed() && c.Conn().PgConn().TxStatus() != 'I' {
		// A transaction the error left open or failed: roll it back (a
		// connection that cannot is closed, and the pool drops it).
		if _, rerr := c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			c.Conn().Close(context.WithoutCancel(ctx))
		}
	}
	return wrap(err)
}

// run opens the transaction, locks and reads the device (and looks up
// ids), calls fn and sends the writes with the commit.
func (t *ingestTx) run(deviceID string, ids [][16]byte, fn func(tx hub.IngestTx) error) error {
	ctx := t.ctx
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT "+deviceCols+" FROM devices WHERE id = $1 FOR UPDATE", deviceID)
	want, lo, hi := rangeOf(ids)
	if len(want) > 0 {
		b.Queue(lookupIDs, want, lo, hi)
	}
	br := t.c.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		t.dev, t.no, err = t.s.scanDevice(br.QueryRow())
		if errors.Is(err, pgx.ErrNoRows) {
			err = fmt.Errorf("%w: device %q", hub.ErrNotFound, deviceID)
		}
	}
	if err == nil && len(want) > 0 {
		err = t.found(want, br)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	t.startNext = t.dev.NextSeq
	if err := fn(t); err != nil {
		return err
	}
	return t.flush()
}

// lookupIDs finds the stored records among ids $1, least $2 and greatest
// $3 (the explicit range lets PostgreSQL look only in the partitions of
// the batch's days).
const lookupIDs = "SELECT " + recordCols + " FROM records WHERE id = ANY($1) AND id >= $2 AND id <= $3"

// rangeOf is ids in a slice for ANY, and their least and greatest (the
// explicit range lets PostgreSQL look only in the partitions of the
// batch's days).
func rangeOf(ids [][16]byte) (want [][16]byte, lo, hi [16]byte) {
	if len(ids) == 0 {
		return nil, lo, hi
	}
	lo, hi = ids[0], ids[0]
	for _, id := range ids {
		if string(id[:]) < string(lo[:]) {
			lo = id
		}
		if string(id[:]) > string(hi[:]) {
			hi = id
		}
	}
	return ids, lo, hi
}

// found records the answer of a lookup of want: stored records become
// known, the others are known to be absent.
func (t *ingestTx) found(want [][16]byte, br pgx.BatchResults) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	recs, err := t.s.scanRecords(t.ctx, rows)
	if err != nil {
		return err
	}
	for _, id := range want {
		t.expected[id] = true
	}
	for i := range recs {
		t.known[recs[i].ID] = &recs[i]
	}
	return nil
}

type ingestTx struct {
	ctx       context.Context
	c         *pgxpool.Conn // in a transaction opened by run
	s         *Store
	dev       hub.Device
	no        int32
	startNext uint64 // NextSeq at the start: nothing is stored at or above it
	chain     bool   // SetChain was called

	known    map[[16]byte]*hub.StoredRecord // records looked up or put
	expected map[[16]byte]bool              // ids Expect looked up (absent from known: not stored)
	atSeq    map[uint64][16]byte            // sequence → id, looked up or put
	put      []hub.StoredRecord
}

func (t *ingestTx) Device() hub.Device { return t.dev }

func (t *ingestTx) SetChain(next uint64, last [gm.SM3Size]byte, seen time.Time) error {
	t.dev.NextSeq, t.dev.LastHash, t.dev.LastSeen = next, last, seen
	t.chain = true
	return nil
}

// Expect implements hub.IngestHinter: one query finds which of the batch's
// records are stored already.
func (t *ingestTx) Expect(ids [][16]byte, _ []uint64) error {
	var want [][16]byte
	for _, id := range ids {
		if _, ok := t.known[id]; !ok && !t.expected[id] {
			want = append(want, id)
		}
	}
	want, lo, hi := rangeOf(want)
	if len(want) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(lookupIDs, want, lo, hi)
	br := t.c.SendBatch(t.ctx, b)
	err := t.found(want, br)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

func (t *ingestTx) Record(id [16]byte) (hub.StoredRecord, bool, error) {
	if r, ok := t.known[id]; ok {
		return *r, true, nil
	}
	if t.expected[id] {
		return hub.StoredRecord{}, false, nil
	}
	rows, err := t.c.Query(t.ctx, "SELECT "+recordCols+" FROM records WHERE id = $1", id)
	if err != nil {
		return hub.StoredRecord{}, false, err
	}
	recs, err := t.s.scanRecords(t.ctx, rows)
	if err != nil || len(recs) == 0 {
		return hub.StoredRecord{}, false, err
	}
	t.known[id] = &recs[0]
	return recs[0], true, nil
}

func (t *ingestTx) RecordAt(seq uint64) ([16]byte, bool, error) {
	if id, ok := t.atSeq[seq]; ok {
		return id, true, nil
	}
	if seq >= t.startNext || seq > math.MaxInt64 {
		return [16]byte{}, false, nil // the chain head is above every stored sequence
	}
	var id [16]byte
	err := t.c.QueryRow(t.ctx, "SELECT id FROM records WHERE device_no = $1 AND seq = $2 LIMIT 1", t.no, int64(seq)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	t.atSeq[seq] = id
	return id, true, nil
}

func (t *ingestTx) PutRecord(r hub.StoredRecord) error {
	if r.Seq > math.MaxInt64 {
		return fmt.Errorf("%w: sequence %d out of range", hub.ErrBadInput, r.Seq)
	}
	if r.Issuer != nil && len(r.Issuer) != 8 {
		return fmt.Errorf("%w: issuer kid of %d bytes", hub.ErrBadInput, len(r.Issuer))
	}
	if _, dup := t.known[r.ID]; dup {
		return fmt.Errorf("%w: record %x stored twice in one transaction", hub.ErrBadInput, r.ID)
	}
	t.put = append(t.put, r)
	t.known[r.ID] = &t.put[len(t.put)-1]
	t.atSeq[r.Seq] = r.ID
	return nil
}

func (t *ingestTx) PutFlag(f hub.Flag) (bool, error) {
	var key []byte
	if f.Key != ([gm.SM3Size]byte{}) {
		key = f.Key[:]
	}
	tag, err := t.c.Exec(t.ctx, `INSERT INTO flags (id, key, device, kind, reason, from_seq, to_seq, record_id, detail, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING`,
		f.ID, key, f.Device, f.Kind, f.Reason, int64(f.FromSeq), int64(f.ToSeq), f.RecordID, f.Detail, ms(f.At))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

var recordColumns = []string{"id", "wall", "received", "seq", "issuer", "device_no", "kind", "officer", "verdict", "plate", "flags", "stop", "sealed"}

func issuerValue(kid []byte) *int64 {
	if len(kid) != 8 {
		return nil
	}
	v := int64(binary.BigEndian.Uint64(kid))
	return &v
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (t *ingestTx) row(r *hub.StoredRecord) []any {
	return []any{r.ID, ms(r.Wall), ms(r.Received), int64(r.Seq), issuerValue(r.Issuer), t.no, int16(r.Kind),
		r.Officer, r.Verdict, plateValue(r.PlateHash), flagsValue(r.Flags), nullText(r.Stop), r.Sealed}
}

func flagsValue(f []string) []string {
	if len(f) == 0 {
		return nil
	}
	return f
}

// flush writes what the transaction buffered — the records (COPY for
// copyMin or more), the rollup deltas and the chain head — and commits, the
// commit in the same round trip as the writes after COPY: a write that
// fails skips the rest of the batch, COMMIT included.
func (t *ingestTx) flush() error {
	ctx := t.ctx
	b := &pgx.Batch{}
	if len(t.put) >= copyMin {
		rows := make([][]any, len(t.put))
		for i := range t.put {
			rows[i] = t.row(&t.put[i])
		}
		if _, err := t.c.CopyFrom(ctx, pgx.Identifier{"records"}, recordColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
	} else {
		for i := range t.put {
			b.Queue(`INSERT INTO records (id, wall, received, seq, issuer, device_no, kind, officer, verdict, plate, flags, stop, sealed)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, t.row(&t.put[i])...)
		}
	}
	if len(t.put) > 0 {
		queueCounters(b, t.put)
	}
	if t.chain {
		b.Queue("UPDATE devices SET next_seq = $2, last_hash = $3, last_seen = $4 WHERE no = $1",
			t.no, int64(min(t.dev.NextSeq, math.MaxInt64)), t.dev.LastHash[:], ms(t.dev.LastSeen))
	}
	b.Queue("COMMIT")
	return t.c.SendBatch(ctx, b).Close()
}

type counterID struct {
	dim  hub.CounterDim
	hour int64
	key  string
}

// queueCounters queues the insert of what recs add to the rollups into
// counter_deltas: insert-only, so concurrent ingestions never wait for
// each other there (see foldCounters).
func queueCounters(b *pgx.Batch, recs []hub.StoredRecord) {
	sums := map[counterID]hub.Count{}
	for i := range recs {
		r := &recs[i]
		c := hub.CountOf(r)
		for _, k := range hub.CounterKeys(r) {
			id := counterID{k.Dim, k.Hour, k.Key}
			sum := sums[id]
			sum.Add(c)
			sums[id] = sum
		}
	}
	n := len(sums)
	dims, hours, keys := make([]int16, 0, n), make([]int32, 0, n), make([]string, 0, n)
	total, valid, limited, invalid, flagged := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	for id, c := range sums {
		dims, hours, keys = append(dims, int16(id.dim)), append(hours, int32(id.hour)), append(keys, id.key)
		total, valid, limited = append(total, c.Total), append(valid, c.Valid), append(limited, c.Limited)
		invalid, flagged = append(invalid, c.Invalid), append(flagged, c.Flagged)
	}
	b.Queue(`INSERT INTO counter_deltas (dim, hour, key, total, valid, limited, invalid, flagged)
		SELECT * FROM unnest($1::smallint[], $2::integer[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])`,
		dims, hours, keys, total, valid, limited, invalid, flagged)
}
