package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// bucketCounters holds the rollups of BoltStore: dimension (1 byte), hour
// (8 bytes, big-endian, biased by 2^63 so negative hours sort first), key →
// total, valid, limited, invalid, flagged (5 × 8 bytes big-endian).
var bucketCounters = []byte("hub.counters")

func counterKey(dim CounterDim, hour int64, key string) []byte {
	k := make([]byte, 0, 9+len(key))
	k = append(k, byte(dim))
	k = binary.BigEndian.AppendUint64(k, uint64(hour)^(1<<63))
	return append(k, key...)
}

func decodeCount(v []byte) (Count, error) {
	if len(v) != 40 {
		return Count{}, damaged("counter", fmt.Errorf("%d bytes", len(v)))
	}
	u := func(i int) int64 { return int64(binary.BigEndian.Uint64(v[8*i:])) }
	return Count{Total: u(0), Valid: u(1), Limited: u(2), Invalid: u(3), Flagged: u(4)}, nil
}

func encodeCount(c Count) []byte {
	v := make([]byte, 0, 40)
	for _, n := range []int64{c.Total, c.Valid, c.Limited, c.Invalid, c.Flagged} {
		v = binary.BigEndian.AppendUint64(v, uint64(n))
	}
	return v
}

// addCounts adds rollup increments (by counterKey) inside tx.
func addCounts(tx *bolt.Tx, counts map[string]Count) error {
	if len(counts) == 0 {
		return nil
	}
	b := tx.Bucket(bucketCounters)
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := counts[k]
		if v := b.Get([]byte(k)); v != nil {
			old, err := decodeCount(v)
			if err != nil {
				return err
			}
			c.Add(old)
		}
		if err := b.Put([]byte(k), encodeCount(c)); err != nil {
			return err
		}
	}
	return nil
}

// Counters implements Store.
func (s *BoltStore) Counters(ctx context.Context, q CounterQuery) ([]CounterRow, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return CombineCounters(q, s.countersRange)
}

// countersRange reads the rows of dim in the hours [from, to).
func (s *BoltStore) countersRange(dim CounterDim, from, to int64, byHour bool) ([]CounterRow, error) {
	var out []CounterRow
	byKey := map[string]Count{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		if b == nil {
			return nil
		}
		end := counterKey(dim, to, "")
		c := b.Cursor()
		for k, v := c.Seek(counterKey(dim, from, "")); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			if len(k) < 9 || CounterDim(k[0]) != dim {
				break
			}
			n, err := decodeCount(v)
			if err != nil {
				return err
			}
			key := string(k[9:])
			if byHour {
				out = append(out, CounterRow{Hour: HourTime(int64(binary.BigEndian.Uint64(k[1:9]) ^ (1 << 63))), Key: key, Count: n})
				continue
			}
			sum := byKey[key]
			sum.Add(n)
			byKey[key] = sum
		}
		return nil
	})
	if err != nil || byHour {
		return out, err
	}
	for k, c := range byKey {
		out = append(out, CounterRow{Key: k, Count: c})
	}
	slices.SortFunc(out, func(a, b CounterRow) int { return bytes.Compare([]byte(a.Key), []byte(b.Key)) })
	return out, nil
}

// retainChunk bounds the deletions of one write transaction of Retain, so
// that ingestion is never held up for long.
const retainChunk = 5000

// Retain implements Store by range deletion: records (with their sequence
// and stop index entries) in id order up to the cutoff, flags likewise,
// then the rollups of the hours before it, in transactions of at most
// retainChunk deletions.
func (s *BoltStore) Retain(ctx context.Context, before time.Time) (RetainReport, error) {
	var rep RetainReport
	cut := ulidAt(before.UnixMilli())
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			recs := tx.Bucket(storage.BucketHubRecords)
			seqs, stops := tx.Bucket(storage.BucketHubDeviceSeq), tx.Bucket(storage.BucketHubStops)
			c := recs.Cursor()
			for k, v := c.First(); k != nil && bytes.Compare(k, cut) < 0 && n < retainChunk; k, v = c.First() {
				r, err := decodeRecord(k, v)
				if err != nil {
					return err
				}
				if err := seqs.Delete(seqKey(r.Device, r.Seq)); err != nil {
					return err
				}
				if r.Stop != "" {
					if err := stops.Delete(stopKey(r.Stop, k)); err != nil {
						return err
					}
				}
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		rep.Records += int64(n)
		if n < retainChunk {
			break
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			c := tx.Bucket(storage.BucketHubFlags).Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k, cut) < 0 && n < retainChunk; k, _ = c.First() {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		rep.Flags += int64(n)
		if n < retainChunk {
			break
		}
	}
	// Dedupe keys of deleted flags, and rollups.
	err := s.db.Update(func(tx *bolt.Tx) error {
		keys := tx.Bucket(storage.BucketHubFlagKeys)
		var gone [][]byte
		if err := keys.ForEach(func(k, v []byte) error {
			if bytes.Compare(v, cut) < 0 {
				gone = append(gone, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range gone {
			if err := keys.Delete(k); err != nil {
				return err
			}
		}
		b := tx.Bucket(bucketCounters)
		hour := HourOf(before)
		for _, dim := range CounterDims {
			c := b.Cursor()
			end := counterKey(dim, hour, "")
			for k, _ := c.Seek([]byte{byte(dim)}); k != nil && k[0] == byte(dim) && bytes.Compare(k, end) < 0; k, _ = c.Seek([]byte{byte(dim)}) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return rep, err
}
