package keys

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// Entries of storage.BucketDevice that belong to this package (the rest
// of that bucket is package records'). The names are those of earlier
// versions, so old databases open.
var (
	keyPublic  = []byte("public")  // PKIX DER of the device signing key
	keySignKey = []byte("signkey") // SM4-GCM(data key, PKCS#8, ad "signkey")
	slotPrefix = []byte("slot/")   // slot/<name> → legacy wrapped data key
)

// Keyring is the unlocked key material of one terminal: the data key (and
// the keys derived from it) and the device's SM2 signing key. It is safe
// for concurrent use. Nothing outside this package sees the keys: callers
// seal, open, index and sign through it.
type Keyring struct {
	dk     []byte
	aead   *gm.AEAD
	index  []byte
	roles  []byte
	sign   *gm.PrivateKey
	pub    *gm.PublicKey
	pubDER []byte
	rand   io.Reader
}

func derive(key []byte, label string) []byte {
	m := hmac.New(gm.NewSM3, key)
	m.Write([]byte("roadcheck/keys/" + label + "/v1"))
	return m.Sum(nil)
}

func newKeyring(dk []byte, sign *gm.PrivateKey, r io.Reader) (*Keyring, error) {
	if r == nil {
		r = rand.Reader
	}
	a, err := gm.NewAEAD(dk, r)
	if err != nil {
		return nil, err
	}
	der, err := sign.Public().MarshalPKIX()
	if err != nil {
		return nil, err
	}
	return &Keyring{dk: bytes.Clone(dk), aead: a, index: derive(dk, "index"), roles: derive(dk, "roles"),
		sign: sign, pub: sign.Public(), pubDER: der, rand: r}, nil
}

// Seal encrypts plaintext under the data key (SM4-GCM) with associated
// data ad.
func (k *Keyring) Seal(plaintext, ad []byte) ([]byte, error) { return k.aead.Seal(plaintext, ad) }

// Open reverses Seal; tampering or the wrong ad gives gm.ErrDecrypt.
func (k *Keyring) Open(sealed, ad []byte) ([]byte, error) { return k.aead.Open(sealed, ad) }

// IndexSize is the length of a blind index.
const IndexSize = 16

// Index is the blind index of a normalised value for local search:
// HMAC-SM3 under the index key of field ‖ 0 ‖ value, truncated to
// IndexSize bytes. Equal values of one field give equal indexes; without
// the data key an index reveals nothing, not even for low-entropy values
// such as ID-card numbers.
func (k *Keyring) Index(field, value string) []byte {
	m := hmac.New(gm.NewSM3, k.index)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)[:IndexSize]
}

// Sign signs msg with the device's SM2 key (raw r || s). Callers keep the
// messages of their protocols apart (record bodies are CBOR maps, request
// and head signing strings start with "RC-").
func (k *Keyring) Sign(msg []byte) ([]byte, error) { return k.sign.Sign(k.rand, msg) }

// Public is the device's SM2 public key.
func (k *Keyring) Public() *gm.PublicKey { return k.pub }

// PublicDER is Public in PKIX DER form.
func (k *Keyring) PublicDER() []byte { return bytes.Clone(k.pubDER) }

// Source unlocks the data key from a legacy slot of storage.BucketDevice
// (KeyFile, Passphrase, OfficerPIN), or hands over a keyring already
// unlocked (Unlocked, what a vault session gives).
type Source interface {
	// Slot names the slot this source unlocks ("keyfile", "pin",
	// "officer/<ID>"; "" for Unlocked).
	Slot() string
	// kek derives the key-encryption key for salt, creating the underlying
	// secret when create is true and it does not exist yet.
	kek(salt []byte, create bool) ([]byte, error)
	// params are stored with the slot (e.g. the PBKDF2 iteration count).
	params() int
}

// Unlocked is the source of a keyring already unlocked (by a vault
// session): Load checks that it is this database's and returns it.
func Unlocked(k *Keyring) Source { return unlocked{k} }

type unlocked struct{ k *Keyring }

func (u unlocked) Slot() string                            { return "" }
func (u unlocked) kek(salt []byte, c bool) ([]byte, error) { return nil, ErrWrongKey }
func (u unlocked) params() int                             { return 0 }

// KeyFilePath is the conventional key file of a database: dbPath + ".key".
func KeyFilePath(dbPath string) string { return dbPath + ".key" }

// KeyFile is a legacy source reading 16 random bytes (hex) from path. When
// the database has no device yet, the file is created with mode 0600.
//
// WARNING: the file protects the data as well as the file's permissions
// do, beside the database, with no officer involved: RoadCheck's programs
// use it only for the demo world and to migrate old terminals; tests of
// other packages use it as a fixture. It is refused when group or others
// can read it.
func KeyFile(path string) Source { return keyFile{path} }

type keyFile struct{ path string }

func (k keyFile) Slot() string { return "keyfile" }
func (k keyFile) params() int  { return 0 }

