package limit

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is a Store in memory: for one process, and for tests.
type MemoryStore struct {
	mu sync.Mutex
	w  map[string]map[int64]int // key → window start (Unix s) → total
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{w: map[string]map[int64]int{}} }

// TakeWindow implements Store.
func (m *MemoryStore) TakeWindow(ctx context.Context, key string, start time.Time, n, max int) (bool, int, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := m.w[key]
	if ws == nil {
		ws = map[int64]int{}
		m.w[key] = ws
	}
	s := start.Unix()
	for old := range ws {
		if old < s-86400 {
			delete(ws, old)
		}
	}
	if ws[s]+n > max {
		return false, ws[s], nil
	}
	ws[s] += n
	return true, ws[s], nil
}

var _ Store = (*MemoryStore)(nil)
