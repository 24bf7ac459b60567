package records

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// KeySource unlocks the device data key. A database may hold several slots,
// one per source: each wraps the same data key.
type KeySource interface {
	// Slot names the slot this source unlocks ("keyfile", "pin").
	Slot() string
	// kek derives the key-encryption key for salt, creating the underlying
	// secret when create is true and it does not exist yet.
	kek(salt []byte, create bool) ([]byte, error)
	// params are stored with the slot (e.g. the PBKDF2 iteration count).
	params() int
}

// KeyFilePath is the conventional key file of a database: dbPath + ".key".
func KeyFilePath(dbPath string) string { return dbPath + ".key" }

// KeyFile is a key source reading 16 random bytes (hex) from path. When the
// database has no device yet, the file is created with mode 0600.
//
// WARNING: the file protects the personal data as well as the file's
// permissions do; it is refused when group or others can read it.
func KeyFile(path string) KeySource { return keyFile{path} }

type keyFile struct{ path string }

func (k keyFile) Slot() string { return "keyfile" }
func (k keyFile) params() int  { return 0 }

func (k keyFile) kek(salt []byte, create bool) ([]byte, error) {
	secret, err := k.read()
	if errors.Is(err, fs.ErrNotExist) && create {
		secret = make([]byte, gm.SM4KeySize)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("records: key file: %w", err)
		}
		if err := storage.WriteKeyFile(k.path, secret); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
			}
			// Another process created it first: use theirs.
			if secret, err = k.read(); err != nil {
				return nil, err
			}
		}
	} else if err != nil {
		return nil, err
	}
	h := gm.NewSM3()
	h.Write([]byte("roadcheck/records/keyfile-kek/v1\x00"))
	h.Write(salt)
	h.Write(secret)
	return h.Sum(nil)[:gm.SM4KeySize], nil
}

func (k keyFile) read() ([]byte, error) {
	secret, err := storage.ReadKeyFile(k.path, gm.SM4KeySize)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	return secret, err
}

// PassphraseIterations is the PBKDF2-HMAC-SM3 iteration count of new
// passphrase slots.
const PassphraseIterations = 200_000

// Passphrase is a key source deriving the key-encryption key from an
// officer's PIN or passphrase with PBKDF2-HMAC-SM3.
//
// WARNING: see the package documentation about short PINs.
func Passphrase(pin string) KeySource {
	return passphrase{name: "pin", pin: pin, iter: PassphraseIterations}
}

// OfficerSlotPrefix starts the slot names of OfficerPIN sources.
const OfficerSlotPrefix = "officer/"

// OfficerPIN is a passphrase key source of one officer: the slot is named
// OfficerSlotPrefix + officerID, so each officer of a terminal has a slot of
// their own, each wrapping the same data key under PBKDF2-HMAC-SM3 of that
// officer's PIN.
func OfficerPIN(officerID, pin string) KeySource {
	return passphrase{name: OfficerSlotPrefix + officerID, pin: pin, iter: PassphraseIterations}
}

type passphrase struct {
	name string
	pin  string
	iter int
}

func (p passphrase) Slot() string { return p.name }
func (p passphrase) params() int  { return p.iter }

func (p passphrase) kek(salt []byte, create bool) ([]byte, error) {
	if p.pin == "" {
		return nil, fmt.Errorf("%w: empty passphrase", ErrWrongKey)
	}
	return pbkdf2.Key(gm.NewSM3, p.pin, salt, p.iter, gm.SM4KeySize)
}

// withParams returns ks with the stored parameters of its slot applied.
func withParams(ks KeySource, iter int) KeySource {
	if p, ok := ks.(passphrase); ok && iter > 0 {
		p.iter = iter
		return p
	}
	return ks
}

// slot is a wrapped data key as stored in BucketDevice under "slot/<name>".
type slot struct {
	Salt   []byte `cbor:"1,keyasint"`
	Iter   int    `cbor:"2,keyasint,omitempty"`
	Sealed []byte `cbor:"3,keyasint"` // SM4-GCM(kek, data key, ad = "slot/<name>")
}

func sealSlot(ks KeySource, dataKey []byte, create bool) (*slot, error) {
	s := &slot{Salt: make([]byte, 16), Iter: ks.params()}
	if _, err := rand.Read(s.Salt); err != nil {
		return nil, fmt.Errorf("records: salt: %w", err)
	}
	kek, err := ks.kek(s.Salt, create)
	if err != nil {
		return nil, err
	}
	a, err := gm.NewAEAD(kek, nil)
	if err != nil {
		return nil, err
	}
	if s.Sealed, err = a.Seal(dataKey, []byte("slot/"+ks.Slot())); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *slot) open(ks KeySource) ([]byte, error) {
	kek, err := withParams(ks, s.Iter).kek(s.Salt, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
		}
		return nil, err
	}
	a, err := gm.NewAEAD(kek, nil)
	if err != nil {
		return nil, err
	}
	dk, err := a.Open(s.Sealed, []byte("slot/"+ks.Slot()))
	if err != nil {
		return nil, ErrWrongKey
	}
	return dk, nil
}

// Device describes a database's device without unlocking it.
type Device struct {
	// ID is the device id ("" when the database has no device yet).
	ID string
	// Slots are the names of its key slots, sorted.
	Slots []string
}

// HasSlot reports whether the device has the slot named name.
func (d Device) HasSlot(name string) bool { return slices.Contains(d.Slots, name) }

// PeekDevice reads the device id and key slot names of db without a key
// (the zero Device when db has no device yet).
func PeekDevice(ctx context.Context, db *storage.DB) (Device, error) {
	var d Device
	if err := ctx.Err(); err != nil {
		return d, err
	}
	err := db.View(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		if dev == nil {
			return nil
		}
		if id := dev.Get(keyDeviceID); id != nil {
			d.ID = string(id)
		}
		c := dev.Cursor()
		for k, _ := c.Seek(slotPrefix); k != nil && strings.HasPrefix(string(k), string(slotPrefix)); k, _ = c.Next() {
			d.Slots = append(d.Slots, string(k[len(slotPrefix):]))
		}
		return nil
	})
	return d, err
}

// KeySlots lists the names of the store's key slots, sorted.
func (s *Store) KeySlots(ctx context.Context) ([]string, error) {
	d, err := PeekDevice(ctx, s.db)
	return d.Slots, err
}
