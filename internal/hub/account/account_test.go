package account_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/account/accounttest"
	"github.com/roadcheck/roadcheck/internal/storage"
)

var t0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *account.BoltStore {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := account.NewBoltStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBoltStoreSuite(t *testing.T) {
	accounttest.Run(t, func(t *testing.T) account.Store { return openStore(t) })
}

// cheap are argon2id parameters for tests.
var cheap = &account.Argon2{Time: 1, Memory: 64, Threads: 1}

func newService(t *testing.T, clk clock.Clock) *account.Service {
	t.Helper()
	a, err := gm.NewAEAD(make([]byte, 16), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := account.New(account.Options{Store: openStore(t), Sealer: a, Clock: clk, Argon2: cheap})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPasswordHash(t *testing.T) {
	h, err := account.HashPassword("correct horse battery", *cheap)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := account.HashPassword("correct horse battery", *cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal (no salt)")
	}
	tests := []struct {
		phc, pw string
		want    bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{"$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "x", false},
		{"$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "x", false},
		{"garbage", "x", false},
	}
	for _, tt := range tests {
		if got := account.CheckPassword(tt.phc, tt.pw); got != tt.want {
			t.Errorf("CheckPassword(%q, %q) = %v", tt.phc, tt.pw, got)
		}
	}
}

func TestJurisdiction(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  error
		covers   map[string]bool
	}{
		{in: "44", want: "44", covers: map[string]bool{"440300": true, "4403": true, "320100": false, "": false, "4": false}},
		{in: "4403", want: "4403", covers: map[string]bool{"440305": true, "440100": false}},
		{in: "all", want: account.National, covers: map[string]bool{"320100": true, "": true}},
		{in: "*", want: account.National},
		{in: "", wantErr: account.ErrBadInput},
		{in: "443", wantErr: account.ErrBadInput},
		{in: "00", wantErr: account.ErrBadInput},
		{in: "4a", wantErr: account.ErrBadInput},
	}
	for _, tt := range tests {
		got, err := account.ParseJurisdiction(tt.in)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("ParseJurisdiction(%q) = %q, %v", tt.in, got, err)
		}
		for region, want := range tt.covers {
			if account.Covers(got, region) != want {
				t.Errorf("Covers(%q, %q) != %v", got, region, want)
			}
		}
	}
}

func TestSignIn(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	s := newService(t, clk)
	enr, err := s.CreateAccount(ctx, "alice", account.Viewer, "4403", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(ctx, "bob", account.Viewer, "4403", "short"); !errors.Is(err, account.ErrWeakPassword) {
		t.Fatalf("short password: %v", err)
	}
	if _, err := s.CreateAccount(ctx, "alice", account.Viewer, "4403", "correct horse battery"); !errors.Is(err, account.ErrExists) {
		t.Fatalf("twice: %v", err)
	}
	key, _ := gm.GenerateKey(nil)
	der, _ := key.Public().MarshalPKIX()
	good := func() account.SignInRequest {
		return account.SignInRequest{Name: "alice", Password: "correct horse battery", Code: code(t, enr.Secret, clk.Now()), Key: der, Source: "192.0.2.5:1"}
	}
	tok, sess, err := s.SignIn(ctx, good())
	if err != nil || !sess.Expires.Equal(t0.Add(8*time.Hour)) {
		t.Fatalf("sign in: %+v %v", sess, err)
	}
	p, err := s.Authenticate(ctx, tok)
	if err != nil || p.Who() != "supervisor alice" || p.Role != account.Viewer || p.Jurisdiction != "4403" || p.Key == nil || !p.Key.Equal(key.Public()) {
		t.Fatalf("principal %+v %v", p, err)
	}
	// The same code again (a replay of the sign-in) is refused.
	again := good()
	if _, _, err := s.SignIn(ctx, again); !errors.Is(err, account.ErrSignIn) {
		t.Fatalf("code reused: %v", err)
	}
	clk.Advance(30 * time.Second)
	tests := []struct {
		name    string
		mutate  func(r *account.SignInRequest)
		wantErr error
	}{
		{name: "wrong password", mutate: func(r *account.SignInRequest) { r.Password = "wrong horse battery" }, wantErr: account.ErrSignIn},
		{name: "wrong code", mutate: func(r *account.SignInRequest) { r.Code = "000000" }, wantErr: account.ErrSignIn},
		{name: "old code", mutate: func(r *account.SignInRequest) { r.Code = code(t, enr.Secret, t0.Add(-2*time.Minute)) }, wantErr: account.ErrSignIn},
		{name: "unknown account", mutate: func(r *account.SignInRequest) { r.Name = "mallory" }, wantErr: account.ErrSignIn},
		{name: "not an SM2 key", mutate: func(r *account.SignInRequest) { r.Key = []byte("x") }, wantErr: account.ErrBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.mutate(&r)
			if _, _, err := s.SignIn(ctx, r); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
	// Three failures so far; two more lock the account, even for the right password.
	for range 2 {
		r := good()
		r.Password = "nope nope nope"
		s.SignIn(ctx, r)
	}
	if _, _, err := s.SignIn(ctx, good()); !errors.Is(err, account.ErrLocked) {
		t.Fatalf("after 5 failures: %v", err)
	}
	clk.Advance(account.LockFor)
	tok2, _, err := s.SignIn(ctx, good())
	if err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// Sessions expire, can be signed out, and end with the account.
	if err := s.SignOut(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); !errors.Is(err, account.ErrSession) {
		t.Fatalf("signed-out session: %v", err)
	}
	if _, err := s.Authenticate(ctx, tok2); err != nil {
		t.Fatalf("other session: %v", err)
	}
	clk.Advance(8 * time.Hour)
	if _, err := s.Authenticate(ctx, tok2); !errors.Is(err, account.ErrSession) {
		t.Fatalf("expired session: %v", err)
	}
	clk.Advance(time.Minute)
	tok3, _, err := s.SignIn(ctx, good())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Disable(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok3); !errors.Is(err, account.ErrSession) {
		t.Fatalf("session of a disabled account: %v", err)
	}
	clk.Advance(time.Minute)
	if _, _, err := s.SignIn(ctx, good()); !errors.Is(err, account.ErrSignIn) {
		t.Fatalf("disabled account signs in: %v", err)
	}
	if _, err := s.Authenticate(ctx, "rcses_nonsense"); !errors.Is(err, account.ErrSession) {
		t.Fatalf("unknown session: %v", err)
	}
}

func TestScopeChangeApplies(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	s := newService(t, clk)
	enr, err := s.CreateAccount(ctx, "carol", account.Auditor, "44", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.SignIn(ctx, account.SignInRequest{Name: "carol", Password: "correct horse battery", Code: code(t, enr.Secret, t0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetScope(ctx, "carol", account.Viewer, "4403"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, tok)
	if err != nil || p.Role != account.Viewer || p.Jurisdiction != "4403" || p.Covers("440100") || !p.Covers("440305") {
		t.Fatalf("principal after the change %+v %v", p, err)
	}
	if err := s.SetScope(ctx, "carol", "boss", ""); !errors.Is(err, account.ErrBadInput) {
		t.Fatalf("bad role: %v", err)
	}
	// A new password ends the sessions.
	if err := s.SetPassword(ctx, "carol", "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); !errors.Is(err, account.ErrSession) {
		t.Fatalf("session after a password change: %v", err)
	}
}

func TestMemoryStoreSuite(t *testing.T) {
	accounttest.Run(t, func(t *testing.T) account.Store { return account.NewMemoryStore() })
}
