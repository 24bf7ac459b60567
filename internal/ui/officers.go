package ui

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// Account is an officer with a PIN, for StaticOfficers.
type Account struct {
	Officer Officer
	PIN     string
}

// StaticOfficers is a fixed officer directory held in memory (PINs kept as
// SHA-256 of ID and PIN, compared in constant time). It serves demo mode and
// single-device set-ups until officers are provisioned from the hub.
type StaticOfficers struct {
	accounts map[string]staticAccount
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
	s := &StaticOfficers{accounts: map[string]staticAccount{}}
	for _, a := range accounts {
		s.accounts[a.Officer.ID] = staticAccount{officer: a.Officer, hash: pinHash(a.Officer.ID, a.PIN)}
	}
	return s
}

// SignIn returns the officer with id when pin is theirs, else ErrSignIn.
func (s *StaticOfficers) SignIn(ctx context.Context, id, pin string) (Officer, error) {
	if err := ctx.Err(); err != nil {
		return Officer{}, err
	}
	id = strings.TrimSpace(id)
	a, ok := s.accounts[id]
	h := pinHash(id, pin)
	if !ok || subtle.ConstantTimeCompare(h[:], a.hash[:]) != 1 {
		return Officer{}, ErrSignIn
	}
	return a.officer, nil
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
