package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
)

// Sealer seals secrets at rest (the hub's data key: gm.AEAD).
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// Options configure a Service.
type Options struct {
	Store  Store
	Sealer Sealer
	Clock  clock.Clock // nil: the real clock
	// SessionTTL is how long a session lasts (default 8 h).
	SessionTTL time.Duration
	// Argon2 are the parameters of new password hashes (default
	// DefaultArgon2; tests use cheaper ones).
	Argon2 *Argon2
	// Issuer names the hub in authenticator apps (default "RoadCheck hub").
	Issuer string
}

// Lockout after failed sign-ins.
const (
	MaxFailures = 5
	LockFor     = 15 * time.Minute
)

// SessionPrefix begins every session token.
const SessionPrefix = "rcses_"

// totp parameters: RFC 6238 defaults, as authenticator apps expect them.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Service manages accounts and sessions.
type Service struct {
	o         Options
	dummyOnce sync.Once
	dummy     string // a hash to check against for unknown accounts (the same time)
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Sealer == nil {
		return nil, fmt.Errorf("%w: Store and Sealer are required", ErrBadInput)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.Argon2 == nil {
		p := DefaultArgon2
		o.Argon2 = &p
	}
	if o.Issuer == "" {
		o.Issuer = "RoadCheck hub"
	}
	return &Service{o: o}, nil
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.o.Store }

func totpAD(name string) []byte { return []byte("RC-TOTP-1\n" + name) }

// Enrolment is what a new account (or a TOTP reset) gives the supervisor:
// the secret for the authenticator app, as an otpauth:// URL (for a QR
// code) and in base32.
type Enrolment struct {
	URL    string
	Secret string
}

func (s *Service) newTOTP(name string) (*otp.Key, []byte, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: s.o.Issuer, AccountName: name, Period: totpOpts.Period, Digits: totpOpts.Digits,
		Algorithm: totpOpts.Algorithm})
	if err != nil {
		return nil, nil, err
	}
	sealed, err := s.o.Sealer.Seal([]byte(k.Secret()), totpAD(name))
	if err != nil {
		return nil, nil, err
	}
	return k, sealed, nil
}

// CreateAccount creates a supervisor account and returns its TOTP
// enrolment. ErrExists, ErrBadInput, ErrWeakPassword.
func (s *Service) CreateAccount(ctx context.Context, name string, role Role, jurisdiction, password string) (Enrolment, error) {
	if err := ValidName(name); err != nil {
		return Enrolment{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return Enrolment{}, err
	}
	j, err := ParseJurisdiction(jurisdiction)
	if err != nil {
		return Enrolment{}, err
	}
	if len([]rune(password)) < MinPassword {
		return Enrolment{}, fmt.Errorf("%w: at least %d characters", ErrWeakPassword, MinPassword)
	}
	hash, err := HashPassword(password, *s.o.Argon2)
	if err != nil {
		return Enrolment{}, err
	}
	k, sealed, err := s.newTOTP(name)
	if err != nil {
		return Enrolment{}, err
	}
	a := Account{Name: name, Role: role, Jurisdiction: j, PasswordHash: hash, TOTPSealed: sealed, Created: s.o.Clock.Now()}
	if err := s.o.Store.CreateAccount(ctx, a); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{URL: k.URL(), Secret: k.Secret()}, nil
}

// SetPassword replaces an account's password and ends its sessions.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	if len([]rune(password)) < MinPassword {
		return fmt.Errorf("%w: at least %d characters", ErrWeakPassword, MinPassword)
	}
	hash, err := HashPassword(password, *s.o.Argon2)
	if err != nil {
		return err
	}
	if err := s.o.Store.UpdateAccount(ctx, name, func(a *Account) error {
		a.PasswordHash, a.Failures, a.LockedUntil = hash, 0, time.Time{}
		return nil
	}); err != nil {
		return err
	}
	_, err = s.o.Store.RevokeSessions(ctx, name, [gm.SM3Size]byte{}, s.o.Clock.Now())
	return err
}

