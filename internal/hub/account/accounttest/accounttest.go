// Package accounttest is the shared test suite every account.Store
// implementation must pass: run it from the implementation's tests with Run.
package accounttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/account"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// Run runs the suite; open returns a new, empty store.
func Run(t *testing.T, open func(t *testing.T) account.Store) {
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open(t)) })
	t.Run("UpdateAtomic", func(t *testing.T) { testUpdate(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("Scopes", func(t *testing.T) { testScopes(t, open(t)) })
}

func acc(name string) account.Account {
	return account.Account{Name: name, Role: account.Viewer, Jurisdiction: "4403", PasswordHash: "$argon2id$x", TOTPSealed: []byte{1, 2, 3},
		TOTPStep: 7, Created: t0}
}

func testAccounts(t *testing.T, s account.Store) {
	ctx := context.Background()
	if err := s.CreateAccount(ctx, acc("alice")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, acc("bob")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, acc("alice")); !errors.Is(err, account.ErrExists) {
		t.Fatalf("create twice: %v", err)
	}
	a, err := s.Account(ctx, "alice")
	if err != nil || a.Name != "alice" || a.Role != account.Viewer || a.Jurisdiction != "4403" || a.PasswordHash != "$argon2id$x" ||
		string(a.TOTPSealed) != "\x01\x02\x03" || a.TOTPStep != 7 || !a.Created.Equal(t0) || !a.Disabled.IsZero() || !a.LockedUntil.IsZero() {
		t.Fatalf("account %+v %v", a, err)
	}
	if _, err := s.Account(ctx, "carol"); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	all, err := s.Accounts(ctx)
	if err != nil || len(all) != 2 || all[0].Name != "alice" || all[1].Name != "bob" {
		t.Fatalf("accounts %+v %v", all, err)
	}
	boom := errors.New("boom")
	tests := []struct {
		name    string
		account string
		fn      func(a *account.Account) error
		wantErr error
	}{
		{name: "unknown", account: "carol", fn: func(a *account.Account) error { return nil }, wantErr: account.ErrNotFound},
		{name: "fn fails: nothing stored", account: "alice", fn: func(a *account.Account) error { a.Role = account.Administrator; return boom }, wantErr: boom},
		{name: "disable and lock", account: "alice", fn: func(a *account.Account) error {
			a.Disabled, a.LockedUntil, a.Failures, a.Name = t0.Add(time.Hour), t0.Add(2*time.Hour), 3, "renamed"
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.UpdateAccount(ctx, tt.account, tt.fn); !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
	a, err = s.Account(ctx, "alice")
	if err != nil || a.Role != account.Viewer || !a.Disabled.Equal(t0.Add(time.Hour)) || !a.LockedUntil.Equal(t0.Add(2*time.Hour)) || a.Failures != 3 {
		t.Fatalf("after updates %+v %v", a, err)
	}
	if _, err := s.Account(ctx, "renamed"); !errors.Is(err, account.ErrNotFound) {
		t.Fatal("an update renamed the account")
	}
}

// testUpdate: 10 concurrent increments through UpdateAccount all count.
func testUpdate(t *testing.T, s account.Store) {
	ctx := context.Background()
	if err := s.CreateAccount(ctx, acc("alice")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.UpdateAccount(ctx, "alice", func(a *account.Account) error { a.Failures++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if a, err := s.Account(ctx, "alice"); err != nil || a.Failures != 10 {
		t.Fatalf("failures %d %v", a.Failures, err)
	}
}

func testSessions(t *testing.T, s account.Store) {
	ctx := context.Background()
	mk := func(name, acct string, exp time.Duration) account.Session {
		sess := account.Session{Hash: gm.SM3([]byte(name)), Account: acct, Created: t0, Expires: t0.Add(exp), Source: "192.0.2.1:1", Key: []byte{9}}
		if err := s.PutSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	a1, a2 := mk("a1", "alice", time.Hour), mk("a2", "alice", 2*time.Hour)
	b1 := mk("b1", "bob", 30*time.Minute)
	got, err := s.Session(ctx, a1.Hash)
	if err != nil || got.Account != "alice" || !got.Expires.Equal(t0.Add(time.Hour)) || got.Source != "192.0.2.1:1" || len(got.Key) != 1 || !got.Revoked.IsZero() {
		t.Fatalf("session %+v %v", got, err)
	}
	if _, err := s.Session(ctx, gm.SM3([]byte("none"))); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	if _, err := s.RevokeSessions(ctx, "alice", b1.Hash, t0); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("revoking another's session: %v", err)
	}
	if n, err := s.RevokeSessions(ctx, "alice", a1.Hash, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("revoke one: %d %v", n, err)
	}
	if n, err := s.RevokeSessions(ctx, "alice", [gm.SM3Size]byte{}, t0.Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("revoke all of alice: %d %v", n, err)
	}
	for _, tt := range []struct {
		sess account.Session
		want time.Time
	}{{a1, t0.Add(time.Minute)}, {a2, t0.Add(2 * time.Minute)}, {b1, time.Time{}}} {
		got, err := s.Session(ctx, tt.sess.Hash)
		if err != nil || !got.Revoked.Equal(tt.want) {
			t.Fatalf("session of %s revoked %v (%v), want %v", tt.sess.Account, got.Revoked, err, tt.want)
		}
	}
	if n, err := s.PruneSessions(ctx, t0.Add(90*time.Minute)); err != nil || n != 2 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if _, err := s.Session(ctx, a2.Hash); err != nil {
		t.Fatalf("unexpired session pruned: %v", err)
	}
}

func testScopes(t *testing.T, s account.Store) {
	ctx := context.Background()
	for i, sc := range []account.Scope{{Role: account.Viewer, Jurisdiction: "44"}, {Jurisdiction: "440300"}} {
		key := fmt.Sprintf("k%d", i)
		if _, ok, err := s.Scope(ctx, key); ok || err != nil {
			t.Fatalf("scope before: %v %v", ok, err)
		}
		if err := s.PutScope(ctx, key, sc); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.Scope(ctx, key); !ok || err != nil || got != sc {
			t.Fatalf("scope %+v %v %v", got, ok, err)
		}
	}
	if err := s.PutScope(ctx, "k0", account.Scope{Role: account.Auditor, Jurisdiction: "*"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Scope(ctx, "k0"); got.Role != account.Auditor || got.Jurisdiction != "*" {
		t.Fatalf("replaced scope %+v", got)
	}
}
