package audit

import (
	"context"
	"time"
)

// Query selects entries. Zero fields do not filter.
type Query struct {
	From, To time.Time // by At, inclusive
	Who      string    // entries whose Who contains this text (case-insensitive)
	After    uint64    // entries with Seq > After (paging)
	Limit    int       // page size (default 1000, at most 10000)
}

func (q *Query) limit() int {
	switch {
	case q.Limit <= 0:
		return 1000
	case q.Limit > 10000:
		return 10000
	}
	return q.Limit
}

// Store is the audit log's persistence. Implementations must pass the
// suite in package audittest. All methods are safe for concurrent use.
type Store interface {
	// AuditHead returns the newest stored entry's seq, hash and time, or
	// the rotation anchor's when every entry after it was removed; zero
	// for an empty log.
	AuditHead(ctx context.Context) (Head, error)
	// AppendAudit stores entries (consecutive, the first numbered
	// AuditHead().Seq+1 and linking to its hash) and checkpoints (of those
	// or earlier entries) atomically. ErrConflict when the first entry does
	// not continue the stored chain; nothing is stored then.
	AppendAudit(ctx context.Context, entries []Entry, checkpoints []Checkpoint) error
	// AuditEntries returns one page of entries matching q in Seq order, and
	// whether more may follow (continue with After = the last Seq).
	AuditEntries(ctx context.Context, q Query) (entries []Entry, more bool, err error)
	// AuditCheckpoints returns the checkpoints with Seq > after, in Seq
	// order, at most limit (0: all).
	AuditCheckpoints(ctx context.Context, after uint64, limit int) ([]Checkpoint, error)
	// AuditAnchor returns the checkpoint the log was rotated up to (false:
	// never rotated).
	AuditAnchor(ctx context.Context) (Checkpoint, bool, error)
	// RotateAudit atomically removes the entries and checkpoints with Seq
	// ≤ anchor.Seq and stores anchor as the log's anchor; it returns how
	// many entries went. anchor must be a stored checkpoint newer than the
	// current anchor (ErrBadInput otherwise).
	RotateAudit(ctx context.Context, anchor Checkpoint) (int, error)
}

// ChainAppender is implemented by stores that let the writer build the
// entries on the stored head under the store's own lock (a database
// transaction), so that several writers never conflict: fn gets the head
// and returns what to append after it; its entries and checkpoints are
// stored atomically when it returns nil. The Log uses it when the store
// has it, AppendAudit (with retries on ErrConflict) otherwise.
type ChainAppender interface {
	AppendChained(ctx context.Context, fn func(head Head) ([]Entry, []Checkpoint, error)) error
}
