package records

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
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
func Passphrase(pin string) KeySource { return passphrase{pin: pin, iter: PassphraseIterations} }

type passphrase struct {
	pin  string
	iter int
}

func (p passphrase) Slot() string { return "pin" }
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