func (k keyFile) kek(salt []byte, create bool) ([]byte, error) {
	secret, err := k.read()
	if errors.Is(err, fs.ErrNotExist) && create {
		secret = make([]byte, gm.SM4KeySize)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("keys: key file: %w", err)
		}
		if err := storage.WriteKeyFile(k.path, secret); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
			}
			if secret, err = k.read(); err != nil { // another process created it first
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
// legacy passphrase slots.
const PassphraseIterations = 200_000

// Passphrase is a legacy source deriving the key-encryption key from a PIN
// or passphrase alone (PBKDF2-HMAC-SM3), slot "pin".
//
// WARNING: without a device-bound secret a 6-digit PIN falls to an offline
// search of a copied database; new terminals use the vault.
func Passphrase(pin string) Source {
	return passphrase{name: "pin", pin: pin, iter: PassphraseIterations}
}

// OfficerSlotPrefix starts the slot names of OfficerPIN sources.
const OfficerSlotPrefix = "officer/"

// OfficerPIN is the legacy passphrase source of one officer, slot
// "officer/<ID>" (terminals before the vault). Read for migration only.
func OfficerPIN(officerID, pin string) Source {
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

// maxSlotIterations bounds the PBKDF2 cost a stored slot may ask for.
const maxSlotIterations = 10_000_000

func withParams(ks Source, iter int) Source {
	if p, ok := ks.(passphrase); ok && iter > 0 {
		p.iter = iter
		return p
	}
	return ks
}

// slot is a legacy wrapped data key as stored under "slot/<name>".
type slot struct {
	Salt   []byte `cbor:"1,keyasint"`
	Iter   int    `cbor:"2,keyasint,omitempty"`
	Sealed []byte `cbor:"3,keyasint"` // SM4-GCM(kek, data key, ad = "slot/<name>")
}

// ParseSlot parses a stored legacy key slot; errors wrap ErrMalformed.
func ParseSlot(data []byte) (*slot, error) {
	var s slot
	if err := strictDec.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: key slot: %v", ErrMalformed, err)
	}
	switch {
	case len(s.Salt) != 16:
		return nil, fmt.Errorf("%w: key slot salt of %d bytes", ErrMalformed, len(s.Salt))
	case s.Iter < 0 || s.Iter > maxSlotIterations:
		return nil, fmt.Errorf("%w: key slot with %d iterations", ErrMalformed, s.Iter)
	case len(s.Sealed) != gm.GCMNonceSize+gm.SM4KeySize+16:
		return nil, fmt.Errorf("%w: sealed key of %d bytes", ErrMalformed, len(s.Sealed))
	}
	return &s, nil
}

func sealSlot(ks Source, dataKey []byte, create bool) (*slot, error) {
	s := &slot{Salt: make([]byte, 16), Iter: ks.params()}
	if _, err := rand.Read(s.Salt); err != nil {
		return nil, fmt.Errorf("keys: salt: %w", err)
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

func (s *slot) open(ks Source) ([]byte, error) {
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

func slotKey(name string) []byte { return append(bytes.Clone(slotPrefix), name...) }

// Exists reports whether db holds a device keyring (a signing key).
func Exists(ctx context.Context, db *storage.DB) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	found := false
	err := db.View(func(tx *bolt.Tx) error {
		if dev := tx.Bucket(storage.BucketDevice); dev != nil {
			found = dev.Get(keySignKey) != nil
		}
		return nil
	})
	return found, err
}

// Load unlocks the keyring of db with src: the data key from src's slot
// (or src's keyring, for Unlocked), then the signing key. A source whose
// slot is absent or does not open gives ErrWrongKey; a keyring of another
// database gives ErrWrongKey too.
func Load(ctx context.Context, db *storage.DB, src Source) (*Keyring, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var sl, sealedKey, pubDER []byte
	err := db.View(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		if dev == nil || dev.Get(keySignKey) == nil {
			return fmt.Errorf("%w: the database has no device keys", ErrWrongKey)
		}
		sealedKey, pubDER = bytes.Clone(dev.Get(keySignKey)), bytes.Clone(dev.Get(keyPublic))
		if src.Slot() != "" {
			if sl = bytes.Clone(dev.Get(slotKey(src.Slot()))); sl == nil {
				return fmt.Errorf("%w: the database has no %q key slot", ErrWrongKey, src.Slot())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if u, ok := src.(unlocked); ok {
		if !bytes.Equal(u.k.pubDER, pubDER) {
			return nil, fmt.Errorf("%w: the keyring is another device's", ErrWrongKey)
		}
		return u.k, nil
	}
	s, err := ParseSlot(sl)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", storage.ErrDamaged, err)
	}
	dk, err := s.open(src)
	if err != nil {
		return nil, err
	}
	return unlockSignKey(dk, sealedKey, pubDER, nil)
}

func unlockSignKey(dk, sealedKey, pubDER []byte, r io.Reader) (*Keyring, error) {
	a, err := gm.NewAEAD(dk, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: data key: %v", storage.ErrDamaged, err)
	}
	der, err := a.Open(sealedKey, []byte("signkey"))
	if err != nil {
		return nil, fmt.Errorf("%w: signing key does not open with the data key", storage.ErrDamaged)
	}
	k, err := gm.ParsePKCS8(der)
	if err != nil {
		return nil, fmt.Errorf("%w: signing key: %v", storage.ErrDamaged, err)
	}
	pub, err := gm.ParsePKIX(pubDER)
	if err != nil || !pub.Equal(k.Public()) {
		return nil, fmt.Errorf("%w: stored public key does not match the signing key", storage.ErrDamaged)
	}
	return newKeyring(dk, k, r)
}

// Generate makes a new keyring: a random data key and SM2 signing key.
// Nothing is stored (see Create, Vault.Provision).
func Generate(r io.Reader) (*Keyring, error) {
	if r == nil {
		r = rand.Reader
	}
	k, err := gm.GenerateKey(r)
	if err != nil {
		return nil, err
	}
	dk := make([]byte, gm.SM4KeySize)
	if _, err := io.ReadFull(r, dk); err != nil {
		return nil, fmt.Errorf("keys: data key: %w", err)
	}
	return newKeyring(dk, k, r)
}

// putKeyring stores k's public key and sealed signing key in dev.
func putKeyring(dev *bolt.Bucket, k *Keyring) error {
	der, err := k.sign.MarshalPKCS8()
	if err != nil {
		return err
	}
	sealed, err := k.aead.Seal(der, []byte("signkey"))
	if err != nil {
		return err
	}
	if err := dev.Put(keyPublic, k.pubDER); err != nil {
		return err
	}
	return dev.Put(keySignKey, sealed)
}

// Create stores a new keyring in db protected by src's slot (creating a
// key file for KeyFile), or stores src's keyring for Unlocked. It fails
// when db already holds a keyring other than src's.
func Create(ctx context.Context, db *storage.DB, src Source, r io.Reader) (*Keyring, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		k   *Keyring
		slv []byte
		err error
	)
	if u, ok := src.(unlocked); ok {
		k = u.k
	} else {
		if k, err = Generate(r); err != nil {
			return nil, err
		}
		sl, err := sealSlot(src, k.dk, true)
		if err != nil {
			return nil, err
		}
		if slv, err = cbor.Marshal(sl); err != nil {
			return nil, err
		}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		dev, err := tx.CreateBucketIfNotExists(storage.BucketDevice)
		if err != nil {
			return err
		}
		if pub := dev.Get(keyPublic); pub != nil {
			if bytes.Equal(pub, k.pubDER) {
				return nil
			}
			return fmt.Errorf("keys: the database already has device keys")
		}
		if err := putKeyring(dev, k); err != nil {
			return err
		}
		if slv != nil {
			return dev.Put(slotKey(src.Slot()), slv)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// AddSlot adds (or replaces) the legacy slot of src wrapping k's data key.
func AddSlot(ctx context.Context, db *storage.DB, k *Keyring, src Source) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if src.Slot() == "" {
		return fmt.Errorf("%w: an unlocked keyring has no slot", ErrSlot)
	}
	sl, err := sealSlot(src, k.dk, true)
	if err != nil {
		return err
	}
	v, err := cbor.Marshal(sl)
	if err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		dev, err := tx.CreateBucketIfNotExists(storage.BucketDevice)
		if err != nil {
			return err
		}
		return dev.Put(slotKey(src.Slot()), v)
	})
}

// RemoveSlot deletes the legacy slot named name. The last way to open the
// data key cannot be removed (ErrSlot): a slot is the last one when no
// other slot exists and the vault has no officer.
func RemoveSlot(ctx context.Context, db *storage.DB, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		key := slotKey(name)
		if dev == nil || dev.Get(key) == nil {
			return fmt.Errorf("%w: no slot %q", ErrSlot, name)
		}
		n := 0
		c := dev.Cursor()
		for k, _ := c.Seek(slotPrefix); k != nil && bytes.HasPrefix(k, slotPrefix); k, _ = c.Next() {
			n++
		}
		if n <= 1 && !vaultHasOfficers(tx) {
			return fmt.Errorf("%w: %q is the last slot", ErrSlot, name)
		}
		return dev.Delete(key)
	})
}

// Slots lists the names of db's legacy key slots, sorted.
func Slots(ctx context.Context, db *storage.DB) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []string
	err := db.View(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		if dev == nil {
			return nil
		}
		c := dev.Cursor()
		for k, _ := c.Seek(slotPrefix); k != nil && strings.HasPrefix(string(k), string(slotPrefix)); k, _ = c.Next() {
			out = append(out, string(k[len(slotPrefix):]))
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}
