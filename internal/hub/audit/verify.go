package audit

import (
	"context"
	"fmt"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// Kinds of problems Verify reports.
const (
	// ProblemEdited: the entry does not match its hash (edited in place).
	ProblemEdited = "edited"
	// ProblemMissing: entry numbers are missing (deleted).
	ProblemMissing = "missing"
	// ProblemBrokenLink: the entry does not link to the entry before it
	// (an entry before it was deleted, replaced or moved).
	ProblemBrokenLink = "broken_link"
	// ProblemBadSignature: a checkpoint (or the anchor) is not signed by the
	// hub's key.
	ProblemBadSignature = "bad_signature"
	// ProblemCheckpointMismatch: the entry a checkpoint signed has another
	// hash now (the chain was rebuilt after an edit).
	ProblemCheckpointMismatch = "checkpoint_mismatch"
	// ProblemTruncated: a checkpoint signed entries that are gone.
	ProblemTruncated = "truncated"
)

// Problem is one finding of Verify.
type Problem struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Report is what Verify found.
type Report struct {
	// Anchor is the checkpoint the log starts from after a rotation (nil:
	// it starts at entry 1).
	Anchor *Checkpoint `json:"anchor,omitempty"`
	// First and Last are the first and last entries checked; Entries how
	// many there were.
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
	Entries int    `json:"entries"`
	// Checkpoints verified, and the newest one's entry.
	Checkpoints    int    `json:"checkpoints"`
	LastCheckpoint uint64 `json:"last_checkpoint"`
	// Tail is the number of entries after the last checkpoint: they rest
	// on the hash chain alone until the next checkpoint signs them.
	Tail     int       `json:"unsigned_tail"`
	KeyID    string    `json:"key_id"`
	Problems []Problem `json:"problems"`
}

// OK reports whether Verify found no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks the whole stored log: every entry against its hash and its
// link to the entry before, the numbering, the anchor and every checkpoint
// against pub (the hub's checkpoint key) and against the entry it signed.
// It returns an error only when the store cannot be read.
func Verify(ctx context.Context, st Store, pub *gm.PublicKey) (*Report, error) {
	return VerifyKeys(ctx, st, []*gm.PublicKey{pub})
}

// VerifyKeys is Verify for a checkpoint key that was rotated: pubs are
// every version of it (the current first, which names the report's
// KeyID), and each checkpoint must verify under the key its KeyID names
// (the KeyID is signed with it).
func VerifyKeys(ctx context.Context, st Store, pubs []*gm.PublicKey) (*Report, error) {
	if len(pubs) == 0 {
		return nil, fmt.Errorf("%w: no checkpoint key", ErrBadInput)
	}
	byID := map[string]*gm.PublicKey{}
	for _, p := range pubs {
		byID[KeyID(p)] = p
	}
	pub := pubs[0]
	r := &Report{KeyID: KeyID(pub), Problems: []Problem{}}
	signed := func(c *Checkpoint) bool {
		k, ok := byID[c.KeyID]
		return ok && c.Verify(k)
	}
	add := func(seq uint64, kind, format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	var prev [gm.SM3Size]byte
	expect := uint64(1)
	anchor, rotated, err := st.AuditAnchor(ctx)
	if err != nil {
		return nil, err
	}
	if rotated {
		r.Anchor = &anchor
		if !signed(&anchor) {
			add(anchor.Seq, ProblemBadSignature, "the anchor (checkpoint of entry %d the log was rotated to) is not signed by key %s", anchor.Seq, r.KeyID)
		}
		prev, expect = anchor.Hash, anchor.Seq+1
		r.LastCheckpoint = anchor.Seq
	}
	cps := map[uint64]Checkpoint{}
	var cpMax uint64
	for after := anchor.Seq; ; {
		page, err := st.AuditCheckpoints(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			cps[c.Seq] = c
			cpMax = max(cpMax, c.Seq)
			if !signed(&c) {
				add(c.Seq, ProblemBadSignature, "the checkpoint of entry %d is not signed by key %s (key id %q)", c.Seq, r.KeyID, c.KeyID)
			} else {
				r.Checkpoints++
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Seq
	}
	lastSeq := anchor.Seq
	for after := anchor.Seq; ; {
		page, more, err := st.AuditEntries(ctx, Query{After: after, Limit: 10000})
		if err != nil {
			return nil, err
		}
		for i := range page {
			e := &page[i]
			if r.Entries == 0 {
				r.First = e.Seq
			}
			r.Entries++
			if e.Seq > expect {
				add(expect, ProblemMissing, "entries %d–%d are missing (deleted)", expect, e.Seq-1)
			}
			if e.ComputeHash() != e.Hash {
				add(e.Seq, ProblemEdited, "entry %d does not match its hash: it was edited (or moved from another number)", e.Seq)
			}
			if e.Prev != prev {
				add(e.Seq, ProblemBrokenLink, "entry %d does not link to entry %d before it: entries were deleted, replaced or reordered", e.Seq, e.Seq-1)
			}
			if c, ok := cps[e.Seq]; ok && c.Hash != e.Hash {
				add(e.Seq, ProblemCheckpointMismatch, "entry %d is not the entry the checkpoint of %s signed: the log was rewritten", e.Seq, c.At.UTC().Format("2006-01-02T15:04:05Z"))
			}
			if _, ok := cps[e.Seq]; ok && e.Seq > r.LastCheckpoint {
				r.LastCheckpoint = e.Seq
			}
			prev, expect, lastSeq = e.Hash, e.Seq+1, e.Seq
		}
		if !more || len(page) == 0 {
			break
		}
		after = page[len(page)-1].Seq
	}
	r.Last = lastSeq
	if cpMax > lastSeq {
		add(cpMax, ProblemTruncated, "a checkpoint signed entry %d, the log ends at entry %d: its newest entries were deleted", cpMax, lastSeq)
	}
	if lastSeq > r.LastCheckpoint {
		r.Tail = int(lastSeq - r.LastCheckpoint)
	}
	return r, nil
}
