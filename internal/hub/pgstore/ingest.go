package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// copyMin is the smallest batch stored with COPY; smaller ones take one
// INSERT, sent with the commit: a COPY into the partitioned table costs a
// round trip and about 1.5 ms of the server's CPU however few its rows,
// where the INSERT of a group of single records costs a tenth of that.
const copyMin = 128

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
//
// Concurrent ingestions of different devices are committed together, in
// one transaction (group commit: see ingestGroup); fn may then run more
// than once — when the group's writes fail, each of its ingestions is run
// again alone — so it must not keep state across runs (the server's does
// not), as with hub.BoltStore.
func (s *Store) IngestExpecting(ctx context.Context, deviceID string, ids [][16]byte, _ []uint64, fn func(tx hub.IngestTx) error) error {
	_, err := s.ingests.do(ctx, &ingestOp{device: deviceID, ids: ids, fn: fn})
	return wrap(err)
}

// ingestOp is one ingestion in a round of the group commit.
type ingestOp struct {
	device string
	ids    [][16]byte
	fn     func(tx hub.IngestTx) error
}

// Bounds of a group commit: ingestions, and records looked up.
const (
	groupMax     = 64
	groupRecords = 2000
	groupPushes  = 16
	// admitRounds: admission rounds in flight at once. One: more rounds
	// of fewer admissions each cost PostgreSQL more CPU a push (490
	// against 340 µs with 3) and gave fewer pushes a second.
	admitRounds = 1
)

// joinGroup reports whether o may join the group of batch: one ingestion
// of each device (a device's next one sees what the one before stored),
// within the bounds.
func joinGroup(batch []*op[*ingestOp], o *op[*ingestOp]) bool {
	if len(batch) >= groupMax {
		return false
	}
	n := len(o.v.ids)
	for _, b := range batch {
		if b.v.device == o.v.device {
			return false
		}
		n += len(b.v.ids)
	}
	return n <= groupRecords
}

// initCombiners sets up the rounds of Device, the admissions (UseNonce,
// TakeWindows, Admit) and ingestion.
func (s *Store) initCombiners() {
	s.devices = combiner[deviceOp]{rounds: 1, run: s.readDevices}
	s.admits = combiner[admitOp]{rounds: admitRounds, run: s.admit, take: joinAdmission}
	// A second group beside one committing only for half a group's
	// records, or a quarter of its pushes: small groups would cost more
	// statements than they save in waiting.
	s.ingests = combiner[*ingestOp]{rounds: 2, run: s.ingestRound, take: joinGroup, more: func(pending []*op[*ingestOp]) bool {
		n := 0
		for _, o := range pending {
			n += len(o.v.ids)
		}
		return n >= groupRecords/2 || len(pending) >= groupPushes
	}}
}

// ingestRound runs a round of ingestions: alone, or as a group.
func (s *Store) ingestRound(ctx context.Context, batch []*op[*ingestOp]) {
	if len(batch) == 1 {
		batch[0].err = s.ingestAlone(ctx, batch[0].v)
		return
	}
	for _, o := range s.ingestGroup(ctx, batch) {
		o.err = s.ingestAlone(ctx, o.v)
	}
}

// ingestAlone runs one ingestion in a transaction of its own.
func (s *Store) ingestAlone(ctx context.Context, o *ingestOp) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrap(err)
	}
	defer c.Release()
	for attempt := 0; ; attempt++ {
		it := s.newIngestTx(ctx, c)
		err = it.run(o.device, o.ids, o.fn)
		if err != nil {
			rollback(ctx, c)
		}
		if !errors.Is(err, errPartitionGone) || attempt > 0 {
			return wrap(err)
		}
		// A partition listed was dropped since (Retain on another hub):
		// once again, with the partitions listed anew.
	}
}

// errPartitionGone: a partition the lookup asked was dropped since it was
// listed.
var errPartitionGone = errors.New("pgstore: partition dropped meanwhile")

