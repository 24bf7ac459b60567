package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
)

// evidence is what the sealed part of a stored record holds.
type evidence struct {
	Body []byte `cbor:"1,keyasint"`
	Sig  []byte `cbor:"2,keyasint"`
}

// checked is one pushed record after the work that needs no transaction.
type checked struct {
	rec    *records.Record
	hash   [gm.SM3Size]byte
	err    error // records.ErrMalformed or ErrBadSignature
	stored StoredRecord
}

func (s *Server) newFlagID(now time.Time) [16]byte {
	u, err := ulid.New(uint64(max(now.UnixMilli(), 0)), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return [16]byte(u)
}

// check decodes, verifies and seals the records of a batch, in parallel.
//
// Signatures are checked once per linked run: records that follow each
// other in the batch with consecutive sequence numbers, each naming the
// SM3 hash of the one before as its Prev, form a run, and the device
// signature of the run's newest record covers its Prev, hence every
// earlier record of the run. So a run whose newest signature verifies is
// authentic as a whole, at the cost of one SM2 verification instead of one
// per record; a run whose newest signature fails has each of its records
// checked alone, so that every reject names the record at fault. A record
// edited after signing changes its hash and so ends its run: it is always
// checked alone.
//
// WARNING: the individual signature of a record that is not the newest of
// its run is stored as delivered without being checked. Its content is
// authenticated (by the run's newest signature, and the whole body by the
// request signature), but only the device key holder can have put a
// non-verifying signature there, and one that does not verify alone proves
// nothing about its record to a third party without the run's chain.
func (s *Server) check(dev Device, pub *gm.PublicKey, in []wire.PushRecord, now time.Time) []checked {
	out := make([]checked, len(in))
	parallel(len(in), func(i int) {
		c, p := &out[i], in[i]
		if c.rec, c.err = records.DecodeCanonical(p.Body); c.rec != nil {
			c.hash = records.Hash(p.Body)
		}
	})
	// The runs, by their newest record.
	var ends []int
	for i := range out {
		if out[i].rec != nil && (i+1 == len(out) || !links(&out[i], &out[i+1])) {
			ends = append(ends, i)
		}
	}
	verify := func(i int) {
		if ok, err := pub.Verify(in[i].Body, in[i].Sig); err != nil || !ok {
			out[i].err = records.ErrBadSignature
		}
	}
	parallel(len(ends), func(k int) { verify(ends[k]) })
	var alone []int
	for k, e := range ends {
		if out[e].err == nil {
			continue
		}
		for i := e - 1; i >= 0 && (k == 0 || i > ends[k-1]) && out[i].rec != nil; i-- {
			alone = append(alone, i)
		}
	}
	parallel(len(alone), func(k int) { verify(alone[k]) })
	parallel(len(in), func(i int) {
		c, p := &out[i], in[i]
		if c.rec == nil || c.err != nil {
			return
		}
		var err error
		if c.stored.Sealed, err = s.keys.sealEvidence(c.rec.ID[:], p.Body, p.Sig); err != nil {
			c.err = err
			return
		}
		r := c.rec
		c.stored = StoredRecord{ID: r.ID, Device: r.Device, Seq: r.Seq, Hash: c.hash, Wall: r.Wall, Received: now,
			Officer: r.Officer, Verdict: r.Verdict.String(), Kind: uint8(r.Kind), PlateHash: s.keys.PlateHash(r.Plate),
			Stop: r.StopID, Sealed: c.stored.Sealed}
		if len(r.KID) == 8 {
			c.stored.Issuer = append([]byte(nil), r.KID...)
		}
	})
	return out
}

// rejectKey is the dedupe key of the flag of a rejected record: SM3 of its
// body and signature, so that a record rejected again raises no new flag.
func rejectKey(p wire.PushRecord) [gm.SM3Size]byte {
	h := gm.NewSM3()
	h.Write(p.Body)
	h.Write(p.Sig)
	return [gm.SM3Size]byte(h.Sum(nil))
}

// links reports whether b follows a in one device's chain: the next
// sequence number, naming a's hash as its Prev.
func links(a, b *checked) bool {
	return b.rec != nil && b.rec.Device == a.rec.Device && b.rec.Seq == a.rec.Seq+1 && b.rec.Prev == a.hash
}

// parallel runs fn(0) … fn(n-1) on up to GOMAXPROCS goroutines, at least
// 32 calls each, and returns when all have returned.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+31)/32)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// Ingest stores a batch pushed by dev, in chain order, exactly once, in one
// transaction, and returns one result per record. Records already stored
// are reported as duplicates; records that fail are rejected with a reason
// and flagged for supervisors; gaps in the sequence, broken hash links and
// clock doubts are flagged on the records that reveal them. A device revoked
// meanwhile gives ErrDeviceRevoked and stores nothing, as does one whose
// key is not dev's (errStaleDevice: dev came from a stale cache).
func (s *Server) Ingest(ctx context.Context, dev Device, pub *gm.PublicKey, in []wire.PushRecord) ([]wire.PushResult, error) {
	now := s.clk.Now()
	pre := s.check(dev, pub, in, now)
	results := make([]wire.PushResult, len(in))
	ids, seqs := make([][16]byte, 0, len(pre)), make([]uint64, 0, 2*len(pre))
	for i := range pre {
		if r := pre[i].rec; r != nil {
			ids, seqs = append(ids, r.ID), append(seqs, r.Seq, r.Seq-1)
		}
	}
	ingest := func(ctx context.Context, device string, fn func(IngestTx) error) error {
		return s.store.Ingest(ctx, device, func(tx IngestTx) error {
			if h, ok := tx.(IngestHinter); ok {
				if err := h.Expect(ids, seqs); err != nil {
					return err
				}
			}
			return fn(tx)
		})
	}
	if ei, ok := s.store.(ExpectingIngester); ok {
		ingest = func(ctx context.Context, device string, fn func(IngestTx) error) error {
			return ei.IngestExpecting(ctx, device, ids, seqs, fn)
		}
	}
	err := ingest(ctx, dev.ID, func(tx IngestTx) error {
		d := tx.Device()
		if !d.Revoked.IsZero() {
			return fmt.Errorf("%w: %s", ErrDeviceRevoked, d.ID)
		}
		if !sameKey(d, dev) {
			return fmt.Errorf("%w: %s", errStaleDevice, d.ID)
		}
		next, last := d.NextSeq, d.LastHash
		for i := range pre {
			c := &pre[i]
			res := &results[i]
			*res = wire.PushResult{Index: i}
			reject := func(reason, detail string) error {
				res.Status, res.Reason, res.Detail = wire.StatusRejected, reason, detail
				f := Flag{ID: s.newFlagID(now), Key: rejectKey(in[i]), Device: dev.ID, Kind: wire.FlagKindRejected, Reason: reason,
					RecordID: res.ID, FromSeq: res.Seq, ToSeq: res.Seq, Detail: detail, At: now}
				_, err := tx.PutFlag(f)
				return err
			}
			if c.rec == nil {
				if err := reject(wire.ReasonMalformed, fmt.Sprint(c.err)); err != nil {
					return err
				}
				continue
			}
			r := c.rec
			res.ID, res.Seq = r.ID.String(), r.Seq
			if r.Device != dev.ID {
				if err := reject(wire.ReasonWrongDevice, fmt.Sprintf("the record names device %q, the request was signed by %q", r.Device, dev.ID)); err != nil {
					return err
				}
				continue
			}
			// Records are keyed by (device, id): another device's record
			// with this id is a collision, never this device's edit.
			old, found, holder, err := s.recordOf(tx, dev.ID, r.ID)
			if err != nil {
				return err
			}
			if found {
				h, err := s.hashOf(&old)
				if err != nil {
					return err
				}
				if h == c.hash {
					res.Status, res.Flags = wire.StatusDuplicate, old.Flags
					continue
				}
				if err := reject(wire.ReasonEdited, fmt.Sprintf("record %s (seq %d) is stored with different content: it was edited after delivery", r.ID, old.Seq)); err != nil {
					return err
				}
				continue
			}
			if errors.Is(c.err, records.ErrBadSignature) {
				if err := reject(wire.ReasonSignature, "the device signature does not verify over the record: it was edited after signing, or the signature is forged"); err != nil {
					return err
				}
				continue
			}
			if c.err != nil {
				return c.err
			}
			if why := seqRange(r.Seq, next); why != "" {
				if err := reject(wire.ReasonSeqRange, why); err != nil {
					return err
				}
				continue
			}
			if _, taken, err := tx.RecordAt(r.Seq); err != nil {
				return err
			} else if taken {
				if err := reject(wire.ReasonSeqReused, fmt.Sprintf("sequence %d already holds another record of this device: the chain was forked or rewritten", r.Seq)); err != nil {
					return err
				}
				continue
			}
			var flags []string
			if holder != "" {
				if err := s.collide(tx, c, in[i], dev, holder, now); err != nil {
					return err
				}
				flags = append(flags, wire.FlagIDCollision)
			}
			switch {
			case r.Seq > next:
				flags = append(flags, wire.FlagChainGap)
				if _, err := tx.PutFlag(Flag{ID: s.newFlagID(now), Device: dev.ID, Kind: wire.FlagKindGap, FromSeq: next, ToSeq: r.Seq - 1,
					RecordID: res.ID, At: now,
					Detail: fmt.Sprintf("records %d–%d of the device never arrived (deleted or rejected); record %s follows the gap", next, r.Seq-1, r.ID)}); err != nil {
					return err
				}
			case r.Seq < next:
				// A record filling an earlier gap: link it to what is stored.
				flags = append(flags, wire.FlagLate)
				if prevID, ok, err := tx.RecordAt(r.Seq - 1); err != nil {
					return err
				} else if ok {
					prev, _, err := tx.Record(prevID)
					if err != nil {
						return err
					}
					h, err := s.hashOf(&prev)
					if err != nil {
						return err
					}
					if h != r.Prev {
						flags = append(flags, wire.FlagChainMismatch)
					}
				}
			case r.Prev != last:
				flags = append(flags, wire.FlagChainMismatch)
				if _, err := tx.PutFlag(Flag{ID: s.newFlagID(now), Device: dev.ID, Kind: wire.FlagKindChain, FromSeq: r.Seq, ToSeq: r.Seq,
					RecordID: res.ID, At: now,
					Detail: fmt.Sprintf("record %s does not link to the stored record %d: the device's history was rewritten", r.ID, r.Seq-1)}); err != nil {
					return err
				}
			}
			// The device's clock flags and the hub's own check of the
			// record's times against its id and the receive time.
			if cf, detail := s.clockCheck(r, now); len(cf) > 0 {
				flags = append(flags, cf...)
				if _, err := tx.PutFlag(Flag{ID: s.newFlagID(now), Device: dev.ID, Kind: wire.FlagKindClock, FromSeq: r.Seq, ToSeq: r.Seq,
					RecordID: res.ID, At: now, Detail: detail}); err != nil {
					return err
				}
			}
			c.stored.Flags = flags
			if err := tx.PutRecord(c.stored); err != nil {
				return err
			}
			if r.Seq >= next {
				next, last = r.Seq+1, c.hash
			}
			res.Status, res.Flags = wire.StatusAccepted, flags
		}
		return tx.SetChain(next, last, now)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// hashOf is the SM3 hash of a stored record's canonical bytes: its Hash,
// or, from a store that does not keep it, the hash of the canonical bytes
// its evidence seals (an error if the evidence does not open).
func (s *Server) hashOf(r *StoredRecord) ([gm.SM3Size]byte, error) {
	if r.Hash != ([gm.SM3Size]byte{}) {
		return r.Hash, nil
	}
	e, err := s.keys.openEvidence(r.Sealed, r.ID[:])
	if err != nil {
		return r.Hash, fmt.Errorf("hub: record %s: %w", records.ID(r.ID), err)
	}
	return records.Hash(e.Body), nil
}

// openEvidence unseals a stored record's canonical bytes and signature.
func (s *Server) openEvidence(r *StoredRecord) (*records.Record, error) {
	e, err := s.keys.openEvidence(r.Sealed, r.ID[:])
	if err != nil {
		return nil, fmt.Errorf("hub: record %s: %w", records.ID(r.ID), err)
	}
	return records.DecodeCanonical(e.Body)
}
