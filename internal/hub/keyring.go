package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// The keyring holds every secret of the hub: the data key (SM4-GCM of
// record evidence and TOTP secrets), the index key (HMAC-SM3 of plates),
// the SM2 encryption key terminals seal pushes to, the SM2 key that
// signs the audit log's checkpoints and the SM2 key that signs the check
// policies the hub publishes (terminals pin it at enrolment). It is a file beside the database
// (PATH.keyring, mode 0600), wrapped — SM4-GCM under a key-encryption key
// (KEK) that does not live on the database host: a file on another mount
// (--kek-file), an environment secret (RCHUB_KEK) or the output of a KMS
// hook command (--kek-command). Without a KEK the keyring is stored
// unwrapped, which rchub allows only on loopback or with --plain-keys.
//
// WARNING: whoever holds the keyring and its KEK reads every plate, name
// and ID the hub holds, and can sign audit checkpoints. Back the keyring
// up (it is useless without the KEK); keep the KEK apart from database
// backups.

// KeyringPath is the keyring file of the hub database at dbPath.
func KeyringPath(dbPath string) string { return dbPath + ".keyring" }

// KEKSize is the size of a key-encryption key (an SM4 key).
const KEKSize = gm.SM4KeySize

// EnvKEK is the environment variable that may hold the KEK (32 hex digits).
const EnvKEK = "RCHUB_KEK"

// KEKSource says where the KEK comes from; the first set field wins.
type KEKSource struct {
	File    string // a file holding 32 hex digits, mode 0600 or stricter
	Env     string // the value of EnvKEK
	Command string // a KMS hook: run with sh -c, prints 32 hex digits
}

// Set reports whether any source is given.
func (k KEKSource) Set() bool { return k.File != "" || k.Env != "" || k.Command != "" }

// ErrKEK: the KEK cannot be had, or it does not open the keyring.
var ErrKEK = errors.New("hub: key-encryption key unusable")

func parseKEK(what string, b []byte) ([]byte, error) {
	kek, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(kek) != KEKSize {
		return nil, fmt.Errorf("%w: %s does not hold %d hex digits", ErrKEK, what, 2*KEKSize)
	}
	return kek, nil
}

// LoadKEK returns the KEK from src and a description of where it came from.
// A KEK file that group or others can access is refused. dbPath, when
// given, is the database: a KEK file on the same file system gets a
// warning in the description (it should live on another mount or host).
func LoadKEK(ctx context.Context, src KEKSource, dbPath string) ([]byte, string, error) {
	switch {
	case src.File != "":
		st, err := os.Stat(src.File)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrKEK, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, "", fmt.Errorf("%w: %s has mode %v: group and others must have no access (chmod 600)", ErrKEK, src.File, st.Mode().Perm())
		}
		b, err := os.ReadFile(src.File)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrKEK, err)
		}
		kek, err := parseKEK(src.File, b)
		desc := "KEK file " + src.File
		if dbPath != "" && sameFileSystem(src.File, filepath.Dir(dbPath)) {
			desc += " (WARNING: on the database's file system; keep it on another mount or host)"
		}
		return kek, desc, err
	case src.Env != "":
		kek, err := parseKEK("$"+EnvKEK, []byte(src.Env))
		return kek, "environment " + EnvKEK, err
	case src.Command != "":
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(cctx, "sh", "-c", src.Command)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return nil, "", fmt.Errorf("%w: KMS hook %q: %v: %s", ErrKEK, src.Command, err, strings.TrimSpace(errb.String()))
		}
		kek, err := parseKEK("the KMS hook's output", out.Bytes())
		return kek, "KMS hook", err
	}
	return nil, "", fmt.Errorf("%w: no source given", ErrKEK)
}

func sameFileSystem(a, b string) bool {
	var sa, sb syscall.Stat_t
	if syscall.Stat(a, &sa) != nil || syscall.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev
}

