package records

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// KeySource unlocks the device keyring (package keys): a legacy slot
// (KeyFile, Passphrase, OfficerPIN) or a keyring a vault session unlocked
// (Unlocked).
type KeySource = keys.Source

// KeyFilePath is the conventional key file of a database: dbPath + ".key".
func KeyFilePath(dbPath string) string { return keys.KeyFilePath(dbPath) }

// KeyFile is the legacy key-file source (keys.KeyFile): the demo world and
// tests of other packages use it; terminals use a vault session.
func KeyFile(path string) KeySource { return keys.KeyFile(path) }

// PassphraseIterations is the PBKDF2-HMAC-SM3 count of legacy passphrase slots.
const PassphraseIterations = keys.PassphraseIterations

// Passphrase is the legacy passphrase source (keys.Passphrase).
func Passphrase(pin string) KeySource { return keys.Passphrase(pin) }

// OfficerSlotPrefix starts the slot names of OfficerPIN sources.
const OfficerSlotPrefix = keys.OfficerSlotPrefix

// OfficerPIN is the legacy per-officer PIN source (keys.OfficerPIN), read
// to migrate terminals from before the vault.
func OfficerPIN(officerID, pin string) KeySource { return keys.OfficerPIN(officerID, pin) }

// Unlocked is the source of a keyring a vault session unlocked
// (keys.Session.Keyring): what the GUI and rcctl open the store with.
func Unlocked(k *keys.Keyring) KeySource { return keys.Unlocked(k) }

// Device describes a database's device without unlocking it.
type Device struct {
	// ID is the device id ("" when the database has no device yet).
	ID string
	// Slots are the names of its legacy key slots, sorted.
	Slots []string
}

// HasSlot reports whether the device has the slot named name.
func (d Device) HasSlot(name string) bool { return slices.Contains(d.Slots, name) }

// PeekDevice reads the device id and legacy key slot names of db without
// a key (the zero Device when db has no device yet).
func PeekDevice(ctx context.Context, db *storage.DB) (Device, error) {
	var d Device
	if err := ctx.Err(); err != nil {
		return d, err
	}
	err := db.View(func(tx *bolt.Tx) error {
		if dev := tx.Bucket(storage.BucketDevice); dev != nil {
			if id := dev.Get(keyDeviceID); id != nil {
				d.ID = strings.Clone(string(id))
			}
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	d.Slots, err = keys.Slots(ctx, db)
	return d, err
}

// KeySlots lists the names of the store's legacy key slots, sorted.
func (s *Store) KeySlots(ctx context.Context) ([]string, error) { return keys.Slots(ctx, s.db) }

// AddKeySource adds (or replaces) the legacy slot of ks over the store's
// data key.
func (s *Store) AddKeySource(ctx context.Context, ks KeySource) error {
	return classifyWrite(keys.AddSlot(ctx, s.db, s.kr, ks))
}

// RemoveKeySource deletes the legacy slot named name; the last way to the
// data key cannot be removed (ErrSlot).
func (s *Store) RemoveKeySource(ctx context.Context, name string) error {
	return classifyWrite(keys.RemoveSlot(ctx, s.db, name))
}

// PeekSyncState reads the stored sync state of db without a key (the hub
// URL and pinned CA are not secret): the zero SyncState when db has no
// device or was never enrolled. It lets a command say "not enrolled"
// before asking for a PIN.
func PeekSyncState(ctx context.Context, db *storage.DB) (SyncState, error) {
	var st SyncState
	if err := ctx.Err(); err != nil {
		return st, err
	}
	err := db.View(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		if dev == nil || dev.Get(keySync) == nil {
			return nil
		}
		if err := cbor.Unmarshal(dev.Get(keySync), &st); err != nil {
			return fmt.Errorf("%w: sync state: %v", storage.ErrDamaged, err)
		}
		return nil
	})
	st.HubTime, st.LocalTime = fromMS(st.HubTimeMS), fromMS(st.LocalTimeMS)
	return st, err
}
