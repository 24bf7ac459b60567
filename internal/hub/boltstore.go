package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// BoltStore is the Store on a bbolt file (the hub's database). The trust
// feed's objects are files in a directory beside it, named from its path
// (hub.db → hub.db.objects), their metadata and the manifest in the file.
type BoltStore struct {
	// scanLimit bounds the records one query page examines.
	scanLimit int
	db        *storage.DB
	objDir    string
	objMu     sync.Mutex // PutObject against PruneObjects' sweep of leftovers
}

// ObjectsDirFor is the directory of the trust feed's objects of the hub
// database at dbPath.
func ObjectsDirFor(dbPath string) string { return dbPath + ".objects" }

// NewBoltStore creates the hub's buckets in db if needed, and the feed's
// epoch (a random hub id) when db has none. When the feed's marker in the
// objects directory shows a newer feed state than db holds — db was
// restored from a backup — it starts a new generation, so terminals that
// followed the newer state are not stalled.
func NewBoltStore(ctx context.Context, db *storage.DB) (*BoltStore, error) {
	err := db.CreateBuckets(ctx, storage.BucketHubTokens, storage.BucketHubDevices, storage.BucketHubRecords,
		storage.BucketHubDeviceSeq, storage.BucketHubFlags, storage.BucketHubFlagKeys, storage.BucketHubFeedState, storage.BucketHubFeedObjects, storage.BucketHubStops,
		bucketCounters)
	if err != nil && !errors.Is(err, storage.ErrReadOnly) {
		return nil, fmt.Errorf("hub: init buckets: %w", err)
	}
	s := &BoltStore{db: db, objDir: ObjectsDirFor(db.Path()), scanLimit: scanLimit}
	if err := s.initFeed(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Persisted forms (CBOR, integer keys).
type boltToken struct {
	Role    string `cbor:"1,keyasint"`
	Label   string `cbor:"2,keyasint,omitempty"`
	Created int64  `cbor:"3,keyasint"`
	Expires int64  `cbor:"4,keyasint,omitempty"`
	UsedBy  string `cbor:"5,keyasint,omitempty"`
	Revoked int64  `cbor:"6,keyasint,omitempty"`
}

type boltDevice struct {
	PublicKey []byte `cbor:"1,keyasint"`
	Label     string `cbor:"2,keyasint,omitempty"`
	Enrolled  int64  `cbor:"3,keyasint"`
	NextSeq   uint64 `cbor:"4,keyasint"`
	LastHash  []byte `cbor:"5,keyasint"`
	LastSeen  int64  `cbor:"6,keyasint,omitempty"`
	Revoked   int64  `cbor:"7,keyasint,omitempty"`
}

type boltRecord struct {
	Device    string   `cbor:"1,keyasint"`
	Seq       uint64   `cbor:"2,keyasint"`
	Hash      []byte   `cbor:"3,keyasint"`
	Wall      int64    `cbor:"4,keyasint"`
	Received  int64    `cbor:"5,keyasint"`
	Officer   string   `cbor:"6,keyasint,omitempty"`
	Verdict   string   `cbor:"7,keyasint"`
	Kind      uint8    `cbor:"8,keyasint,omitempty"`
	PlateHash []byte   `cbor:"9,keyasint,omitempty"`
	Flags     []string `cbor:"10,keyasint,omitempty"`
	Sealed    []byte   `cbor:"11,keyasint"`
	Stop      string   `cbor:"12,keyasint,omitempty"`
	Issuer    []byte   `cbor:"13,keyasint,omitempty"`
}

type boltFlag struct {
	Device   string `cbor:"1,keyasint"`
	Kind     string `cbor:"2,keyasint"`
	Reason   string `cbor:"3,keyasint,omitempty"`
	FromSeq  uint64 `cbor:"4,keyasint,omitempty"`
	ToSeq    uint64 `cbor:"5,keyasint,omitempty"`
	RecordID string `cbor:"6,keyasint,omitempty"`
	Detail   string `cbor:"7,keyasint"`
	At       int64  `cbor:"8,keyasint"`
}

func msOf(t time.Time) int64    { return storage.Millis(t) }
func timeOf(ms int64) time.Time { return storage.FromMillis(ms) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func damaged(what string, err error) error {
	return fmt.Errorf("%w: %s: %v", storage.ErrDamaged, what, err)
}

// PutToken implements Store.
func (s *BoltStore) PutToken(ctx context.Context, t Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := encodeToken(t)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(storage.BucketHubTokens).Put(t.Hash[:], v) })
}

func encodeToken(t Token) ([]byte, error) {
	return cbor.Marshal(boltToken{Role: string(t.Role), Label: t.Label, Created: msOf(t.Created), Expires: msOf(t.Expires),
		UsedBy: t.UsedBy, Revoked: msOf(t.Revoked)})
}

// Tokens implements Store.
func (s *BoltStore) Tokens(ctx context.Context) ([]Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Token
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(storage.BucketHubTokens).ForEach(func(k, v []byte) error {
			if len(k) != gm.SM3Size {
				return damaged("token key", fmt.Errorf("%d bytes", len(k)))
			}
			t, err := decodeToken([gm.SM3Size]byte(k), v)
			out = append(out, t)
			return err
		})
	})
	return out, err
}