// keyringFile is the keyring as stored (CBOR).
type keyringFile struct {
	Version int    `cbor:"1,keyasint"`
	Wrapped bool   `cbor:"2,keyasint"`
	KEKID   string `cbor:"3,keyasint,omitempty"` // which KEK wraps it
	Blob    []byte `cbor:"4,keyasint"`           // keyMaterial, SM4-GCM under the KEK when Wrapped
}

type keyMaterial struct {
	Data  []byte `cbor:"1,keyasint"`
	Index []byte `cbor:"2,keyasint"`
	Enc   []byte `cbor:"3,keyasint"` // PKCS#8
	Sign  []byte `cbor:"4,keyasint"` // PKCS#8
	// Policy signs check policies (PKCS#8); absent from keyrings made
	// before it: the key is then derived from the index key.
	Policy []byte `cbor:"5,keyasint,omitempty"`
	// Version is the version of Data, Enc and Sign; Previous holds the
	// earlier versions (keyrotate.go). Keys 10 and up: rotation.
	Version  uint32       `cbor:"10,keyasint,omitempty"`
	Previous []keyVersion `cbor:"11,keyasint,omitempty"`
}

const keyringAD = "RC-HUB-KEYRING-1"

// KEKID names a KEK without revealing it.
func KEKID(kek []byte) string {
	h := gm.SM3(append([]byte("RC-KEK-ID-1\n"), kek...))
	return hex.EncodeToString(h[:8])
}

// Keyring is an opened keyring: the Keys and whether it is wrapped.
type Keyring struct {
	Keys    *Keys
	Wrapped bool
	KEKID   string
	// Migrated is true when the keyring was made now from a legacy key
	// file (PATH.key), which was then removed.
	Migrated bool
	Created  bool
}

// OpenKeyring opens the keyring of the database at dbPath with kek (nil:
// the keyring must be unwrapped). When it does not exist and create is
// true, it is made — from the legacy key file (PATH.key: data and index
// key), which is then removed, or fresh — wrapped when kek is given. A
// wrapped keyring without kek, or with another KEK, gives ErrKEK; an
// unwrapped one opened with a KEK is wrapped now.
func OpenKeyring(dbPath string, kek []byte, create bool) (*Keyring, error) {
	return OpenKeyringAt(KeyringPath(dbPath), KeyFilePath(dbPath), kek, create)
}

// OpenKeyringAt is OpenKeyring with the keyring's path and the legacy key
// file's (to migrate from) given: for hubs whose keys are not beside a
// bbolt file (PostgreSQL replicas share one keyring).
func OpenKeyringAt(path, legacy string, kek []byte, create bool) (*Keyring, error) {
	f, err := readKeyring(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createKeyring(path, legacy, kek)
	}
	if err != nil {
		return nil, err
	}
	m, err := f.open(kek)
	if err != nil {
		return nil, err
	}
	keys, err := m.keys()
	if err != nil {
		return nil, err
	}
	kr := &Keyring{Keys: keys, Wrapped: f.Wrapped, KEKID: f.KEKID}
	if !f.Wrapped && kek != nil {
		if err := writeKeyring(path, m, kek, true); err != nil {
			return nil, err
		}
		kr.Wrapped, kr.KEKID = true, KEKID(kek)
	}
	return kr, nil
}

// Rewrap stores the keyring at path wrapped under newKEK (opening it with
// oldKEK, nil when it is unwrapped).
func Rewrap(path string, oldKEK, newKEK []byte) error {
	f, err := readKeyring(path)
	if err != nil {
		return err
	}
	m, err := f.open(oldKEK)
	if err != nil {
		return err
	}
	return writeKeyring(path, m, newKEK, true)
}