// ResetTOTP gives an account a new TOTP secret and ends its sessions.
func (s *Service) ResetTOTP(ctx context.Context, name string) (Enrolment, error) {
	k, sealed, err := s.newTOTP(name)
	if err != nil {
		return Enrolment{}, err
	}
	if err := s.o.Store.UpdateAccount(ctx, name, func(a *Account) error {
		a.TOTPSealed, a.TOTPStep = sealed, 0
		return nil
	}); err != nil {
		return Enrolment{}, err
	}
	if _, err := s.o.Store.RevokeSessions(ctx, name, [gm.SM3Size]byte{}, s.o.Clock.Now()); err != nil {
		return Enrolment{}, err
	}
	return Enrolment{URL: k.URL(), Secret: k.Secret()}, nil
}

// SetScope changes an account's role and jurisdiction (zero values keep
// them); its sessions see the change at their next request.
func (s *Service) SetScope(ctx context.Context, name string, role Role, jurisdiction string) error {
	if role != "" {
		if _, err := ParseRole(string(role)); err != nil {
			return err
		}
	}
	j := ""
	if jurisdiction != "" {
		var err error
		if j, err = ParseJurisdiction(jurisdiction); err != nil {
			return err
		}
	}
	return s.o.Store.UpdateAccount(ctx, name, func(a *Account) error {
		if role != "" {
			a.Role = role
		}
		if j != "" {
			a.Jurisdiction = j
		}
		return nil
	})
}

// Disable disables an account (it can no longer sign in) and ends its
// sessions; Enable undoes it.
func (s *Service) Disable(ctx context.Context, name string) error {
	now := s.o.Clock.Now()
	if err := s.o.Store.UpdateAccount(ctx, name, func(a *Account) error {
		if a.Disabled.IsZero() {
			a.Disabled = now
		}
		return nil
	}); err != nil {
		return err
	}
	_, err := s.o.Store.RevokeSessions(ctx, name, [gm.SM3Size]byte{}, now)
	return err
}

// Enable re-enables a disabled account.
func (s *Service) Enable(ctx context.Context, name string) error {
	return s.o.Store.UpdateAccount(ctx, name, func(a *Account) error {
		a.Disabled, a.Failures, a.LockedUntil = time.Time{}, 0, time.Time{}
		return nil
	})
}

// SignInRequest is what a supervisor gives to sign in.
type SignInRequest struct {
	Name, Password, Code string
	// Key is the client's SM2 public key (PKIX DER) responses with
	// personal fields are sealed to; optional.
	Key    []byte
	Source string
}

// totpStep returns the time step at which code is valid around now for
// secret, or 0.
func totpStep(secret, code string, now time.Time) uint64 {
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0
	}
	period := int64(totpOpts.Period)
	cur := now.Unix() / period
	for d := -int64(totpOpts.Skew); d <= int64(totpOpts.Skew); d++ {
		step := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*period, 0), totpOpts)
		if err == nil && hmac.Equal([]byte(want), []byte(code)) {
			return uint64(step)
		}
	}
	return 0
}