// RevokeToken implements Store.
func (s *BoltStore) RevokeToken(ctx context.Context, hash [gm.SM3Size]byte, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubTokens)
		v := b.Get(hash[:])
		if v == nil {
			return fmt.Errorf("%w: token %s", ErrNotFound, TokenID(hash))
		}
		t, err := decodeToken(hash, v)
		if err != nil || !t.Revoked.IsZero() {
			return err
		}
		t.Revoked = at
		nv, err := encodeToken(t)
		if err != nil {
			return err
		}
		return b.Put(hash[:], nv)
	})
}

func decodeToken(hash [gm.SM3Size]byte, v []byte) (Token, error) {
	var bt boltToken
	if err := cbor.Unmarshal(v, &bt); err != nil {
		return Token{}, damaged("token", err)
	}
	return Token{Hash: hash, Role: Role(bt.Role), Label: bt.Label, Created: timeOf(bt.Created), Expires: timeOf(bt.Expires),
		UsedBy: bt.UsedBy, Revoked: timeOf(bt.Revoked)}, nil
}

// Token implements Store.
func (s *BoltStore) Token(ctx context.Context, hash [gm.SM3Size]byte) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	var t Token
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(storage.BucketHubTokens).Get(hash[:])
		if v == nil {
			return ErrNotFound
		}
		var err error
		t, err = decodeToken(hash, v)
		return err
	})
	return t, err
}

// Enroll implements Store.
func (s *BoltStore) Enroll(ctx context.Context, hash [gm.SM3Size]byte, dev Device, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		tb := tx.Bucket(storage.BucketHubTokens)
		v := tb.Get(hash[:])
		if v == nil {
			return ErrTokenInvalid
		}
		t, err := decodeToken(hash, v)
		if err != nil {
			return err
		}
		if !t.Revoked.IsZero() {
			return ErrTokenInvalid
		}
		db := tx.Bucket(storage.BucketHubDevices)
		if v := db.Get([]byte(dev.ID)); v != nil {
			old, err := decodeDevice(dev.ID, v)
			if err != nil {
				return err
			}
			if !old.Revoked.IsZero() {
				return fmt.Errorf("%w: %s", ErrDeviceRevoked, dev.ID)
			}
			if t.Role == RoleDevice && t.UsedBy == dev.ID && bytes.Equal(old.PublicKey, dev.PublicKey) {
				return nil // the same device again (its first answer was lost): idempotent
			}
		}
		if t.Role != RoleDevice || t.UsedBy != "" || (!t.Expires.IsZero() && now.After(t.Expires)) {
			return ErrTokenInvalid
		}
		if db.Get([]byte(dev.ID)) != nil {
			return fmt.Errorf("%w: %s", ErrDeviceExists, dev.ID)
		}
		if err := putDevice(db, dev); err != nil {
			return err
		}
		t.UsedBy = dev.ID
		nv, err := encodeToken(t)
		if err != nil {
			return err
		}
		return tb.Put(hash[:], nv)
	})
}

func putDevice(b *bolt.Bucket, d Device) error {
	v, err := cbor.Marshal(boltDevice{PublicKey: d.PublicKey, Label: d.Label, Enrolled: msOf(d.Enrolled), NextSeq: d.NextSeq,
		LastHash: d.LastHash[:], LastSeen: msOf(d.LastSeen), Revoked: msOf(d.Revoked)})
	if err != nil {
		return err
	}
	return b.Put([]byte(d.ID), v)
}

func decodeDevice(id string, v []byte) (Device, error) {
	var bd boltDevice
	if err := cbor.Unmarshal(v, &bd); err != nil || len(bd.LastHash) != gm.SM3Size {
		return Device{}, damaged("device "+id, err)
	}
	return Device{ID: id, PublicKey: bd.PublicKey, Label: bd.Label, Enrolled: timeOf(bd.Enrolled), NextSeq: bd.NextSeq,
		LastHash: [gm.SM3Size]byte(bd.LastHash), LastSeen: timeOf(bd.LastSeen), Revoked: timeOf(bd.Revoked)}, nil
}

