package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// BoltStore is the Store in the hub's bbolt file (buckets
// storage.BucketHubAudit*).
type BoltStore struct {
	db *storage.DB
}

// NewBoltStore creates the audit buckets in db if needed.
func NewBoltStore(ctx context.Context, db *storage.DB) (*BoltStore, error) {
	err := db.CreateBuckets(ctx, storage.BucketHubAudit, storage.BucketHubAuditCheckpoints, storage.BucketHubAuditMeta)
	if err != nil && !errors.Is(err, storage.ErrReadOnly) {
		return nil, fmt.Errorf("audit: init buckets: %w", err)
	}
	return &BoltStore{db: db}, nil
}

// boltEntry is an entry as stored (CBOR, integer keys).
type boltEntry struct {
	At      int64    `cbor:"1,keyasint"`
	Who     string   `cbor:"2,keyasint,omitempty"`
	Role    string   `cbor:"3,keyasint,omitempty"`
	Source  string   `cbor:"4,keyasint,omitempty"`
	Action  string   `cbor:"5,keyasint"`
	Outcome string   `cbor:"6,keyasint"`
	Status  int      `cbor:"7,keyasint,omitempty"`
	Filters string   `cbor:"8,keyasint,omitempty"`
	Rows    int      `cbor:"9,keyasint,omitempty"`
	Fields  []string `cbor:"10,keyasint,omitempty"`
	Reason  string   `cbor:"11,keyasint,omitempty"`
	Detail  string   `cbor:"12,keyasint,omitempty"`
	Prev    []byte   `cbor:"13,keyasint"`
	Hash    []byte   `cbor:"14,keyasint"`
	Nonce   string   `cbor:"15,keyasint,omitempty"`
}

type boltCheckpoint struct {
	Seq   uint64 `cbor:"1,keyasint"`
	Hash  []byte `cbor:"2,keyasint"`
	At    int64  `cbor:"3,keyasint"`
	KeyID string `cbor:"4,keyasint"`
	Sig   []byte `cbor:"5,keyasint"`
}

var keyAnchor = []byte("anchor")

func damaged(what string, err error) error {
	return fmt.Errorf("%w: audit %s: %v", storage.ErrDamaged, what, err)
}

func encodeEntry(e *Entry) ([]byte, error) {
	return cbor.Marshal(boltEntry{At: e.At.UnixMilli(), Who: e.Who, Role: e.Role, Source: e.Source, Action: e.Action, Outcome: e.Outcome,
		Status: e.Status, Filters: e.Filters, Rows: e.Rows, Fields: e.Fields, Reason: e.Reason, Detail: e.Detail, Prev: e.Prev[:], Hash: e.Hash[:], Nonce: e.Nonce})
}

func decodeEntry(k, v []byte) (Entry, error) {
	var b boltEntry
	if err := cbor.Unmarshal(v, &b); err != nil || len(k) != 8 || len(b.Prev) != gm.SM3Size || len(b.Hash) != gm.SM3Size {
		return Entry{}, damaged(fmt.Sprintf("entry %x", k), err)
	}
	return Entry{Seq: binary.BigEndian.Uint64(k), At: time.UnixMilli(b.At), Who: b.Who, Role: b.Role, Source: b.Source, Action: b.Action,
		Outcome: b.Outcome, Status: b.Status, Filters: b.Filters, Rows: b.Rows, Fields: b.Fields, Reason: b.Reason, Detail: b.Detail,
		Prev: [gm.SM3Size]byte(b.Prev), Hash: [gm.SM3Size]byte(b.Hash), Nonce: b.Nonce}, nil
}

func encodeCheckpoint(c *Checkpoint) ([]byte, error) {
	return cbor.Marshal(boltCheckpoint{Seq: c.Seq, Hash: c.Hash[:], At: c.At.UnixMilli(), KeyID: c.KeyID, Sig: c.Sig})
}

func decodeCheckpoint(v []byte) (Checkpoint, error) {
	var b boltCheckpoint
	if err := cbor.Unmarshal(v, &b); err != nil || len(b.Hash) != gm.SM3Size {
		return Checkpoint{}, damaged("checkpoint", err)
	}
	return Checkpoint{Seq: b.Seq, Hash: [gm.SM3Size]byte(b.Hash), At: time.UnixMilli(b.At), KeyID: b.KeyID, Sig: bytes.Clone(b.Sig)}, nil
}

func headOf(tx *bolt.Tx) (Head, error) {
	k, v := tx.Bucket(storage.BucketHubAudit).Cursor().Last()
	if k != nil {
		e, err := decodeEntry(k, v)
		if err != nil {
			return Head{}, err
		}
		return Head{Seq: e.Seq, Hash: e.Hash, At: e.At}, nil
	}
	if v := tx.Bucket(storage.BucketHubAuditMeta).Get(keyAnchor); v != nil {
		a, err := decodeCheckpoint(v)
		if err != nil {
			return Head{}, err
		}
		return Head{Seq: a.Seq, Hash: a.Hash, At: a.At}, nil
	}
	return Head{}, nil
}

// AuditHead implements Store.
func (s *BoltStore) AuditHead(ctx context.Context) (Head, error) {
	if err := ctx.Err(); err != nil {
		return Head{}, err
	}
	var h Head
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		h, err = headOf(tx)
		return err
	})
	return h, err
}

