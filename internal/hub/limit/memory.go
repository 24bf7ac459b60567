package limit

import (
	"context"
	"sync"
)

// MemoryStore is a Store in memory: for one process, and for tests.
type MemoryStore struct {
	mu sync.Mutex
	w  map[string]map[int64]int // key → window start (Unix s) → total
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{w: map[string]map[int64]int{}} }

// TakeWindows implements Store.
func (m *MemoryStore) TakeWindows(ctx context.Context, takes []Take) ([]Taken, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Taken, len(takes))
	for i, t := range takes {
		ws := m.w[t.Key]
		if ws == nil {
			ws = map[int64]int{}
			m.w[t.Key] = ws
		}
		s := t.Start.Unix()
		for old := range ws {
			if old < s-86400 {
				delete(ws, old)
			}
		}
		if ws[s]+t.N > t.Max {
			out[i] = Taken{Total: ws[s]}
			break
		}
		ws[s] += t.N
		out[i] = Taken{OK: true, Total: ws[s]}
	}
	return out, nil
}

var _ Store = (*MemoryStore)(nil)