// SignIn checks a supervisor's password and TOTP code and opens a session;
// it returns the session token (shown once) and the session. ErrSignIn for
// any wrong part (or a disabled or unknown account), ErrLocked while the
// account is locked after MaxFailures failures.
func (s *Service) SignIn(ctx context.Context, req SignInRequest) (string, Session, error) {
	now := s.o.Clock.Now()
	if len(req.Key) > 0 {
		if _, err := gm.ParsePKIX(req.Key); err != nil {
			return "", Session{}, fmt.Errorf("%w: key is not an SM2 public key", ErrBadInput)
		}
	}
	a, err := s.o.Store.Account(ctx, req.Name)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.Disabled.IsZero()) {
		s.dummyOnce.Do(func() { s.dummy, _ = HashPassword("not a password of anyone", *s.o.Argon2) })
		CheckPassword(s.dummy, req.Password) // the same time as a known account
		return "", Session{}, ErrSignIn
	}
	if err != nil {
		return "", Session{}, err
	}
	if now.Before(a.LockedUntil) {
		return "", Session{}, fmt.Errorf("%w until %s", ErrLocked, a.LockedUntil.UTC().Format(time.RFC3339))
	}
	ok := CheckPassword(a.PasswordHash, req.Password)
	var step uint64
	if ok {
		secret, err := s.o.Sealer.Open(a.TOTPSealed, totpAD(a.Name))
		if err != nil {
			return "", Session{}, fmt.Errorf("account: TOTP secret of %s: %w", a.Name, err)
		}
		step = totpStep(string(secret), req.Code, now)
		ok = step != 0
	}
	err = s.o.Store.UpdateAccount(ctx, a.Name, func(u *Account) error {
		if ok && step > u.TOTPStep {
			u.TOTPStep, u.Failures = step, 0
			return nil
		}
		ok = false // a wrong part, or a code used before
		if u.Failures++; u.Failures >= MaxFailures {
			u.LockedUntil, u.Failures = now.Add(LockFor), 0
		}
		return nil
	})
	if err != nil {
		return "", Session{}, err
	}
	if !ok {
		return "", Session{}, ErrSignIn
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Session{}, err
	}
	tok := SessionPrefix + hex.EncodeToString(raw)
	sess := Session{Hash: gm.SM3([]byte(tok)), Account: a.Name, Created: now, Expires: now.Add(s.o.SessionTTL), Source: req.Source, Key: req.Key}
	if err := s.o.Store.PutSession(ctx, sess); err != nil {
		return "", Session{}, err
	}
	// Sessions expired for a day go: a sign-in is rare enough to pay for it.
	if _, err := s.o.Store.PruneSessions(ctx, now.Add(-24*time.Hour)); err != nil {
		return "", Session{}, err
	}
	return tok, sess, nil
}

// Principal is an authenticated supervisor: a session's account, or an
// automation token.
type Principal struct {
	Kind         string // "session" or "token"
	Name         string // account name, or token id
	Role         Role
	Jurisdiction string
	Expires      time.Time
	// Key is the session's SM2 key, when its sign-in gave one: responses
	// with personal fields are sealed to it.
	Key     *gm.PublicKey
	Session [gm.SM3Size]byte // the session's hash (Kind "session")
}

// Who names the principal in the audit log.
func (p Principal) Who() string {
	if p.Kind == "session" {
		return "supervisor " + p.Name
	}
	return "token " + p.Name
}

// Covers reports whether the principal's jurisdiction covers region.
func (p Principal) Covers(region string) bool { return Covers(p.Jurisdiction, region) }

// IsSession reports whether tok has the form of a session token.
func IsSession(tok string) bool { return strings.HasPrefix(tok, SessionPrefix) }

// Authenticate returns the principal of a session token. ErrSession for an
// unknown, expired or revoked session or a disabled account.
func (s *Service) Authenticate(ctx context.Context, tok string) (Principal, error) {
	sess, err := s.o.Store.Session(ctx, gm.SM3([]byte(tok)))
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrSession
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.o.Clock.Now()
	if !sess.Revoked.IsZero() || !now.Before(sess.Expires) {
		return Principal{}, ErrSession
	}
	a, err := s.o.Store.Account(ctx, sess.Account)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.Disabled.IsZero()) {
		return Principal{}, ErrSession
	}
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Kind: "session", Name: a.Name, Role: a.Role, Jurisdiction: a.Jurisdiction, Expires: sess.Expires, Session: sess.Hash}
	if len(sess.Key) > 0 {
		if p.Key, err = gm.ParsePKIX(sess.Key); err != nil {
			return Principal{}, fmt.Errorf("account: session key: %w", err)
		}
	}
	return p, nil
}

// SignOut revokes the session of tok (ErrSession when there is none).
func (s *Service) SignOut(ctx context.Context, tok string) error {
	p, err := s.Authenticate(ctx, tok)
	if err != nil {
		return err
	}
	_, err = s.o.Store.RevokeSessions(ctx, p.Name, p.Session, s.o.Clock.Now())
	return err
}

// RevokeSessions ends every session of an account; it returns how many.
func (s *Service) RevokeSessions(ctx context.Context, name string) (int, error) {
	return s.o.Store.RevokeSessions(ctx, name, [gm.SM3Size]byte{}, s.o.Clock.Now())
}
