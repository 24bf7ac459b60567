package keys

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// LegacyOfficer is an officer of the directory file of an earlier version
// (the GUI's officers.json): a PBKDF2-HMAC-SM3 hash of the PIN, no sealed
// slot. ImportLegacy takes them into the vault once.
type LegacyOfficer struct {
	ID, Name    string
	Role        Role
	Iterations  int
	Salt        []byte // 16 bytes
	Hash        []byte // 32 bytes: PBKDF2-HMAC-SM3(PIN, Salt, Iterations)
	Failures    int
	LockedUntil time.Time
}

// Skipped is an officer ImportLegacy left out, and why.
type Skipped struct {
	ID     string
	Reason string
}

// ImportLegacy puts the officers of an earlier version's directory file
// into a vault that has no officers yet, each as an imported entry
// (Officer.Legacy): the officer's first sign-in checks the PIN against the
// imported hash, unlocks the data key with the earlier version's slot
// (their PIN slot, else the legacy key file) — or, on a terminal that
// never stored a record, creates the keyring — and moves them to a sealed
// slot; a PIN shorter than MinPINLength is refused then (ErrWeakPIN: a
// supervisor resets it). Entries an earlier version could not have written, or
// below the floor (iterations, hash sizes, roles, IDs and names), are
// skipped and listed; the rest are imported. A vault that has officers
// imports nothing (ErrOfficer): the import happens once.
func (v *Vault) ImportLegacy(ctx context.Context, officers []LegacyOfficer) (imported int, skipped []Skipped, err error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.dir.Officers) > 0 {
		return 0, nil, fmt.Errorf("%w: the terminal already has officers: nothing imported", ErrOfficer)
	}
	next := directory{Version: directoryVersion}
	seen := map[string]bool{}
	for _, o := range officers {
		id := strings.TrimSpace(o.ID)
		skip := func(format string, args ...any) {
			skipped = append(skipped, Skipped{ID: id, Reason: fmt.Sprintf(format, args...)})
		}
		switch {
		case !ValidOfficerID(id) || seen[id]:
			skip("invalid or repeated officer ID")
		case !validName(o.Name):
			skip("invalid name")
		case !o.Role.Valid():
			skip("unknown role")
		case o.Iterations < v.floor || o.Iterations > maxIterations:
			skip("PIN hash with %d iterations (floor %d)", o.Iterations, v.floor)
		case len(o.Salt) != 16 || len(o.Hash) != 32:
			skip("damaged salt or PIN hash")
		case len(next.Officers) >= maxOfficers:
			skip("more than %d officers", maxOfficers)
		default:
			e := entry{ID: id, Name: strings.TrimSpace(o.Name), Role: o.Role, Iter: o.Iterations, Salt: slices.Clone(o.Salt),
				// The PIN's length is unknown until the first sign-in, which
				// refuses a PIN below MinPINLength.
				PINLen: MinPINLength, LegacyHash: slices.Clone(o.Hash)}
			if o.Failures > 0 && o.Failures < MaxPINAttempts {
				e.Failures = o.Failures
			}
			if !o.LockedUntil.IsZero() && o.LockedUntil.After(v.clk.Now()) {
				e.LockedUntil = o.LockedUntil.UnixMilli()
			}
			next.Officers = append(next.Officers, e)
			seen[id] = true
		}
	}
	if len(next.Officers) == 0 {
		return 0, skipped, nil
	}
	if err := v.write(next, nil); err != nil {
		return 0, skipped, err
	}
	return len(next.Officers), skipped, nil
}

// firstKeyring creates and stores the device keyring of a terminal that
// has none, for an imported officer's first sign-in on a terminal that
// never stored a record; v.mu is held.
func (v *Vault) firstKeyring(ctx context.Context) (*Keyring, error) {
	k, err := Generate(v.rand)
	if err != nil {
		return nil, err
	}
	err = v.db.Update(func(tx *bolt.Tx) error {
		dev, err := tx.CreateBucketIfNotExists(storage.BucketDevice)
		if err != nil {
			return err
		}
		if dev.Get(keySignKey) != nil {
			return fmt.Errorf("keys: device keys created concurrently")
		}
		return putKeyring(dev, k)
	})
	if err != nil {
		return nil, fmt.Errorf("keys: storing the device keys: %w", err)
	}
	return k, nil
}

// PeekKind returns the kind of device root db's keys are bound to
// (KindTPM or KindFile) without a device or a PIN, "" when db has no key
// vault yet: for a status line of a command that does not unlock.
func PeekKind(ctx context.Context, db *storage.DB) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var kind string
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(storage.BucketKeys)
		if b == nil || b.Get(keyDeviceSeal) == nil {
			return nil
		}
		var ds deviceSeal
		if err := strictDec.Unmarshal(b.Get(keyDeviceSeal), &ds); err != nil {
			return fmt.Errorf("%w: device seal: %v", ErrMalformed, err)
		}
		kind = ds.Kind
		return nil
	})
	return kind, err
}
