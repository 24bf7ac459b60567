package ui

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
)

// Account is an officer with a PIN, for StaticOfficers.
type Account struct {
	Officer Officer
	PIN     string
}

// StaticOfficers is a fixed officer directory held in memory (PINs kept as
// SHA-256 of ID and PIN, compared in constant time) for demo mode, whose
// database is thrown away at exit. It keeps the lock-out of the real
// directory: MaxPINAttempts wrong PINs in a row lock an officer out for
// PINLockout, measured with its clock (WithClock; the real clock by
// default), until the process ends. It is safe for concurrent use.
type StaticOfficers struct {
	accounts map[string]staticAccount
	clk      clock.Clock

	mu       sync.Mutex
	failures map[string]int
	locked   map[string]time.Time
}

type staticAccount struct {
	officer Officer
	hash    [sha256.Size]byte
}

func pinHash(id, pin string) [sha256.Size]byte {
	return sha256.Sum256([]byte("roadcheck-officer\x00" + id + "\x00" + pin))
}

// NewStaticOfficers returns a directory of the given accounts.
func NewStaticOfficers(accounts ...Account) *StaticOfficers {
	s := &StaticOfficers{accounts: map[string]staticAccount{}, clk: clock.Real{}, failures: map[string]int{}, locked: map[string]time.Time{}}
	for _, a := range accounts {
		s.accounts[a.Officer.ID] = staticAccount{officer: a.Officer, hash: pinHash(a.Officer.ID, a.PIN)}
	}
	return s
}

// WithClock makes s measure lock-outs with clk and returns s.
func (s *StaticOfficers) WithClock(clk clock.Clock) *StaticOfficers {
	if clk != nil {
		s.clk = clk
	}
	return s
}

// SignIn returns the officer with id when pin is theirs, else ErrSignIn;
// a locked-out officer gets the lock-out error (wrapping ErrLockedOut),
// even with the right PIN.
func (s *StaticOfficers) SignIn(ctx context.Context, id, pin string) (Officer, error) {
	if err := ctx.Err(); err != nil {
		return Officer{}, err
	}
	id = strings.TrimSpace(id)
	a, ok := s.accounts[id]
	h := pinHash(id, pin)
	match := ok && subtle.ConstantTimeCompare(h[:], a.hash[:]) == 1
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	if until, locked := s.locked[id]; locked && now.Before(until) {
		return Officer{}, lockedOut(until, nil)
	}
	if match {
		delete(s.failures, id)
		delete(s.locked, id)
		return a.officer, nil
	}
	if ok {
		if s.failures[id]++; s.failures[id] >= MaxPINAttempts {
			delete(s.failures, id)
			s.locked[id] = now.Add(PINLockout)
			return Officer{}, lockedOut(s.locked[id], nil)
		}
	}
	return Officer{}, ErrSignIn
}

// DemoAccounts are the demo mode's officers, one per role (shown on the
// sign-in screen in demo mode).
func DemoAccounts() []Account {
	return []Account{
		{Officer: Officer{ID: "1001", Name: "李明", Role: RoleInspector}, PIN: "1234"},
		{Officer: Officer{ID: "2001", Name: "王芳", Role: RoleStation}, PIN: "2345"},
		{Officer: Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, PIN: "9999"},
	}
}
