package hub

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/wire/envelope"
)

// Key rotation. A keyring holds key versions: `rchub keys rotate` makes
// fresh data, encryption and signing keys the current version and keeps
// the earlier ones, so that
//   - record evidence and TOTP secrets are sealed under the current data
//     key, and what was sealed under an earlier one still opens (a sealed
//     value names its key version: sealHeader);
//   - terminals are given the current encryption key (enrolment, GET
//     /v1/hubkey), and pushes sealed to an earlier one still open (an
//     envelope names its recipient key);
//   - audit checkpoints are signed by the current signing key, and rchub
//     audit verify checks each checkpoint against the key it names.
//
// The index key (HMAC-SM3 of plates and of record aliases) is not rotated:
// it is a pseudonymisation key that every stored plate hash and alias
// depends on, so a new one would need every record re-indexed, and a
// record re-sent after the change would no longer find its alias.

// ErrKeyVersion: a sealed value names a key version the keyring does not
// hold.
var ErrKeyVersion = errors.New("hub: sealed under a key version this keyring does not hold")

// sealMagic begins a value sealed under a data key of version 1 or later,
// followed by the version (uvarint) and the SM4-GCM output. Version 0 (a
// keyring never rotated, a legacy key file) seals with no header, as
// before versions existed; a version-0 value that happens to begin with
// the magic is still opened, by falling back to the version-0 key.
const sealMagic = "RK\x01"

// DataSealer seals secrets at rest (record evidence, TOTP secrets) with
// SM4-GCM under the hub's current data key and opens them under the key
// version they name. It is safe for concurrent use.
type DataSealer struct {
	version uint32
	keys    map[uint32]*gm.AEAD
}

func newDataSealer(version uint32, a *gm.AEAD) *DataSealer {
	return &DataSealer{version: version, keys: map[uint32]*gm.AEAD{version: a}}
}

// Version is the key version new values are sealed under.
func (d *DataSealer) Version() uint32 { return d.version }

// Seal seals plaintext bound to ad under the current key.
func (d *DataSealer) Seal(plaintext, ad []byte) ([]byte, error) {
	b, err := d.keys[d.version].Seal(plaintext, ad)
	if err != nil || d.version == 0 {
		return b, err
	}
	out := make([]byte, 0, len(sealMagic)+binary.MaxVarintLen32+len(b))
	out = binary.AppendUvarint(append(out, sealMagic...), uint64(d.version))
	return append(out, b...), nil
}

// Open opens a value sealed by Seal under any version the keyring holds:
// gm.ErrDecrypt (wrapped) when it was altered or bound to other ad,
// ErrKeyVersion when it names a version the keyring does not hold.
func (d *DataSealer) Open(sealed, ad []byte) ([]byte, error) {
	var unknown error
	if rest, ok := bytes.CutPrefix(sealed, []byte(sealMagic)); ok {
		v, n := binary.Uvarint(rest)
		if n > 0 && v <= 1<<32-1 {
			if a, ok := d.keys[uint32(v)]; ok {
				if pt, err := a.Open(rest[n:], ad); err == nil {
					return pt, nil
				}
			} else {
				unknown = fmt.Errorf("%w: data key version %d", ErrKeyVersion, v)
			}
		}
	}
	a, ok := d.keys[0]
	if !ok {
		if unknown != nil {
			return nil, unknown
		}
		return nil, fmt.Errorf("hub: sealed value: %w", gm.ErrDecrypt)
	}
	pt, err := a.Open(sealed, ad)
	if err != nil && unknown != nil {
		return nil, unknown
	}
	return pt, err
}

// keyVersion is an earlier version of a keyring's rotated keys.
type keyVersion struct {
	Version uint32 `cbor:"1,keyasint"`
	Data    []byte `cbor:"2,keyasint"`
	Enc     []byte `cbor:"3,keyasint"` // PKCS#8
	Sign    []byte `cbor:"4,keyasint"` // PKCS#8
}

