package records

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// DefaultRetention is how long a delivered record keeps its personal and
// evidential fields on the terminal when no policy is in force
// (policy.Policy.KeepRecords gives the policy's).
const DefaultRetention = policy.DefaultRetention

// PurgeReport is what Purge did.
type PurgeReport struct {
	Purged  int // records whose sealed fields were erased now
	Skipped int // delivered records not yet old enough, or damaged (left for the audit)
}

// restSigningString is what the device signs for a purged record: the
// digest of its full canonical bytes and the SM3 of what remains.
func restSigningString(digest, body []byte) []byte {
	h := gm.SM3(body)
	return fmt.Appendf(nil, "RC-REST-1\n%x\n%x", digest, h[:])
}

// Purge erases the personal and evidential fields (holder, holder ID,
// plate, licence number, id hash, notes, action text, location, reveal
// time) of every record the hub acknowledged (delivered or rejected) at
// least keep before now (a zero now: the clock; keep ≤ 0: DefaultRetention;
// the hub's signed policy gives keep). What remains — the non-personal
// fields, the digest of the signed bytes and the original signature — keeps
// the chain verifiable: Audit checks a purged record by the digest, which
// the next record's Prev (or the signed head) links, and by the device's
// signature over the digest and the remaining fields, made at the purge
// after the original signature was verified. Records that do not verify
// are left alone (the audit reports them). It is idempotent.
func (s *Store) Purge(ctx context.Context, now time.Time, keep time.Duration) (PurgeReport, error) {
	var rep PurgeReport
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	now = clock.Or(s.clk, now)
	if keep <= 0 {
		keep = DefaultRetention
	}
	cut := now.Add(-keep).UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		recs := tx.Bucket(storage.BucketRecords)
		ob := tx.Bucket(storage.BucketOutbox)
		dlv := tx.Bucket(storage.BucketDelivery)
		c := recs.Cursor()
		type upd struct{ k, v []byte }
		var ups []upd
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if ob.Get(k) != nil {
				continue // not delivered: kept whatever its age
			}
			var d delivery
			if dv := dlv.Get(k); dv == nil || cbor.Unmarshal(dv, &d) != nil || d.At > cut {
				rep.Skipped++
				continue
			}
			r, sr, err := s.open(v)
			if err != nil || r == nil {
				rep.Skipped++
				continue
			}
			if sr.Purged != 0 {
				continue
			}
			canon, err := r.Canonical()
			if err != nil {
				return err
			}
			if ok, _ := s.kr.Public().Verify(canon, sr.Sig); !ok || r.Seq != binary.BigEndian.Uint64(k) {
				rep.Skipped++
				continue
			}
			b := r.toBody(true)
			split(b)
			pub, err := encodeBody(b)
			if err != nil {
				return err
			}
			digest := Hash(canon)
			rs, err := s.kr.Sign(restSigningString(digest[:], pub))
			if err != nil {
				return err
			}
			nv, err := encMode.Marshal(&storedRecord{V: 2, Body: pub, Sig: bytes.Clone(sr.Sig), Digest: digest[:], Purged: now.UnixMilli(), RestSig: rs})
			if err != nil {
				return err
			}
			if err := s.putSearch(tx, r, false); err != nil {
				return err
			}
			ups = append(ups, upd{bytes.Clone(k), nv})
		}
		for _, u := range ups {
			if err := recs.Put(u.k, u.v); err != nil {
				return err
			}
		}
		rep.Purged = len(ups)
		return nil
	})
	return rep, classifyWrite(err)
}

// migrate seals v1 records again as v2 (every personal or evidential
// field sealed, blind indexes added) and signs an unsigned chain head once
// the chain audits clean. It runs once per database.
func (s *Store) migrate(ctx context.Context) error {
	var atRest []byte
	var h head
	err := s.db.View(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		atRest = bytes.Clone(dev.Get(keyAtRest))
		var err error
		h, err = readHead(dev)
		return err
	})
	if err != nil {
		return err
	}
	if len(atRest) == 1 && atRest[0] == 2 && (h.Seq == 0 || h.Sig != nil) {
		return nil
	}
	if h.Seq > 0 && h.Sig == nil {
		rep, err := s.Audit(ctx)
		if err != nil {
			return err
		}
		for _, p := range rep.Problems {
			if p.Kind != ProblemHeadSig {
				return nil // leave a damaged chain as found: Audit reports it
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return classifyWrite(s.db.Update(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		recs := tx.Bucket(storage.BucketRecords)
		c := recs.Cursor()
		type upd struct{ k, v []byte }
		var ups []upd
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var sr storedRecord
			if cbor.Unmarshal(v, &sr) != nil || sr.V != 0 {
				continue
			}
			r, _, err := s.open(v)
			if err != nil {
				continue // damaged: left for the audit
			}
			canon, err := r.Canonical()
			if err != nil {
				return err
			}
			nv, err := s.seal(r, canon, sr.Sig)
			if err != nil {
				return err
			}
			if err := s.putSearch(tx, r, true); err != nil {
				return err
			}
			ups = append(ups, upd{bytes.Clone(k), nv})
		}
		for _, u := range ups {
			if err := recs.Put(u.k, u.v); err != nil {
				return err
			}
		}
		if h.Seq > 0 && h.Sig == nil {
			if err := s.putHead(dev, h); err != nil {
				return err
			}
		}
		return dev.Put(keyAtRest, []byte{2})
	}))
}

// SignedHead is the chain head as the terminal reports it to the hub:
// sequence and hash of the newest record and the device's signature over
// HeadSigningString.
type SignedHead struct {
	Device string
	Seq    uint64
	Hash   [gm.SM3Size]byte
	Sig    []byte
}

// Head returns the stored chain head with the signature stored with it
// (written by Append with the device key): a head rolled back by someone
// without the key keeps a signature that does not verify, and the hub
// sees that too. Before the first record (Seq 0, the zero hash) the head
// is signed now. Head does not check the chain: run Audit for that.
func (s *Store) Head(ctx context.Context) (SignedHead, error) {
	out := SignedHead{Device: s.deviceID}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	var h head
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if h, err = readHead(tx.Bucket(storage.BucketDevice)); err == nil {
			h.Sig = bytes.Clone(h.Sig)
		}
		return err
	})
	if err != nil {
		return out, err
	}
	out.Seq, out.Sig = h.Seq, h.Sig
	copy(out.Hash[:], h.Hash)
	if out.Seq == 0 && out.Sig == nil {
		out.Sig, err = s.kr.Sign(HeadSigningString(s.deviceID, out.Seq, out.Hash[:]))
	}
	return out, err
}