// RevokeDevice implements Store.
func (s *BoltStore) RevokeDevice(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketHubDevices)
		v := b.Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: device %q", ErrNotFound, id)
		}
		d, err := decodeDevice(id, v)
		if err != nil || !d.Revoked.IsZero() {
			return err
		}
		d.Revoked = at
		return putDevice(b, d)
	})
}

// Device implements Store.
func (s *BoltStore) Device(ctx context.Context, id string) (Device, error) {
	return storage.GetDecoded(ctx, s.db, storage.BucketHubDevices, id, "device", ErrNotFound, decodeDevice)
}

// Devices implements Store.
func (s *BoltStore) Devices(ctx context.Context) ([]Device, error) {
	return storage.AllDecoded(ctx, s.db, storage.BucketHubDevices, decodeDevice)
}

type boltIngest struct {
	tx  *bolt.Tx
	dev Device
	// counts are the rollup increments of the records put, written when
	// the transaction's function returns.
	counts map[string]Count
}

func (t *boltIngest) Device() Device { return t.dev }

func (t *boltIngest) SetChain(next uint64, last [gm.SM3Size]byte, seen time.Time) error {
	t.dev.NextSeq, t.dev.LastHash, t.dev.LastSeen = next, last, seen
	return putDevice(t.tx.Bucket(storage.BucketHubDevices), t.dev)
}

func (t *boltIngest) Record(id [16]byte) (StoredRecord, bool, error) {
	v := t.tx.Bucket(storage.BucketHubRecords).Get(id[:])
	if v == nil {
		return StoredRecord{}, false, nil
	}
	r, err := decodeRecord(id[:], v)
	return r, err == nil, err
}

func seqKey(device string, seq uint64) []byte {
	k := append([]byte(device), 0)
	return append(k, u64(seq)...)
}

func (t *boltIngest) RecordAt(seq uint64) ([16]byte, bool, error) {
	v := t.tx.Bucket(storage.BucketHubDeviceSeq).Get(seqKey(t.dev.ID, seq))
	if v == nil {
		return [16]byte{}, false, nil
	}
	if len(v) != 16 {
		return [16]byte{}, false, damaged("sequence index", fmt.Errorf("%d bytes", len(v)))
	}
	return [16]byte(v), true, nil
}

func (t *boltIngest) PutRecord(r StoredRecord) error {
	v, err := cbor.Marshal(boltRecord{Device: r.Device, Seq: r.Seq, Hash: r.Hash[:], Wall: msOf(r.Wall), Received: msOf(r.Received),
		Officer: r.Officer, Verdict: r.Verdict, Kind: r.Kind, PlateHash: r.PlateHash, Flags: r.Flags, Sealed: r.Sealed, Stop: r.Stop,
		Issuer: r.Issuer})
	if err != nil {
		return err
	}
	if t.counts == nil {
		t.counts = map[string]Count{}
	}
	c := CountOf(&r)
	for _, k := range CounterKeys(&r) {
		ck := string(counterKey(k.Dim, k.Hour, k.Key))
		sum := t.counts[ck]
		sum.Add(c)
		t.counts[ck] = sum
	}
	b := t.tx.Bucket(storage.BucketHubRecords)
	b.FillPercent = 0.9 // ids grow mostly in order
	if err := b.Put(r.ID[:], v); err != nil {
		return err
	}
	if r.Stop != "" {
		if err := t.tx.Bucket(storage.BucketHubStops).Put(stopKey(r.Stop, r.ID[:]), []byte{}); err != nil {
			return err
		}
	}
	return t.tx.Bucket(storage.BucketHubDeviceSeq).Put(seqKey(r.Device, r.Seq), r.ID[:])
}

func (t *boltIngest) PutFlag(f Flag) (bool, error) {
	if f.Key != ([gm.SM3Size]byte{}) {
		keys := t.tx.Bucket(storage.BucketHubFlagKeys)
		if keys.Get(f.Key[:]) != nil {
			return false, nil
		}
		if err := keys.Put(f.Key[:], f.ID[:]); err != nil {
			return false, err
		}
	}
	return true, putFlag(t.tx, f)
}

func putFlag(tx *bolt.Tx, f Flag) error {
	v, err := cbor.Marshal(boltFlag{Device: f.Device, Kind: f.Kind, Reason: f.Reason, FromSeq: f.FromSeq, ToSeq: f.ToSeq,
		RecordID: f.RecordID, Detail: f.Detail, At: msOf(f.At)})
	if err != nil {
		return err
	}
	return tx.Bucket(storage.BucketHubFlags).Put(f.ID[:], v)
}