// addPrevious gives k the keys of earlier versions.
func (k *Keys) addPrevious(prev []keyVersion) error {
	for _, p := range prev {
		if p.Version == k.data.version {
			return fmt.Errorf("%w: keyring holds version %d twice", ErrKeyFile, p.Version)
		}
		a, err := gm.NewAEAD(p.Data, nil)
		if err != nil {
			return fmt.Errorf("%w: keyring data key version %d: %v", ErrKeyFile, p.Version, err)
		}
		if _, dup := k.data.keys[p.Version]; dup {
			return fmt.Errorf("%w: keyring holds version %d twice", ErrKeyFile, p.Version)
		}
		k.data.keys[p.Version] = a
		enc, err := gm.ParsePKCS8(p.Enc)
		if err != nil {
			return fmt.Errorf("%w: keyring encryption key version %d: %v", ErrKeyFile, p.Version, err)
		}
		sign, err := gm.ParsePKCS8(p.Sign)
		if err != nil {
			return fmt.Errorf("%w: keyring signing key version %d: %v", ErrKeyFile, p.Version, err)
		}
		k.oldEnc = append(k.oldEnc, enc)
		k.oldSign = append(k.oldSign, sign.Public())
	}
	return nil
}

// Version is the version of the current data, encryption and signing keys
// (0: never rotated).
func (k *Keys) Version() uint32 { return k.data.version }

// SigningKeys are the public keys of every version of the audit checkpoint
// key, the current first: rchub audit verify checks each checkpoint
// against the one it names.
func (k *Keys) SigningKeys() []*gm.PublicKey {
	var out []*gm.PublicKey
	if k.sign != nil {
		out = append(out, k.sign.Public())
	}
	return append(out, k.oldSign...)
}

// OpenEnvelope opens an envelope of type typ sealed to any version of the
// hub's encryption key (envelope.ErrRecipient when to none of them).
func (k *Keys) OpenEnvelope(b []byte, typ string) ([]byte, error) {
	e, err := envelope.Parse(b)
	if err != nil {
		return nil, err
	}
	for _, priv := range append([]*gm.PrivateKey{k.enc}, k.oldEnc...) {
		if priv == nil {
			continue
		}
		if kid, err := envelope.KeyID(priv.Public()); err == nil && kid == e.KeyID {
			return e.Open(priv, typ)
		}
	}
	return e.Open(k.enc, typ) // ErrRecipient, naming the current key
}

// Rotation is what RotateKeyring did.
type Rotation struct {
	From, To uint32 // the versions before and after
	// EncryptionKeyID and SigningKeyID name the new SM2 keys
	// (envelope.KeyID and audit.KeyID).
	EncryptionKeyID, SigningKeyID string
	Keyring                       *Keyring
}

// RotateKeyring adds a key version to the keyring at path, opened with kek
// (nil: it is unwrapped): fresh data, encryption and signing keys become
// current, and the earlier versions stay in the keyring to open what they
// sealed. The keyring is rewritten atomically, wrapped as before. A
// process that opened the keyring before keeps sealing under the version
// it holds (still readable) until it opens the keyring again: restart
// every hub that shares it. Rotations must not run concurrently on one
// keyring (the last rename wins).
func RotateKeyring(path string, kek []byte) (*Rotation, error) {
	f, err := readKeyring(path)
	if err != nil {
		return nil, err
	}
	m, err := f.open(kek)
	if err != nil {
		return nil, err
	}
	if !f.Wrapped {
		kek = nil
	}
	if _, err := m.keys(); err != nil {
		return nil, err
	}
	next := m.Version
	for _, p := range m.Previous {
		next = max(next, p.Version)
	}
	if next == 1<<32-1 {
		return nil, fmt.Errorf("%w: no key version left", ErrKeyFile)
	}
	next++
	rot := &Rotation{From: m.Version, To: next}
	m.Previous = append(slices.Clone(m.Previous), keyVersion{Version: m.Version, Data: m.Data, Enc: m.Enc, Sign: m.Sign})
	data := make([]byte, gm.SM4KeySize)
	if _, err := rand.Read(data); err != nil {
		return nil, err
	}
	enc, err := gm.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	sign, err := gm.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	m.Version, m.Data = next, data
	if m.Enc, err = enc.MarshalPKCS8(); err != nil {
		return nil, err
	}
	if m.Sign, err = sign.MarshalPKCS8(); err != nil {
		return nil, err
	}
	keys, err := m.keys()
	if err != nil {
		return nil, err
	}
	if err := writeKeyring(path, m, kek, true); err != nil {
		return nil, err
	}
	if rot.EncryptionKeyID, err = envelope.KeyID(enc.Public()); err != nil {
		return nil, err
	}
	rot.SigningKeyID = audit.KeyID(sign.Public())
	rot.Keyring = &Keyring{Keys: keys, Wrapped: kek != nil}
	if kek != nil {
		rot.Keyring.KEKID = KEKID(kek)
	}
	return rot, nil
}
