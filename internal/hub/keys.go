package hub

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"unicode"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// Keys are the hub's secrets: the data key that seals record evidence
// (SM4-GCM) and the index key of plate hashes (HMAC-SM3).
type Keys struct {
	data  *gm.AEAD
	index []byte
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
	return &Keys{data: a, index: append([]byte(nil), indexKey...)}, nil
}

// KeyFilePath is the conventional key file of a hub database: dbPath + ".key".
func KeyFilePath(dbPath string) string { return dbPath + ".key" }

// LoadKeys reads the key file at path (64 hex digits: data key, then index
// key), creating it with fresh keys and mode 0600 when create is true and
// it does not exist.
//
// WARNING: whoever reads this file can read every plate, name and ID the
// hub holds; keep it out of database backups, or back it up separately.
func LoadKeys(path string, create bool) (*Keys, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		raw := make([]byte, 2*gm.SM4KeySize)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
		}
		_, werr := f.WriteString(hex.EncodeToString(raw) + "\n")
		if werr == nil {
			werr = f.Sync()
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeyFile, werr)
		}
		return NewKeys(raw[:gm.SM4KeySize], raw[gm.SM4KeySize:])
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v: group and others must have no access (chmod 600)", ErrKeyFile, path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != 2*gm.SM4KeySize {
		return nil, fmt.Errorf("%w: %s does not hold 64 hex digits", ErrKeyFile, path)
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
	m := hmac.New(gm.NewSM3, k.index)
	m.Write([]byte(n))
	return m.Sum(nil)
}