// rollback ends the transaction an error left open or failed on c (a
// connection that cannot is closed, and the pool drops it).
func rollback(ctx context.Context, c *pgxpool.Conn) {
	if c.Conn().IsClosed() || c.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	if _, err := c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		c.Conn().Close(context.WithoutCancel(ctx))
	}
}

func (s *Store) newIngestTx(ctx context.Context, c *pgxpool.Conn) *ingestTx {
	return &ingestTx{ctx: ctx, c: c, s: s,
		known: map[[16]byte]*hub.StoredRecord{}, expected: map[[16]byte]bool{}, atSeq: map[uint64][16]byte{}}
}

// ingestGroup runs the ingestions of batch (of distinct devices) in one
// transaction: one round trip opens it, locks every device's row (in id
// order, so that groups never deadlock) and looks up every batch's
// records; each ingestion's function then runs on its own device and
// records, its reads and flags inside a savepoint (taken on its first
// statement), and one round trip sends every write with the commit.
//
// An ingestion whose function fails gets its error, its savepoint rolled
// back and its writes dropped, and the others go on. When the group as a
// whole fails on a statement (the writes of two ingestions in conflict, a
// deadlock), nothing was committed and ingestGroup returns every
// ingestion without an outcome, to be run again alone; when the database
// cannot answer, each gets the error. The returned operations have no
// outcome set; the others have theirs.
func (s *Store) ingestGroup(ctx context.Context, batch []*op[*ingestOp]) (again []*op[*ingestOp]) {
	fail := func(err error, ops []*op[*ingestOp]) []*op[*ingestOp] {
		if statementFailed(err) {
			return ops
		}
		for _, o := range ops {
			o.err = err
		}
		return nil
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fail(err, batch)
	}
	defer c.Release()
	txs, err := s.openGroup(ctx, c, batch)
	if err != nil {
		rollback(ctx, c)
		return fail(err, batch)
	}
	var ok []*op[*ingestOp]
	var okTx []*ingestTx
	for i, o := range batch {
		t := txs[i]
		if t == nil {
			o.err = fmt.Errorf("%w: device %q", hub.ErrNotFound, o.v.device)
			continue
		}
		ferr := o.v.fn(t)
		if ferr == nil && t.saved {
			_, ferr = c.Exec(ctx, "RELEASE SAVEPOINT ingest")
		}
		if ferr == nil {
			ok, okTx = append(ok, o), append(okTx, t)
			continue
		}
		if errors.Is(ferr, errGroupBroken) {
			rollback(ctx, c)
			return append(again, fail(ferr, append(ok, batch[i:]...))...)
		}
		if t.saved {
			if _, err := c.Exec(ctx, "ROLLBACK TO SAVEPOINT ingest"); err != nil {
				rollback(ctx, c)
				return append(again, fail(err, append(ok, batch[i:]...))...)
			}
		}
		if statementFailed(ferr) {
			again = append(again, o) // in the group's transaction: alone, it may pass
			continue
		}
		o.err = ferr
	}
	if len(okTx) == 0 {
		if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
			rollback(ctx, c)
		}
		return again
	}
	if err := flushAll(ctx, c, okTx); err != nil {
		rollback(ctx, c)
		return append(fail(err, ok), again...)
	}
	return again
}

// errGroupBroken: a statement failed outside any savepoint of a group.
var errGroupBroken = errors.New("pgstore: group transaction failed")

// statementFailed reports whether err is a statement's failure (a
// conflict, a deadlock), not the database's unavailability: the
// transaction is lost, and a try in another may pass.
func statementFailed(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch {
	case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57P"), pe.Code == "25006":
		return false
	}
	return true
}

