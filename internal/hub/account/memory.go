package account

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// MemoryStore is a Store in memory: for tests, and for hubs whose store
// keeps no accounts (the hub warns: accounts are then lost at exit).
type MemoryStore struct {
	mu       sync.Mutex
	accounts map[string]Account
	sessions map[[gm.SM3Size]byte]Session
	scopes   map[string]Scope
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{accounts: map[string]Account{}, sessions: map[[gm.SM3Size]byte]Session{}, scopes: map[string]Scope{}}
}

func clone(a Account) Account {
	a.TOTPSealed = slices.Clone(a.TOTPSealed)
	return a
}

// CreateAccount implements Store.
func (m *MemoryStore) CreateAccount(ctx context.Context, a Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accounts[a.Name]; ok {
		return fmt.Errorf("%w: %s", ErrExists, a.Name)
	}
	m.accounts[a.Name] = clone(a)
	return ctx.Err()
}

// Account implements Store.
func (m *MemoryStore) Account(ctx context.Context, name string) (Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[name]
	if !ok {
		return Account{}, fmt.Errorf("%w: account %q", ErrNotFound, name)
	}
	return clone(a), ctx.Err()
}

// Accounts implements Store.
func (m *MemoryStore) Accounts(ctx context.Context) ([]Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Account
	for _, a := range m.accounts {
		out = append(out, clone(a))
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.Name, b.Name) })
	return out, ctx.Err()
}

// UpdateAccount implements Store.
func (m *MemoryStore) UpdateAccount(ctx context.Context, name string, fn func(a *Account) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[name]
	if !ok {
		return fmt.Errorf("%w: account %q", ErrNotFound, name)
	}
	a = clone(a)
	if err := fn(&a); err != nil {
		return err
	}
	a.Name = name
	m.accounts[name] = a
	return ctx.Err()
}

// PutSession implements Store.
func (m *MemoryStore) PutSession(ctx context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.Key = slices.Clone(s.Key)
	m.sessions[s.Hash] = s
	return ctx.Err()
}

// Session implements Store.
func (m *MemoryStore) Session(ctx context.Context, hash [gm.SM3Size]byte) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[hash]
	if !ok {
		return Session{}, ErrNotFound
	}
	s.Key = slices.Clone(s.Key)
	return s, ctx.Err()
}

// RevokeSessions implements Store.
func (m *MemoryStore) RevokeSessions(ctx context.Context, account string, only [gm.SM3Size]byte, at time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if only != ([gm.SM3Size]byte{}) {
		s, ok := m.sessions[only]
		if !ok || s.Account != account {
			return 0, fmt.Errorf("%w: session of %s", ErrNotFound, account)
		}
		if !s.Revoked.IsZero() {
			return 0, nil
		}
		s.Revoked = at
		m.sessions[only] = s
		return 1, nil
	}
	n := 0
	for h, s := range m.sessions {
		if s.Account == account && s.Revoked.IsZero() {
			s.Revoked = at
			m.sessions[h] = s
			n++
		}
	}
	return n, ctx.Err()
}

// PruneSessions implements Store.
func (m *MemoryStore) PruneSessions(ctx context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for h, s := range m.sessions {
		if s.Expires.Before(before) {
			delete(m.sessions, h)
			n++
		}
	}
	return n, ctx.Err()
}

// PutScope implements Store.
func (m *MemoryStore) PutScope(ctx context.Context, key string, s Scope) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.scopes[key] = s
	return ctx.Err()
}

// Scope implements Store.
func (m *MemoryStore) Scope(ctx context.Context, key string) (Scope, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scopes[key]
	return s, ok, ctx.Err()
}

var _ Store = (*MemoryStore)(nil)