func decodeRecord(k, v []byte) (StoredRecord, error) {
	var br boltRecord
	if err := cbor.Unmarshal(v, &br); err != nil || len(br.Hash) != gm.SM3Size || len(k) != 16 {
		return StoredRecord{}, damaged("record", err)
	}
	return StoredRecord{ID: [16]byte(k), Device: br.Device, Seq: br.Seq, Hash: [gm.SM3Size]byte(br.Hash), Wall: timeOf(br.Wall),
		Received: timeOf(br.Received), Officer: br.Officer, Verdict: br.Verdict, Kind: br.Kind, PlateHash: br.PlateHash,
		Flags: br.Flags, Sealed: br.Sealed, Stop: br.Stop, Issuer: br.Issuer}, nil
}

// stopKey is the BucketHubStops key of a record of stop: stop id, 0x00,
// then the record id (empty id: the prefix of the stop's keys).
func stopKey(stop string, id []byte) []byte {
	k := append([]byte(stop), 0)
	return append(k, id...)
}

// Ingest implements Store. bbolt has one writer at a time, so transactions
// of the same device never interleave. Concurrent ingestions are committed
// together (bbolt's DB.Batch: one fsync for many pushes); fn may then run
// more than once — when another function of the batch fails, the batch is
// rolled back and run again without it — so it must not keep state across
// runs (the server's does not).
func (s *BoltStore) Ingest(ctx context.Context, deviceID string, fn func(tx IngestTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.db.ReadOnly() {
		return fmt.Errorf("%w: %w", ErrUnavailable, storage.ErrReadOnly)
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		v := tx.Bucket(storage.BucketHubDevices).Get([]byte(deviceID))
		if v == nil {
			return fmt.Errorf("%w: device %q", ErrNotFound, deviceID)
		}
		d, err := decodeDevice(deviceID, v)
		if err != nil {
			return err
		}
		it := &boltIngest{tx: tx, dev: d}
		if err := fn(it); err != nil {
			return err
		}
		return addCounts(tx, it.counts)
	})
}

// scanLimit bounds the records one query page examines, so a selective
// filter over a large range cannot hold a read transaction for long.
const scanLimit = 200_000

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

func (q *RecordQuery) match(r *StoredRecord) bool {
	switch {
	case q.Device != "" && r.Device != q.Device,
		q.Officer != "" && r.Officer != q.Officer,
		q.Verdict != "" && r.Verdict != q.Verdict,
		q.Kind != 0 && r.Kind != q.Kind,
		q.PlateHash != nil && !bytes.Equal(r.PlateHash, q.PlateHash),
		q.Stop != "" && r.Stop != q.Stop,
		q.Issuer != nil && !bytes.Equal(r.Issuer, q.Issuer),
		q.FlaggedOnly && len(r.Flags) == 0,
		!q.From.IsZero() && r.Wall.Before(q.From),
		!q.To.IsZero() && r.Wall.After(q.To):
		return false
	}
	return true
}

// ulidAt is the smallest ULID of millisecond ms.
func ulidAt(ms int64) []byte {
	k := make([]byte, 16)
	if ms > 0 {
		var t [8]byte
		binary.BigEndian.PutUint64(t[:], uint64(ms))
		copy(k, t[2:])
	}
	return k
}

func ulidMS(k []byte) int64 {
	var t [8]byte
	copy(t[2:], k[:6])
	return int64(binary.BigEndian.Uint64(t[:]))
}

// Records implements Store.
func (s *BoltStore) Records(ctx context.Context, q RecordQuery) ([]StoredRecord, bool, error) {
	return RecordsOf(func(q RecordQuery) (RecordPage, error) { return s.QueryRecords(ctx, q) }, q)
}

