package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/account"
)

// Automation tokens: static supervisor tokens, always with a scope (role
// and jurisdiction) and an expiry.
const (
	// DefaultSupervisorTTL is the validity of a supervisor token created
	// without one.
	DefaultSupervisorTTL = 30 * 24 * time.Hour
	// MaxSupervisorTTL is the longest validity of a supervisor token.
	MaxSupervisorTTL = 366 * 24 * time.Hour
)

// CreateScopedToken creates a token of role with a scope: for a
// supervisor token the role (viewer or auditor: administrators sign in)
// and jurisdiction of its queries; for a device token the jurisdiction the
// device it enrols gets (sc.Role empty; an empty jurisdiction: national
// supervisors only see the device). The scope is stored before the token,
// so a token never exists without it. ttl is capped at MaxSupervisorTTL for
// supervisor tokens.
func CreateScopedToken(ctx context.Context, st Store, acc account.Store, role Role, sc account.Scope, label string, ttl time.Duration, now time.Time) (string, error) {
	switch role {
	case RoleSupervisor:
		if sc.Role != account.Viewer && sc.Role != account.Auditor {
			return "", fmt.Errorf("%w: an automation token is a viewer or an auditor, not %q (administrators sign in)", ErrBadInput, sc.Role)
		}
		if ttl > MaxSupervisorTTL {
			return "", fmt.Errorf("%w: a supervisor token lasts at most %s", ErrBadInput, MaxSupervisorTTL)
		}
	case RoleDevice:
		if sc.Role != "" {
			return "", fmt.Errorf("%w: an enrolment token has a jurisdiction, not a role", ErrBadInput)
		}
	}
	if sc.Jurisdiction != "" {
		j, err := account.ParseJurisdiction(sc.Jurisdiction)
		if err != nil {
			return "", err
		}
		sc.Jurisdiction = j
	} else if role == RoleSupervisor {
		return "", fmt.Errorf("%w: a supervisor token needs a jurisdiction (a region-code prefix, or all)", ErrBadInput)
	}
	tok, hash, err := newToken(role)
	if err != nil {
		return "", err
	}
	if sc.Jurisdiction != "" || sc.Role != "" {
		if err := acc.PutScope(ctx, account.TokenScopeKey(hash), sc); err != nil {
			return "", err
		}
	}
	return tok, putToken(ctx, st, tok, role, label, ttl, now)
}

// TokenScope returns the scope of the token with hash (false: none).
func TokenScope(ctx context.Context, acc account.Store, hash [gm.SM3Size]byte) (account.Scope, bool, error) {
	return acc.Scope(ctx, account.TokenScopeKey(hash))
}

// newToken makes a fresh token of role and its hash.
func newToken(role Role) (string, [gm.SM3Size]byte, error) {
	prefix := devicePrefix
	switch role {
	case RoleDevice:
	case RoleSupervisor:
		prefix = supervisorPrefix
	default:
		return "", [gm.SM3Size]byte{}, fmt.Errorf("%w: role %q (device or supervisor)", ErrBadInput, role)
	}
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return "", [gm.SM3Size]byte{}, err
	}
	tok := prefix + hex.EncodeToString(raw)
	return tok, gm.SM3([]byte(tok)), nil
}

// putToken stores tok with the defaults of CreateToken.
func putToken(ctx context.Context, st Store, tok string, role Role, label string, ttl time.Duration, now time.Time) error {
	if ttl == 0 {
		ttl = 24 * time.Hour
		if role == RoleSupervisor {
			ttl = DefaultSupervisorTTL
		}
	}
	return st.PutToken(ctx, Token{Hash: gm.SM3([]byte(tok)), Role: role, Label: label, Created: now, Expires: now.Add(ttl)})
}
