package records

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// Problem is one inconsistency Audit found.
type Problem struct {
	Seq    uint64
	ID     ID // zero when unreadable
	Kind   string
	Detail string
}

// Problem kinds.
const (
	ProblemUnreadable = "unreadable"        // stored bytes do not decode or unseal
	ProblemSignature  = "bad_signature"     // device signature does not verify: edited
	ProblemGap        = "chain_gap"         // sequence numbers missing: deleted
	ProblemChain      = "chain_mismatch"    // prev hash differs from the previous record's hash
	ProblemHead       = "head_mismatch"     // the stored head does not match the newest record
	ProblemIndex      = "index_mismatch"    // id index and log disagree
	ProblemSeq        = "sequence_mismatch" // key and body sequence differ
	ProblemHeadSig    = "head_signature"    // the chain head's device signature is missing or does not verify: rolled back
	ProblemDigest     = "digest_mismatch"   // the stored digest differs from the record's canonical bytes
)

// AuditReport is the result of Audit.
type AuditReport struct {
	Records  int
	Head     uint64
	Problems []Problem
}

// OK reports whether the chain is intact.
func (a *AuditReport) OK() bool { return len(a.Problems) == 0 }

// Audit walks the whole chain and checks each record's signature, the
// sequence numbers, the hash links, the head and the id index. It reports
// what it finds rather than stopping at the first problem.
func (s *Store) Audit(ctx context.Context) (*AuditReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep := &AuditReport{}
	err := s.db.View(func(tx *bolt.Tx) error {
		h, err := readHead(tx.Bucket(storage.BucketDevice))
		if err != nil {
			return err
		}
		rep.Head = h.Seq
		idx := tx.Bucket(storage.BucketRecordIndex)
		var (
			prevSeq  uint64
			prevHash [gm.SM3Size]byte
			havePrev = true // the virtual record 0 has the zero hash
		)
		c := tx.Bucket(storage.BucketRecords).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			rep.Records++
			seq := binary.BigEndian.Uint64(k)
			add := func(id ID, kind, format string, args ...any) {
				rep.Problems = append(rep.Problems, Problem{Seq: seq, ID: id, Kind: kind, Detail: fmt.Sprintf(format, args...)})
			}
			if seq != prevSeq+1 {
				add(ID{}, ProblemGap, "records %d–%d are missing", prevSeq+1, seq-1)
				havePrev = false
			}
			prevSeq = seq
			r, sr, err := s.open(v)
			if err != nil || r == nil {
				add(ID{}, ProblemUnreadable, "%v", err)
				havePrev = false
				if r != nil {
					rep.Problems[len(rep.Problems)-1].ID = r.ID
				}
				continue
			}
			if r.Seq != seq {
				add(r.ID, ProblemSeq, "stored under %d, says %d", seq, r.Seq)
			}
			var link [gm.SM3Size]byte
			if sr.Purged != 0 {
				// What remains after the purge: the digest links the chain,
				// the device's rest signature covers digest and fields.
				if len(sr.Digest) != gm.SM3Size {
					add(r.ID, ProblemDigest, "purged record without a digest")
					havePrev = false
					continue
				}
				copy(link[:], sr.Digest)
				if ok, _ := s.kr.Public().Verify(restSigningString(sr.Digest, sr.Body), sr.RestSig); !ok {
					add(r.ID, ProblemSignature, "the device signature of the purged record does not verify: the record was edited")
				}
			} else {
				canon, err := r.Canonical()
				if err != nil {
					return err
				}
				link = Hash(canon)
				if ok, _ := s.kr.Public().Verify(canon, sr.Sig); !ok {
					add(r.ID, ProblemSignature, "the device signature does not verify: the record was edited")
				}
				if sr.Digest != nil && !bytes.Equal(sr.Digest, link[:]) {
					add(r.ID, ProblemDigest, "the stored digest does not match the record")
				}
			}
			if havePrev && r.Prev != prevHash {
				add(r.ID, ProblemChain, "prev hash does not match record %d", seq-1)
			}
			if got := idx.Get(r.ID[:]); got == nil || binary.BigEndian.Uint64(got) != seq {
				add(r.ID, ProblemIndex, "id index does not point to %d", seq)
			}
			prevHash, havePrev = link, true
		}
		if h.Seq > 0 {
			if ok, _ := s.kr.Public().Verify(HeadSigningString(s.deviceID, h.Seq, h.Hash), h.Sig); !ok {
				rep.Problems = append(rep.Problems, Problem{Seq: h.Seq, Kind: ProblemHeadSig,
					Detail: "the chain head is not signed by this device: it was written outside RoadCheck (records deleted and the head rolled back?)"})
			}
		}
		if prevSeq != h.Seq {
			rep.Problems = append(rep.Problems, Problem{Seq: h.Seq, Kind: ProblemHead,
				Detail: fmt.Sprintf("head says %d records, the newest stored is %d", h.Seq, prevSeq)})
		} else if prevSeq > 0 && havePrev && [gm.SM3Size]byte(h.Hash) != prevHash {
			rep.Problems = append(rep.Problems, Problem{Seq: h.Seq, Kind: ProblemHead, Detail: "head hash does not match the newest record"})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}