// AppendAudit implements Store.
func (s *BoltStore) AppendAudit(ctx context.Context, entries []Entry, checkpoints []Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return appendTx(tx, entries, checkpoints) })
}

// AppendChained implements ChainAppender.
func (s *BoltStore) AppendChained(ctx context.Context, fn func(head Head) ([]Entry, []Checkpoint, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		h, err := headOf(tx)
		if err != nil {
			return err
		}
		entries, cps, err := fn(h)
		if err != nil {
			return err
		}
		return appendTx(tx, entries, cps)
	})
}

func appendTx(tx *bolt.Tx, entries []Entry, checkpoints []Checkpoint) error {
	if len(entries) > 0 {
		h, err := headOf(tx)
		if err != nil {
			return err
		}
		if entries[0].Seq != h.Seq+1 || entries[0].Prev != h.Hash {
			return fmt.Errorf("%w: entry %d after stored head %d", ErrConflict, entries[0].Seq, h.Seq)
		}
	}
	b := tx.Bucket(storage.BucketHubAudit)
	b.FillPercent = 1 // append-only
	for i := range entries {
		if i > 0 && (entries[i].Seq != entries[i-1].Seq+1 || entries[i].Prev != entries[i-1].Hash) {
			return fmt.Errorf("%w: entries %d and %d are not consecutive", ErrBadInput, entries[i-1].Seq, entries[i].Seq)
		}
		v, err := encodeEntry(&entries[i])
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(entries[i].Seq), v); err != nil {
			return err
		}
	}
	cb := tx.Bucket(storage.BucketHubAuditCheckpoints)
	cb.FillPercent = 1
	for i := range checkpoints {
		v, err := encodeCheckpoint(&checkpoints[i])
		if err != nil {
			return err
		}
		if err := cb.Put(seqKey(checkpoints[i].Seq), v); err != nil {
			return err
		}
	}
	return nil
}

// AuditEntries implements Store.
func (s *BoltStore) AuditEntries(ctx context.Context, q Query) ([]Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	limit := q.limit()
	who := strings.ToLower(q.Who)
	var (
		out  []Entry
		more bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(storage.BucketHubAudit).Cursor()
		for k, v := c.Seek(seqKey(q.After + 1)); k != nil; k, v = c.Next() {
			e, err := decodeEntry(k, v)
			if err != nil {
				return err
			}
			if !q.From.IsZero() && e.At.Before(q.From) || !q.To.IsZero() && e.At.After(q.To) ||
				who != "" && !strings.Contains(strings.ToLower(e.Who), who) {
				continue
			}
			if len(out) == limit {
				more = true
				return nil
			}
			out = append(out, e)
		}
		return nil
	})
	return out, more, err
}

// AuditCheckpoints implements Store.
func (s *BoltStore) AuditCheckpoints(ctx context.Context, after uint64, limit int) ([]Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Checkpoint
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(storage.BucketHubAuditCheckpoints).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) == limit {
				return nil
			}
			cp, err := decodeCheckpoint(v)
			if err != nil {
				return err
			}
			out = append(out, cp)
		}
		return nil
	})
	return out, err
}

// AuditAnchor implements Store.
func (s *BoltStore) AuditAnchor(ctx context.Context) (Checkpoint, bool, error) {
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, false, err
	}
	var (
		a     Checkpoint
		found bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(storage.BucketHubAuditMeta).Get(keyAnchor)
		if v == nil {
			return nil
		}
		var err error
		a, err = decodeCheckpoint(v)
		found = err == nil
		return err
	})
	return a, found, err
}

// RotateAudit implements Store.
func (s *BoltStore) RotateAudit(ctx context.Context, anchor Checkpoint) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		cb := tx.Bucket(storage.BucketHubAuditCheckpoints)
		v := bytes.Clone(cb.Get(seqKey(anchor.Seq)))
		if v == nil {
			return fmt.Errorf("%w: no checkpoint at entry %d", ErrBadInput, anchor.Seq)
		}
		stored, err := decodeCheckpoint(v)
		if err != nil {
			return err
		}
		if stored.Hash != anchor.Hash || !bytes.Equal(stored.Sig, anchor.Sig) {
			return fmt.Errorf("%w: checkpoint %d differs from the stored one", ErrBadInput, anchor.Seq)
		}
		meta := tx.Bucket(storage.BucketHubAuditMeta)
		if old := meta.Get(keyAnchor); old != nil {
			a, err := decodeCheckpoint(old)
			if err != nil {
				return err
			}
			if a.Seq >= anchor.Seq {
				return fmt.Errorf("%w: the log is already rotated to entry %d", ErrBadInput, a.Seq)
			}
		}
		for _, name := range [][]byte{storage.BucketHubAudit, storage.BucketHubAuditCheckpoints} {
			b := tx.Bucket(name)
			c := b.Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= anchor.Seq; k, _ = c.First() {
				if err := c.Delete(); err != nil {
					return err
				}
				if bytes.Equal(name, storage.BucketHubAudit) {
					n++
				}
			}
		}
		return meta.Put(keyAnchor, v)
	})
	return n, err
}

var (
	_ Store         = (*BoltStore)(nil)
	_ ChainAppender = (*BoltStore)(nil)
)