// QueryRecords implements Store. Record ids are ULIDs of the device's wall
// time, so a time range is a key range; other filters are checked on each
// record scanned, at most scanLimit per page (the stop filter uses its
// index).
func (s *BoltStore) QueryRecords(ctx context.Context, q RecordQuery) (RecordPage, error) {
	if err := ctx.Err(); err != nil {
		return RecordPage{}, err
	}
	limit := pageLimit(q.Limit)
	var p RecordPage
	err := s.db.View(func(tx *bolt.Tx) error {
		if q.Stop != "" {
			var err error
			p, err = stopRecords(tx, &q, limit)
			return err
		}
		c := tx.Bucket(storage.BucketHubRecords).Cursor()
		start := ulidAt(msOf(q.From))
		var k, v []byte
		if q.After != ([16]byte{}) && bytes.Compare(q.After[:], start) >= 0 {
			k, v = c.Seek(q.After[:])
			if bytes.Equal(k, q.After[:]) {
				k, v = c.Next()
			}
		} else {
			k, v = c.Seek(start)
		}
		scanned := 0
		for ; k != nil; k, v = c.Next() {
			if !q.To.IsZero() && ulidMS(k) > q.To.UnixMilli() {
				return nil
			}
			if scanned == s.scanLimit {
				// The last key scanned is where the next page starts,
				// whether or not this page holds a record.
				p.More, p.Scanned = true, true
				return nil
			}
			scanned++
			r, err := decodeRecord(k, v)
			if err != nil {
				return err
			}
			copy(p.Next[:], k)
			if !q.match(&r) {
				continue
			}
			if len(p.Records) == limit {
				p.More, p.Next = true, p.Records[limit-1].ID
				return nil
			}
			p.Records = append(p.Records, r)
		}
		return nil
	})
	if !p.More {
		p.Next = [16]byte{}
	}
	return p, err
}

// stopRecords answers a query for the records of one stop from the stop
// index, in record id order.
func stopRecords(tx *bolt.Tx, q *RecordQuery, limit int) (RecordPage, error) {
	var p RecordPage
	recs := tx.Bucket(storage.BucketHubRecords)
	prefix := stopKey(q.Stop, nil)
	stops := tx.Bucket(storage.BucketHubStops)
	if stops == nil { // a read-only database from before stops
		return p, nil
	}
	c := stops.Cursor()
	k, _ := c.Seek(stopKey(q.Stop, q.After[:]))
	if q.After != ([16]byte{}) && bytes.Equal(k, stopKey(q.Stop, q.After[:])) {
		k, _ = c.Next()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		id := k[len(prefix):]
		v := recs.Get(id)
		if v == nil || len(id) != 16 {
			return RecordPage{}, damaged("stop index", fmt.Errorf("no record %x", id))
		}
		r, err := decodeRecord(id, v)
		if err != nil {
			return RecordPage{}, err
		}
		if !q.match(&r) {
			continue
		}
		if len(p.Records) == limit {
			p.More, p.Next = true, p.Records[limit-1].ID
			return p, nil
		}
		p.Records = append(p.Records, r)
	}
	return p, nil
}

// SetScanLimit sets how many records one query page examines at most
// (tests; the default is 200,000).
func (s *BoltStore) SetScanLimit(n int) { s.scanLimit = max(n, 1) }

// CountRecords implements Store.
func (s *BoltStore) CountRecords(ctx context.Context, device string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if device == "" {
			n = tx.Bucket(storage.BucketHubRecords).Stats().KeyN
			return nil
		}
		c := tx.Bucket(storage.BucketHubDeviceSeq).Cursor()
		prefix := append([]byte(device), 0)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// Flags implements Store.
func (s *BoltStore) Flags(ctx context.Context, q FlagQuery) ([]Flag, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	limit := pageLimit(q.Limit)
	var (
		out  []Flag
		more bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(storage.BucketHubFlags).Cursor()
		// Flag ids are ULIDs of their time: a time range is a key range.
		start := ulidAt(msOf(q.From))
		if bytes.Compare(q.After[:], start) > 0 {
			start = q.After[:]
		}
		k, v := c.Seek(start)
		if bytes.Equal(k, q.After[:]) {
			k, v = c.Next()
		}
		for ; k != nil; k, v = c.Next() {
			if !q.To.IsZero() && ulidMS(k) > q.To.UnixMilli() {
				return nil
			}
			var bf boltFlag
			if err := cbor.Unmarshal(v, &bf); err != nil || len(k) != 16 {
				return damaged("flag", err)
			}
			at := timeOf(bf.At)
			if (q.Device != "" && bf.Device != q.Device) || (q.Kind != "" && bf.Kind != q.Kind) ||
				(!q.From.IsZero() && at.Before(q.From)) || (!q.To.IsZero() && at.After(q.To)) {
				continue
			}
			if len(out) == limit {
				more = true
				return nil
			}
			out = append(out, Flag{ID: [16]byte(k), Device: bf.Device, Kind: bf.Kind, Reason: bf.Reason, FromSeq: bf.FromSeq,
				ToSeq: bf.ToSeq, RecordID: bf.RecordID, Detail: bf.Detail, At: timeOf(bf.At)})
		}
		return nil
	})
	return out, more, err
}

var _ Store = (*BoltStore)(nil)
