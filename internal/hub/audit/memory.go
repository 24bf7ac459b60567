package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// MemoryStore is a Store in memory: for tests, and for hubs whose store
// keeps no audit log (the hub warns: such a log is lost at exit).
type MemoryStore struct {
	mu      sync.Mutex
	entries []Entry // in Seq order
	cps     []Checkpoint
	anchor  *Checkpoint
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

func (m *MemoryStore) head() Head {
	if n := len(m.entries); n > 0 {
		e := m.entries[n-1]
		return Head{Seq: e.Seq, Hash: e.Hash, At: e.At}
	}
	if m.anchor != nil {
		return Head{Seq: m.anchor.Seq, Hash: m.anchor.Hash, At: m.anchor.At}
	}
	return Head{}
}

// AuditHead implements Store.
func (m *MemoryStore) AuditHead(ctx context.Context) (Head, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.head(), ctx.Err()
}

// AppendAudit implements Store.
func (m *MemoryStore) AppendAudit(ctx context.Context, entries []Entry, checkpoints []Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.append(entries, checkpoints)
}

// AppendChained implements ChainAppender: fn runs under the store's lock,
// so writers sharing the store never conflict.
func (m *MemoryStore) AppendChained(ctx context.Context, fn func(head Head) ([]Entry, []Checkpoint, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	entries, cps, err := fn(m.head())
	if err != nil {
		return err
	}
	return m.append(entries, cps)
}

// append stores entries and checkpoints after the head; m.mu is held.
func (m *MemoryStore) append(entries []Entry, checkpoints []Checkpoint) error {
	if len(entries) > 0 {
		h := m.head()
		if entries[0].Seq != h.Seq+1 || entries[0].Prev != h.Hash {
			return fmt.Errorf("%w: entry %d after stored head %d", ErrConflict, entries[0].Seq, h.Seq)
		}
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Seq != entries[i-1].Seq+1 || entries[i].Prev != entries[i-1].Hash {
			return fmt.Errorf("%w: entries %d and %d are not consecutive", ErrBadInput, entries[i-1].Seq, entries[i].Seq)
		}
	}
	for _, e := range entries {
		e.Fields = slices.Clone(e.Fields)
		m.entries = append(m.entries, e)
	}
	for _, c := range checkpoints {
		c.Sig = slices.Clone(c.Sig)
		i, found := slices.BinarySearchFunc(m.cps, c.Seq, func(a Checkpoint, s uint64) int { return int(a.Seq) - int(s) })
		if found {
			m.cps[i] = c
		} else {
			m.cps = slices.Insert(m.cps, i, c)
		}
	}
	return nil
}

// AuditEntries implements Store.
func (m *MemoryStore) AuditEntries(ctx context.Context, q Query) ([]Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	limit, who := q.limit(), strings.ToLower(q.Who)
	var out []Entry
	for _, e := range m.entries {
		if e.Seq <= q.After || !q.From.IsZero() && e.At.Before(q.From) || !q.To.IsZero() && e.At.After(q.To) ||
			who != "" && !strings.Contains(strings.ToLower(e.Who), who) {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		e.Fields = slices.Clone(e.Fields)
		out = append(out, e)
	}
	return out, false, nil
}

// AuditCheckpoints implements Store.
func (m *MemoryStore) AuditCheckpoints(ctx context.Context, after uint64, limit int) ([]Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Checkpoint
	for _, c := range m.cps {
		if c.Seq <= after {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, c)
	}
	return out, ctx.Err()
}

// AuditAnchor implements Store.
func (m *MemoryStore) AuditAnchor(ctx context.Context) (Checkpoint, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.anchor == nil {
		return Checkpoint{}, false, ctx.Err()
	}
	return *m.anchor, true, ctx.Err()
}

// RotateAudit implements Store.
func (m *MemoryStore) RotateAudit(ctx context.Context, anchor Checkpoint) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.cps, func(c Checkpoint) bool { return c.Seq == anchor.Seq })
	if i < 0 || m.cps[i].Hash != anchor.Hash || !slices.Equal(m.cps[i].Sig, anchor.Sig) {
		return 0, fmt.Errorf("%w: no such checkpoint at entry %d", ErrBadInput, anchor.Seq)
	}
	if m.anchor != nil && m.anchor.Seq >= anchor.Seq {
		return 0, fmt.Errorf("%w: the log is already rotated to entry %d", ErrBadInput, m.anchor.Seq)
	}
	a := m.cps[i]
	m.anchor = &a
	m.cps = slices.DeleteFunc(m.cps, func(c Checkpoint) bool { return c.Seq <= anchor.Seq })
	n := 0
	for n < len(m.entries) && m.entries[n].Seq <= anchor.Seq {
		n++
	}
	m.entries = slices.Delete(m.entries, 0, n)
	return n, nil
}

var _ Store = (*MemoryStore)(nil)
