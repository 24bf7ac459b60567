package pgstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// shards spreads the rollup rows of one hour over this many rows per key
// (by device number), so concurrent ingestions of different devices rarely
// wait on each other's row locks.
const shards = 32

// copyMin is the smallest batch stored with COPY; smaller ones take one
// INSERT (fewer round trips).
const copyMin = 8

// Ingest implements hub.Store: one transaction, the device's row locked
// for its duration (so ingestions of one device never interleave, whichever
// hub runs them).
func (s *Store) Ingest(ctx context.Context, deviceID string, fn func(tx hub.IngestTx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	d, no, err := s.scanDevice(tx.QueryRow(ctx, "SELECT "+deviceCols+" FROM devices WHERE id = $1 FOR UPDATE", deviceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: device %q", hub.ErrNotFound, deviceID)
	}
	if err != nil {
		return wrap(err)
	}
	it := &ingestTx{ctx: ctx, tx: tx, s: s, dev: d, no: no, startNext: d.NextSeq,
		known: map[[16]byte]*hub.StoredRecord{}, expected: map[[16]byte]bool{}, atSeq: map[uint64][16]byte{}}
	if err := fn(it); err != nil {
		return wrap(err)
	}
	if err := it.flush(); err != nil {
		return wrap(err)
	}
	return wrap(tx.Commit(ctx))
}

type ingestTx struct {
	ctx       context.Context
	tx        pgx.Tx
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
	if len(want) == 0 {
		return nil
	}
	lo, hi := want[0], want[0]
	for _, id := range want {
		if string(id[:]) < string(lo[:]) {
			lo = id
		}
		if string(id[:]) > string(hi[:]) {
			hi = id
		}
	}
	// The explicit range lets PostgreSQL look only in the partitions of
	// the batch's days.
	rows, err := t.tx.Query(t.ctx, "SELECT "+recordCols+" FROM records WHERE id = ANY($1) AND id >= $2 AND id <= $3", want, lo, hi)
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

func (t *ingestTx) Record(id [16]byte) (hub.StoredRecord, bool, error) {
	if r, ok := t.known[id]; ok {
		return *r, true, nil
	}
	if t.expected[id] {
		return hub.StoredRecord{}, false, nil
	}
	rows, err := t.tx.Query(t.ctx, "SELECT "+recordCols+" FROM records WHERE id = $1", id)
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
	err := t.tx.QueryRow(t.ctx, "SELECT id FROM records WHERE device_no = $1 AND seq = $2 LIMIT 1", t.no, int64(seq)).Scan(&id)
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
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO flags (id, key, device, kind, reason, from_seq, to_seq, record_id, detail, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING`,
		f.ID, key, f.Device, f.Kind, f.Reason, int64(f.FromSeq), int64(f.ToSeq), f.RecordID, f.Detail, ms(f.At))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

var recordColumns = []string{"id", "wall", "received", "seq", "issuer", "device_no", "kind", "hash", "officer", "verdict", "plate", "flags", "stop", "sealed"}

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
	return []any{r.ID, ms(r.Wall), ms(r.Received), int64(r.Seq), issuerValue(r.Issuer), t.no, int16(r.Kind), r.Hash[:],
		r.Officer, r.Verdict, plateValue(r.PlateHash), flagsValue(r.Flags), nullText(r.Stop), r.Sealed}
}

func flagsValue(f []string) []string {
	if len(f) == 0 {
		return nil
	}
	return f
}

// flush writes what the transaction buffered: the records (COPY), the
// rollups and the chain head.
func (t *ingestTx) flush() error {
	ctx := t.ctx
	if len(t.put) >= copyMin {
		rows := make([][]any, len(t.put))
		for i := range t.put {
			rows[i] = t.row(&t.put[i])
		}
		if _, err := t.tx.CopyFrom(ctx, pgx.Identifier{"records"}, recordColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
	} else if len(t.put) > 0 {
		b := &pgx.Batch{}
		for i := range t.put {
			b.Queue(`INSERT INTO records (id, wall, received, seq, issuer, device_no, kind, hash, officer, verdict, plate, flags, stop, sealed)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`, t.row(&t.put[i])...)
		}
		if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
	}
	b := &pgx.Batch{}
	if len(t.put) > 0 {
		queueCounters(b, t.put, int16(t.no%shards))
	}
	if t.chain {
		b.Queue("UPDATE devices SET next_seq = $2, last_hash = $3, last_seen = $4 WHERE no = $1",
			t.no, int64(min(t.dev.NextSeq, math.MaxInt64)), t.dev.LastHash[:], ms(t.dev.LastSeen))
	}
	if b.Len() == 0 {
		return nil
	}
	return t.tx.SendBatch(ctx, b).Close()
}

type counterID struct {
	dim  hub.CounterDim
	hour int64
	key  string
}

// queueCounters queues the upsert of the rollups of recs, in key order
// (concurrent ingestions lock shared rows in one order: no deadlock).
func queueCounters(b *pgx.Batch, recs []hub.StoredRecord, shard int16) {
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
	ids := make([]counterID, 0, len(sums))
	for id := range sums {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b counterID) int {
		return cmp.Or(cmp.Compare(a.dim, b.dim), cmp.Compare(a.hour, b.hour), cmp.Compare(a.key, b.key))
	})
	n := len(ids)
	dims, hours, keys, shardv := make([]int16, n), make([]int32, n), make([]string, n), make([]int16, n)
	total, valid, limited, invalid, flagged := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, id := range ids {
		c := sums[id]
		dims[i], hours[i], keys[i], shardv[i] = int16(id.dim), int32(id.hour), id.key, shard
		total[i], valid[i], limited[i], invalid[i], flagged[i] = c.Total, c.Valid, c.Limited, c.Invalid, c.Flagged
	}
	b.Queue(`INSERT INTO counters (dim, hour, key, shard, total, valid, limited, invalid, flagged)
		SELECT * FROM unnest($1::smallint[], $2::integer[], $3::text[], $4::smallint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
		ON CONFLICT (dim, hour, key, shard) DO UPDATE SET total = counters.total + EXCLUDED.total, valid = counters.valid + EXCLUDED.valid,
		limited = counters.limited + EXCLUDED.limited, invalid = counters.invalid + EXCLUDED.invalid, flagged = counters.flagged + EXCLUDED.flagged`,
		dims, hours, keys, shardv, total, valid, limited, invalid, flagged)
}