func (f *keyringFile) open(kek []byte) (*keyMaterial, error) {
	blob := f.Blob
	if f.Wrapped {
		if kek == nil {
			return nil, fmt.Errorf("%w: the keyring is wrapped (KEK %s): give --kek-file, --kek-command or $%s", ErrKEK, f.KEKID, EnvKEK)
		}
		a, err := gm.NewAEAD(kek, nil)
		if err != nil {
			return nil, err
		}
		if blob, err = a.Open(f.Blob, []byte(keyringAD)); err != nil {
			return nil, fmt.Errorf("%w: it does not open the keyring (wrapped under KEK %s, this is KEK %s)", ErrKEK, f.KEKID, KEKID(kek))
		}
	}
	var m keyMaterial
	if err := cbor.Unmarshal(blob, &m); err != nil {
		return nil, fmt.Errorf("%w: keyring: %v", ErrKeyFile, err)
	}
	return &m, nil
}

func (m *keyMaterial) keys() (*Keys, error) {
	k, err := NewKeys(m.Data, m.Index)
	if err != nil {
		return nil, err
	}
	if k.enc, err = gm.ParsePKCS8(m.Enc); err != nil {
		return nil, fmt.Errorf("%w: keyring encryption key: %v", ErrKeyFile, err)
	}
	if k.sign, err = gm.ParsePKCS8(m.Sign); err != nil {
		return nil, fmt.Errorf("%w: keyring signing key: %v", ErrKeyFile, err)
	}
	if m.Policy != nil {
		if k.policy, err = gm.ParsePKCS8(m.Policy); err != nil {
			return nil, fmt.Errorf("%w: keyring policy key: %v", ErrKeyFile, err)
		}
	}
	// A keyring made before it had a policy key keeps the one derived
	// from its index key (NewKeys): every replica opening it derives the
	// same, and nothing is written.
	k.derived = false
	k.data.version = m.Version
	k.data.keys = map[uint32]*gm.AEAD{m.Version: k.data.keys[0]}
	if err := k.addPrevious(m.Previous); err != nil {
		return nil, err
	}
	return k, nil
}

func createKeyring(path, legacy string, kek []byte) (*Keyring, error) {
	m := &keyMaterial{}
	raw, err := readLegacyKeys(legacy)
	migrated := err == nil
	switch {
	case migrated:
		m.Data, m.Index = raw[:gm.SM4KeySize], raw[gm.SM4KeySize:]
	case errors.Is(err, fs.ErrNotExist):
		raw = make([]byte, 2*gm.SM4KeySize)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		m.Data, m.Index = raw[:gm.SM4KeySize], raw[gm.SM4KeySize:]
	default:
		return nil, err
	}
	enc, sign, pol := (*gm.PrivateKey)(nil), (*gm.PrivateKey)(nil), (*gm.PrivateKey)(nil)
	if migrated {
		// The SM2 keys the hub derived from the legacy key file, which
		// its terminals already seal to (and pinned the policy key of).
		legacyKeys, err := NewKeys(m.Data, m.Index) // with the derived SM2 keys
		if err != nil {
			return nil, err
		}
		enc, sign, pol = legacyKeys.enc, legacyKeys.sign, legacyKeys.policy
	} else {
		if enc, err = gm.GenerateKey(nil); err != nil {
			return nil, err
		}
		if sign, err = gm.GenerateKey(nil); err != nil {
			return nil, err
		}
		if pol, err = gm.GenerateKey(nil); err != nil {
			return nil, err
		}
	}
	if m.Enc, err = enc.MarshalPKCS8(); err != nil {
		return nil, err
	}
	if m.Sign, err = sign.MarshalPKCS8(); err != nil {
		return nil, err
	}
	if m.Policy, err = pol.MarshalPKCS8(); err != nil {
		return nil, err
	}
	if err := writeKeyring(path, m, kek, false); err != nil {
		return nil, err
	}
	if migrated {
		if err := os.Remove(legacy); err != nil {
			return nil, fmt.Errorf("%w: the keyring holds the keys of %s now, but it could not be removed: %v (remove it)", ErrKeyFile, legacy, err)
		}
	}
	keys, err := m.keys()
	if err != nil {
		return nil, err
	}
	kr := &Keyring{Keys: keys, Wrapped: kek != nil, Migrated: migrated, Created: true}
	if kek != nil {
		kr.KEKID = KEKID(kek)
	}
	return kr, nil
}