// openGroup opens the group's transaction, locks and reads its devices and
// looks up its records: the ingestion transaction of each operation (nil
// for an unknown device).
func (s *Store) openGroup(ctx context.Context, c *pgxpool.Conn, batch []*op[*ingestOp]) ([]*ingestTx, error) {
	devs := make([]string, 0, len(batch))
	var all [][16]byte
	for _, o := range batch {
		devs = append(devs, o.v.device)
		all = append(all, o.v.ids...)
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT "+deviceCols+" FROM devices WHERE id = ANY($1) ORDER BY id FOR UPDATE", devs)
	var lookups lookup
	if len(all) > 0 {
		lookups = queueLookup(b, s.partitionDays(ctx, all), all)
	}
	br := c.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	type locked struct {
		dev hub.Device
		no  int32
	}
	got := map[string]locked{}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		d, no, err := s.scanDevice(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		got[d.ID] = locked{d, no}
	}
	if rows.Close(); rows.Err() != nil {
		return nil, rows.Err()
	}
	recs, err := s.readLookup(ctx, br, lookups)
	if err == nil {
		err = br.Close()
	}
	if undefinedTable(err) {
		s.forgetPartitions()
	}
	if err != nil {
		return nil, err
	}
	stored := make(map[[16]byte]*hub.StoredRecord, len(recs))
	for i := range recs {
		stored[recs[i].ID] = &recs[i]
	}
	txs := make([]*ingestTx, len(batch))
	for i, o := range batch {
		l, ok := got[o.v.device]
		if !ok {
			continue
		}
		t := s.newIngestTx(ctx, c)
		t.group, t.dev, t.no, t.startNext = true, l.dev, l.no, l.dev.NextSeq
		for _, id := range o.v.ids {
			t.expected[id] = true
			if r, ok := stored[id]; ok {
				cp := *r
				t.known[id] = &cp
			}
		}
		txs[i] = t
	}
	return txs, nil
}

// run opens the transaction, locks and reads the device (and looks up
// ids), calls fn and sends the writes with the commit.
func (t *ingestTx) run(deviceID string, ids [][16]byte, fn func(tx hub.IngestTx) error) error {
	ctx := t.ctx
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT "+deviceCols+" FROM devices WHERE id = $1 FOR UPDATE", deviceID)
	var lookups lookup
	if len(ids) > 0 {
		lookups = queueLookup(b, t.s.partitionDays(ctx, ids), ids)
	}
	br := t.c.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		t.dev, t.no, err = t.s.scanDevice(br.QueryRow())
		if errors.Is(err, pgx.ErrNoRows) {
			err = fmt.Errorf("%w: device %q", hub.ErrNotFound, deviceID)
		}
	}
	if err == nil && len(ids) > 0 {
		var recs []hub.StoredRecord
		if recs, err = t.s.readLookup(ctx, br, lookups); err == nil {
			t.foundRecords(ids, recs)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if undefinedTable(err) {
		t.s.forgetPartitions()
		return fmt.Errorf("%w: %w", errPartitionGone, err)
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
	t.foundRecords(want, recs)
	return nil
}

// foundRecords records the answer of a lookup of want: recs are known,
// the others are known to be absent.
func (t *ingestTx) foundRecords(want [][16]byte, recs []hub.StoredRecord) {
	for _, id := range want {
		t.expected[id] = true
	}
	for i := range recs {
		t.known[recs[i].ID] = &recs[i]
	}
}

type ingestTx struct {
	// group: the transaction is a group's (ingestGroup), whose statements
	// on behalf of this ingestion run inside a savepoint, taken by stmt on
	// the first (saved).
	group, saved bool

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

// stmt is called before each statement the transaction sends on behalf of
// its ingestion's function: in a group, the first takes the savepoint.
func (t *ingestTx) stmt() error {
	if !t.group || t.saved {
		return nil
	}
	if _, err := t.c.Exec(t.ctx, "SAVEPOINT ingest"); err != nil {
		return fmt.Errorf("%w: %w", errGroupBroken, err)
	}
	t.saved = true
	return nil
}

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
	if err := t.stmt(); err != nil {
		return err
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
	if err := t.stmt(); err != nil {
		return hub.StoredRecord{}, false, err
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
	if err := t.stmt(); err != nil {
		return id, false, err
	}
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
	if err := t.stmt(); err != nil {
		return false, err
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

// flush writes what the transaction buffered and commits (flushAll).
func (t *ingestTx) flush() error { return flushAll(t.ctx, t.c, []*ingestTx{t}) }

// flushAll writes what the transactions on c (one, or a group's) buffered
// — the records (COPY for copyMin or more), the rollup deltas and the
// chain heads — and commits, the commit in the same round trip as the
// writes after COPY: a write that fails skips the rest of the batch,
// COMMIT included.
func flushAll(ctx context.Context, c *pgxpool.Conn, txs []*ingestTx) error {
	b := &pgx.Batch{}
	var put []hub.StoredRecord
	for _, t := range txs {
		put = append(put, t.put...)
	}
	if len(put) >= copyMin {
		rows := make([][]any, 0, len(put))
		for _, t := range txs {
			for i := range t.put {
				rows = append(rows, t.row(&t.put[i]))
			}
		}
		if _, err := c.CopyFrom(ctx, pgx.Identifier{"records"}, recordColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
	} else {
		queueInsert(b, txs)
	}
	if len(put) > 0 {
		queueCounters(b, put)
	}
	var nos []int32
	var nexts, seens []int64
	var lasts [][]byte
	for _, t := range txs {
		if t.chain {
			nos, nexts = append(nos, t.no), append(nexts, int64(min(t.dev.NextSeq, math.MaxInt64)))
			lasts, seens = append(lasts, t.dev.LastHash[:]), append(seens, ms(t.dev.LastSeen))
		}
	}
	switch len(nos) {
	case 0:
	case 1:
		b.Queue("UPDATE devices SET next_seq = $2, last_hash = $3, last_seen = $4 WHERE no = $1", nos[0], nexts[0], lasts[0], seens[0])
	default:
		b.Queue(`UPDATE devices d SET next_seq = u.next_seq, last_hash = u.last_hash, last_seen = u.last_seen
			FROM unnest($1::integer[], $2::bigint[], $3::bytea[], $4::bigint[]) AS u (no, next_seq, last_hash, last_seen) WHERE d.no = u.no`,
			nos, nexts, lasts, seens)
	}
	b.Queue("COMMIT")
	return c.SendBatch(ctx, b).Close()
}

// queueInsert queues the insert of the records txs put: one statement for
// those without flags (arrays unnested), one each for the others (an
// array of arrays cannot be unnested row by row).
func queueInsert(b *pgx.Batch, txs []*ingestTx) {
	var cols struct {
		ids                   [][16]byte
		walls, received, seqs []int64
		issuers               []*int64
		nos                   []int32
		kinds                 []int16
		officers, verdicts    []string
		plates, sealed        [][]byte
		stops                 []*string
	}
	for _, t := range txs {
		for i := range t.put {
			r := &t.put[i]
			if len(r.Flags) > 0 {
				b.Queue(`INSERT INTO records (id, wall, received, seq, issuer, device_no, kind, officer, verdict, plate, flags, stop, sealed)
					VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, t.row(r)...)
				continue
			}
			cols.ids, cols.walls, cols.received, cols.seqs = append(cols.ids, r.ID), append(cols.walls, ms(r.Wall)), append(cols.received, ms(r.Received)), append(cols.seqs, int64(r.Seq))
			cols.issuers, cols.nos, cols.kinds = append(cols.issuers, issuerValue(r.Issuer)), append(cols.nos, t.no), append(cols.kinds, int16(r.Kind))
			cols.officers, cols.verdicts, cols.plates = append(cols.officers, r.Officer), append(cols.verdicts, r.Verdict), append(cols.plates, plateValue(r.PlateHash))
			cols.stops, cols.sealed = append(cols.stops, nullText(r.Stop)), append(cols.sealed, r.Sealed)
		}
	}
	if len(cols.ids) == 0 {
		return
	}
	b.Queue(`INSERT INTO records (id, wall, received, seq, issuer, device_no, kind, officer, verdict, plate, stop, sealed)
		SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::integer[], $7::smallint[],
			$8::text[], $9::text[], $10::bytea[], $11::text[], $12::bytea[])`,
		cols.ids, cols.walls, cols.received, cols.seqs, cols.issuers, cols.nos, cols.kinds, cols.officers, cols.verdicts, cols.plates, cols.stops, cols.sealed)
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
