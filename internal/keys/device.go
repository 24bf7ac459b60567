package keys

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// Device kinds.
const (
	KindTPM  = "tpm2" // secrets sealed to a TPM 2.0
	KindFile = "file" // secrets wrapped by a device file (no TPM)
)

// Device is the device-bound root of the hierarchy: it seals short
// secrets so that they unseal only on this device and with auth.
type Device interface {
	// Kind is KindTPM or KindFile.
	Kind() string
	// Seal protects secret (at most 64 bytes) under the device root and
	// auth (nil: none). With da, wrong auth values are counted by the
	// device's dictionary-attack protection (a TPM's lock-out); without,
	// they are not (for secrets without a PIN). It returns an opaque blob
	// to store.
	Seal(ctx context.Context, auth, secret []byte, da bool) ([]byte, error)
	// Unseal returns the secret of blob. A wrong auth gives ErrSignIn; a
	// TPM in lock-out gives ErrDeviceLockout; a blob of another device or
	// no usable device gives an error wrapping ErrDevice.
	Unseal(ctx context.Context, blob, auth []byte) ([]byte, error)
	// Describe says in one line what protects the secrets (for status).
	Describe() string
	Close() error
}

// Environment variable and spec values of OpenDevice.
const (
	// DeviceEnv names the environment variable programs read the device
	// spec from (RC_TPM).
	DeviceEnv = "RC_TPM"
	// DefaultTPMPath is the kernel's TPM resource manager.
	DefaultTPMPath = "/dev/tpmrm0"
)

// DeviceFilePath is the device file of a database without a TPM:
// dbPath + ".device".
func DeviceFilePath(dbPath string) string { return dbPath + ".device" }

// OpenDevice opens the device root named by spec for the database at
// dbPath:
//
//   - "" (auto): the TPM at DefaultTPMPath when it exists, else the device
//     file DeviceFilePath(dbPath);
//   - "none" or "file": the device file, even when a TPM exists;
//   - "unix:PATH": a TPM simulator (swtpm) on a Unix socket;
//   - any other value: the path of a TPM character device.
//
// A database already bound to a TPM refuses the device file later (see
// OpenVault): the kind is stored with the device seal.
func OpenDevice(spec, dbPath string) (Device, error) {
	switch {
	case spec == "":
		if _, err := os.Stat(DefaultTPMPath); err == nil {
			return OpenTPM(DefaultTPMPath)
		}
		return FileDevice(DeviceFilePath(dbPath)), nil
	case spec == "none" || spec == "file":
		return FileDevice(DeviceFilePath(dbPath)), nil
	default:
		return OpenTPM(spec)
	}
}

// FileDevice is the device root without a TPM: 32 random bytes in the file
// at path (hex, mode 0600), created at the first Seal.
//
// WARNING: the file is on the same disk as the database. It stops an
// attack on a copy of the database alone; someone who copies the file too
// can guess PINs offline, slowed only by PBKDF2.
func FileDevice(path string) Device { return &fileDevice{path: path} }

type fileDevice struct{ path string }

func (f *fileDevice) Kind() string { return KindFile }
func (f *fileDevice) Close() error { return nil }
func (f *fileDevice) Describe() string {
	return "no TPM: keys wrapped by a device file (" + f.path + ") and the officer's PIN"
}

const fileSecretSize = 32

func (f *fileDevice) secret(create bool) ([]byte, error) {
	s, err := storage.ReadKeyFile(f.path, fileSecretSize)
	if errors.Is(err, fs.ErrNotExist) && create {
		s = make([]byte, fileSecretSize)
		if _, err := rand.Read(s); err != nil {
			return nil, fmt.Errorf("keys: device file: %w", err)
		}
		if err := storage.WriteKeyFile(f.path, s); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return nil, fmt.Errorf("%w: device file: %w", ErrDevice, err)
			}
			return f.secret(false)
		}
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: device file %s: %w", ErrDevice, f.path, err)
	}
	return s, nil
}

// fileSeal is a blob of the file device.
type fileSeal struct {
	Salt   []byte `cbor:"1,keyasint"`
	Sealed []byte `cbor:"2,keyasint"`
}

func (f *fileDevice) kek(secret, salt, auth []byte) []byte {
	m := hmac.New(gm.NewSM3, secret)
	m.Write([]byte("roadcheck/keys/file-seal/v1\x00"))
	m.Write(salt)
	m.Write(auth)
	return m.Sum(nil)[:gm.SM4KeySize]
}

func (f *fileDevice) Seal(ctx context.Context, auth, secret []byte, da bool) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := f.secret(true)
	if err != nil {
		return nil, err
	}
	b := fileSeal{Salt: make([]byte, 16)}
	if _, err := rand.Read(b.Salt); err != nil {
		return nil, err
	}
	a, err := gm.NewAEAD(f.kek(s, b.Salt, auth), nil)
	if err != nil {
		return nil, err
	}
	if b.Sealed, err = a.Seal(secret, []byte("file-seal")); err != nil {
		return nil, err
	}
	return cbor.Marshal(&b)
}

func (f *fileDevice) Unseal(ctx context.Context, blob, auth []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var b fileSeal
	if err := strictDec.Unmarshal(blob, &b); err != nil || len(b.Salt) != 16 {
		return nil, fmt.Errorf("%w: file seal: %v", ErrMalformed, err)
	}
	s, err := f.secret(false)
	if err != nil {
		return nil, err
	}
	a, err := gm.NewAEAD(f.kek(s, b.Salt, auth), nil)
	if err != nil {
		return nil, err
	}
	pt, err := a.Open(b.Sealed, []byte("file-seal"))
	if err != nil {
		return nil, ErrSignIn
	}
	return pt, nil
}

// strictDec decodes the package's CBOR structures: no duplicate or
// unknown keys, no indefinite lengths, bounded sizes.
var strictDec cbor.DecMode

func init() {
	var err error
	strictDec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		MaxNestedLevels:   6,
		MaxArrayElements:  1024,
		MaxMapPairs:       64,
		UTF8:              cbor.UTF8RejectInvalid,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}