func readLegacyKeys(path string) ([]byte, error) {
	if path == "" {
		return nil, fs.ErrNotExist
	}
	raw, err := storage.ReadKeyFile(path, 2*gm.SM4KeySize)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	return raw, err
}

func readKeyring(path string) (*keyringFile, error) {
	b, err := storage.ReadPrivateFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keyring %s: %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	var f keyringFile
	if err == nil {
		err = cbor.Unmarshal(raw, &f)
	}
	if err != nil || f.Version != 1 {
		return nil, fmt.Errorf("%w %s: not a keyring (%v)", ErrKeyFile, path, err)
	}
	return &f, nil
}

// writeKeyring stores m at path, wrapped under kek when it is not nil:
// written to a temporary file, fsynced and renamed (replacing the file
// only when replace is true).
func writeKeyring(path string, m *keyMaterial, kek []byte, replace bool) error {
	blob, err := cbor.Marshal(m)
	if err != nil {
		return err
	}
	f := keyringFile{Version: 1, Blob: blob}
	if kek != nil {
		a, err := gm.NewAEAD(kek, nil)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrKEK, err)
		}
		if f.Blob, err = a.Seal(blob, []byte(keyringAD)); err != nil {
			return err
		}
		f.Wrapped, f.KEKID = true, KEKID(kek)
	}
	raw, err := cbor.Marshal(f)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	defer os.Remove(tmp.Name())
	werr := tmp.Chmod(0o600)
	if werr == nil {
		_, werr = tmp.WriteString(hex.EncodeToString(raw) + "\n")
	}
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("%w %s: %v", ErrKeyFile, path, werr)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// EncryptionKey is the hub's SM2 public key terminals seal pushes to
// (nil for Keys without SM2 keys).
func (k *Keys) EncryptionKey() *gm.PublicKey {
	if k.enc == nil {
		return nil
	}
	return k.enc.Public()
}

// SigningKey is the hub's SM2 public key that signs the audit log's
// checkpoints (nil for Keys without SM2 keys).
func (k *Keys) SigningKey() *gm.PublicKey {
	if k.sign == nil {
		return nil
	}
	return k.sign.Public()
}

// PolicyKey is the hub's SM2 public key that signs the check policies it
// publishes (nil for Keys without SM2 keys); terminals pin it at
// enrolment.
func (k *Keys) PolicyKey() *gm.PublicKey {
	if k.policy == nil {
		return nil
	}
	return k.policy.Public()
}

// deriveSM2 gives k SM2 keys derived from its index key, so that the same
// legacy key file (data and index keys only) gives the same SM2 keys
// after every restart and on every replica.
//
// WARNING: derived SM2 keys are only as strong as the 128-bit index key
// they come from (a secret, with a label of its own per key); a keyring
// holds independent ones: move to it (rchub keys wrap).
func (k *Keys) deriveSM2() (*Keys, error) {
	derive := func(label string) (*gm.PrivateKey, error) {
		m := hmac.New(gm.NewSM3, k.index)
		m.Write([]byte("RC-HUB-SM2-KEY-1\n" + label))
		return gm.ScalarFromSeed(m.Sum(nil))
	}
	var err error
	if k.enc, err = derive("encryption"); err != nil {
		return nil, err
	}
	if k.sign, err = derive("audit checkpoints"); err != nil {
		return nil, err
	}
	if k.policy, err = derive("check policies"); err != nil {
		return nil, err
	}
	k.derived = true
	return k, nil
}

// Derived reports whether k's SM2 keys are derived from the index key (a
// legacy key file), not a keyring's own.
func (k *Keys) Derived() bool { return k.derived }

// SecretSealer is the SM4-GCM of the data key, which seals record evidence
// and supervisors' TOTP secrets at rest (every version: keyrotate.go).
func (k *Keys) SecretSealer() *DataSealer { return k.data }
