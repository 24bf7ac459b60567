package hub

import (
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"strings"
	"sync"
	"unicode"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// Keys are the hub's secrets: the data key that seals record evidence
// (SM4-GCM) and the index key of plate hashes (HMAC-SM3).
type Keys struct {
	data  *DataSealer // the current data key and earlier versions (keyrotate.go)
	index []byte
	// enc and sign are the hub's SM2 keys (keyring.go): terminals seal
	// record pushes to enc; sign signs the audit log's checkpoints. A
	// keyring holds them; Keys from NewKeys or LoadKeys derive them from
	// the index key (derived).
	enc, sign *gm.PrivateKey
	// policy signs the check policies the hub publishes (policy.go); a
	// keyring made before it has none of its own: it is then derived
	// from the index key, like a key file's.
	policy  *gm.PrivateKey
	derived bool
	// oldEnc and oldSign are the SM2 keys of earlier versions.
	oldEnc  []*gm.PrivateKey
	oldSign []*gm.PublicKey
	// plateMACs are HMAC-SM3 states keyed with index, for PlateHash
	// (reset to the keyed state instead of keyed anew for every plate).
	plateMACs sync.Pool
}

// NewKeys builds Keys from a 16-byte data key and a 16-byte index key.
func NewKeys(dataKey, indexKey []byte) (*Keys, error) {
	a, err := gm.NewAEAD(dataKey, nil)
	if err != nil {
		return nil, err
	}
	if len(indexKey) != gm.SM4KeySize {
		return nil, fmt.Errorf("%w: index key of %d bytes", ErrKeyFile, len(indexKey))
	}
	k := &Keys{data: newDataSealer(0, a), index: append([]byte(nil), indexKey...)}
	return k.deriveSM2() // keyring.go: SM2 keys of a key file without them
}

// KeyFilePath is the conventional key file of a hub database: dbPath + ".key".
func KeyFilePath(dbPath string) string { return dbPath + ".key" }

// LoadKeys reads the key file at path (64 hex digits: data key, then index
// key), creating it with fresh keys and mode 0600 (atomically, see
// storage.WriteKeyFile) when create is true and it does not exist.
//
// WARNING: whoever reads this file can read every plate, name and ID the
// hub holds; keep it out of database backups, or back it up separately.
func LoadKeys(path string, create bool) (*Keys, error) {
	raw, err := storage.ReadKeyFile(path, 2*gm.SM4KeySize)
	if errors.Is(err, fs.ErrNotExist) && create {
		raw = make([]byte, 2*gm.SM4KeySize)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		if err := storage.WriteKeyFile(path, raw); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
		}
		return NewKeys(raw[:gm.SM4KeySize], raw[gm.SM4KeySize:])
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	return NewKeys(raw[:gm.SM4KeySize], raw[gm.SM4KeySize:])
}

// NormalisePlate upper-cases a plate and drops spaces, dots and dashes, so
// "粤b·12345" and "粤B12345" match.
func NormalisePlate(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsSpace(r) || r == '·' || r == '.' || r == '-' || r == '•' {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// PlateHash is the searchable form of a plate: HMAC-SM3 under the index
// key of the normalised plate. Nil for an empty plate.
func (k *Keys) PlateHash(plate string) []byte {
	n := NormalisePlate(plate)
	if n == "" {
		return nil
	}
	m, _ := k.plateMACs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(gm.NewSM3, k.index)
	}
	defer k.plateMACs.Put(m)
	m.Reset()
	m.Write([]byte(n))
	return m.Sum(nil)
}
