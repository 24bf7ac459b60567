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
	key    [gm.SM3Size]byte // SM3(body || sig): dedupe key of flags
	err    error            // records.ErrMalformed or ErrBadSignature
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
func (s *Server) check(dev Device, pub *gm.PublicKey, in []wire.PushRecord, now time.Time) []checked {
	out := make([]checked, len(in))
	workers := min(runtime.GOMAXPROCS(0), (len(in)+31)/32)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(in); i += workers {
				c := &out[i]
				p := in[i]
				h := gm.NewSM3()
				h.Write(p.Body)
				h.Write(p.Sig)
				c.key = [gm.SM3Size]byte(h.Sum(nil))
				c.rec, c.err = records.Signed{Body: p.Body, Sig: p.Sig}.Open(pub)
				if c.rec == nil {
					continue
				}
				c.hash = records.Hash(p.Body)
				if c.err != nil {
					continue
				}
				var err error
				if c.stored.Sealed, err = s.keys.sealEvidence(c.rec.ID[:], p.Body, p.Sig); err != nil {
					c.err = err
					continue
				}
				r := c.rec
				c.stored = StoredRecord{ID: r.ID, Device: r.Device, Seq: r.Seq, Hash: c.hash, Wall: r.Wall, Received: now,
					Officer: r.Officer, Verdict: r.Verdict.String(), Kind: uint8(r.Kind), PlateHash: s.keys.PlateHash(r.Plate),
					Stop: r.StopID, Sealed: c.stored.Sealed}
				if len(r.KID) == 8 {
					c.stored.Issuer = append([]byte(nil), r.KID...)
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// Ingest stores a batch pushed by dev, in chain order, exactly once, in one
// transaction, and returns one result per record. Records already stored
// are reported as duplicates; records that fail are rejected with a reason
// and flagged for supervisors; gaps in the sequence, broken hash links and
// clock doubts are flagged on the records that reveal them. A device revoked
// meanwhile gives ErrDeviceRevoked and stores nothing.
func (s *Server) Ingest(ctx context.Context, dev Device, pub *gm.PublicKey, in []wire.PushRecord) ([]wire.PushResult, error) {
	now := s.clk.Now()
	pre := s.check(dev, pub, in, now)
	results := make([]wire.PushResult, len(in))
	err := s.store.Ingest(ctx, dev.ID, func(tx IngestTx) error {
		d := tx.Device()
		if !d.Revoked.IsZero() {
			return fmt.Errorf("%w: %s", ErrDeviceRevoked, d.ID)
		}
		if h, ok := tx.(IngestHinter); ok {
			ids, seqs := make([][16]byte, 0, len(pre)), make([]uint64, 0, len(pre))
			for i := range pre {
				if r := pre[i].rec; r != nil {
					ids, seqs = append(ids, r.ID), append(seqs, r.Seq, r.Seq-1)
				}
			}
			if err := h.Expect(ids, seqs); err != nil {
				return err
			}
		}
		next, last := d.NextSeq, d.LastHash
		for i := range pre {
			c := &pre[i]
			res := &results[i]
			*res = wire.PushResult{Index: i}
			reject := func(reason, detail string) error {
				res.Status, res.Reason, res.Detail = wire.StatusRejected, reason, detail
				f := Flag{ID: s.newFlagID(now), Key: c.key, Device: dev.ID, Kind: wire.FlagKindRejected, Reason: reason,
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
				if old.Hash == c.hash {
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
					if prev.Hash != r.Prev {
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

// openEvidence unseals a stored record's canonical bytes and signature.
func (s *Server) openEvidence(r *StoredRecord) (*records.Record, error) {
	e, err := s.keys.openEvidence(r.Sealed, r.ID[:])
	if err != nil {
		return nil, fmt.Errorf("hub: record %s: %w", records.ID(r.ID), err)
	}
	return records.DecodeCanonical(e.Body)
}
