package account

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// Role is what a supervisor (or an automation token) may do.
type Role string

// Roles.
const (
	// Viewer queries records, flags and devices of its jurisdiction
	// (personal fields masked) and reveals them one record at a time,
	// giving a reason.
	Viewer Role = "viewer"
	// Auditor queries like a viewer, reads and verifies the audit log, and
	// never reveals.
	Auditor Role = "auditor"
	// Administrator may do everything a viewer and an auditor may.
	Administrator Role = "administrator"
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Viewer, Auditor, Administrator:
		return r, nil
	}
	return "", fmt.Errorf("%w: role %q (viewer, auditor or administrator)", ErrBadInput, s)
}

// CanReveal reports whether the role may reveal personal fields.
func (r Role) CanReveal() bool { return r == Viewer || r == Administrator }

// CanAudit reports whether the role may read the audit log.
func (r Role) CanAudit() bool { return r == Auditor || r == Administrator }

// CanQuery reports whether the role may query records, flags and devices.
func (r Role) CanQuery() bool { return r == Viewer || r == Auditor || r == Administrator }

// National is the jurisdiction of the whole country: every region.
const National = "*"

// ParseJurisdiction checks a jurisdiction: National ("*" or "all"), or a
// region-code prefix of 2, 4 or 6 digits (province, city, county).
func ParseJurisdiction(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == National || strings.EqualFold(s, "all") {
		return National, nil
	}
	if (len(s) == 2 || len(s) == 4 || len(s) == 6) && strings.Trim(s, "0123456789") == "" && !strings.HasPrefix(s, "00") {
		return s, nil
	}
	return "", fmt.Errorf("%w: jurisdiction %q: give a region-code prefix of 2, 4 or 6 digits (44, 4403, 440305) or all", ErrBadInput, s)
}

// Covers reports whether jurisdiction j covers region (a device's
// jurisdiction): National covers everything, a prefix every region it
// begins. An empty region (a device enrolled without one) is covered by
// National only.
func Covers(j, region string) bool {
	if j == National {
		return true
	}
	return j != "" && region != "" && strings.HasPrefix(region, j)
}

// Account is a named supervisor.
type Account struct {
	Name         string
	Role         Role
	Jurisdiction string // National or a region-code prefix
	PasswordHash string // PHC string of argon2id
	TOTPSealed   []byte // the TOTP secret, sealed with the hub's data key
	TOTPStep     uint64 // the newest TOTP time step used (each code works once)
	Failures     int    // failed sign-ins in a row
	LockedUntil  time.Time
	Created      time.Time
	Disabled     time.Time // zero: active
}

// ValidName checks an account name: 1–64 letters, digits, '.', '_', '-'.
func ValidName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: account name of %d bytes (1–64)", ErrBadInput, len(name))
	}
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: account name %q: letters, digits, '.', '_' and '-' only", ErrBadInput, name)
		}
	}
	return nil
}

// Session is a signed-in supervisor's session. Only the token's SM3 hash is
// stored.
type Session struct {
	Hash    [gm.SM3Size]byte
	Account string
	Created time.Time
	Expires time.Time
	Revoked time.Time // zero: not revoked
	Source  string    // where the sign-in came from
	// Key is the session's SM2 public key (PKIX DER), given at sign-in:
	// responses with personal fields are sealed to it. Nil: none given.
	Key []byte
}

// Scope is the role and jurisdiction of an automation token, or (Role
// empty) the jurisdiction of a device.
type Scope struct {
	Role         Role
	Jurisdiction string
}

// Scope keys.
func TokenScopeKey(hash [gm.SM3Size]byte) string { return fmt.Sprintf("token/%x", hash) }

// DeviceScopeKey is the scope key of a device's jurisdiction.
func DeviceScopeKey(id string) string { return "device/" + id }

// Store is the persistence of accounts, sessions and scopes.
// Implementations must pass the suite in package accounttest. All methods
// are safe for concurrent use.
type Store interface {
	// CreateAccount stores a new account (ErrExists when the name is taken).
	CreateAccount(ctx context.Context, a Account) error
	// Account returns the account (ErrNotFound).
	Account(ctx context.Context, name string) (Account, error)
	// Accounts lists every account by name.
	Accounts(ctx context.Context) ([]Account, error)
	// UpdateAccount changes the account atomically: fn gets the stored
	// account and its changes are stored when it returns nil (ErrNotFound;
	// fn's error is returned as is and nothing is stored).
	UpdateAccount(ctx context.Context, name string, fn func(a *Account) error) error
	// PutSession stores a new session.
	PutSession(ctx context.Context, s Session) error
	// Session returns the session with hash (ErrNotFound).
	Session(ctx context.Context, hash [gm.SM3Size]byte) (Session, error)
	// RevokeSessions revokes every unrevoked session of account at at and
	// returns how many (0 for none). With a non-zero only, just that one
	// (ErrNotFound when it is not the account's).
	RevokeSessions(ctx context.Context, account string, only [gm.SM3Size]byte, at time.Time) (int, error)
	// PruneSessions deletes the sessions that expired before before.
	PruneSessions(ctx context.Context, before time.Time) (int, error)
	// PutScope stores the scope under key (replacing one).
	PutScope(ctx context.Context, key string, s Scope) error
	// Scope returns the scope under key (false: none).
	Scope(ctx context.Context, key string) (Scope, bool, error)
}
