package storage

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Key files are the secrets kept next to a database (the terminal's
// terminal.db.key, the hub's hub.db.key): the secret in hex and a newline,
// mode 0600. The packages that own the secrets (records, hub) say what
// the bytes are; this file only writes and reads them safely.

// WriteKeyFile creates path holding secret, mode 0600, atomically: written
// to a temporary file in the same directory, fsynced, hard-linked into
// place and the directory fsynced, so a crash never leaves a partial key
// file. When path exists it returns an error wrapping fs.ErrExist and
// leaves the file alone (another process created it first: read theirs).
// Other failures wrap ErrKeyFile.
func WriteKeyFile(path string, secret []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w %s: create: %v", ErrKeyFile, path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	_, werr := f.WriteString(hex.EncodeToString(secret) + "\n")
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("%w %s: write: %v", ErrKeyFile, path, werr)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ReadKeyFile reads the secret of size bytes that WriteKeyFile wrote at
// path. A missing file gives an error wrapping fs.ErrNotExist; a file that
// group or others may access, that cannot be read, or that does not hold
// 2×size hex digits gives ErrKeyFile.
func ReadKeyFile(path string, size int) ([]byte, error) {
	b, err := ReadPrivateFile(path)
	if err != nil {
		return nil, err
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(secret) != size {
		return nil, fmt.Errorf("%w %s: does not hold %d hex digits", ErrKeyFile, path, 2*size)
	}
	return secret, nil
}

// ReadPrivateFile reads a secret file (a key file, a keyring) that only its
// owner may access. A missing file gives an error wrapping fs.ErrNotExist;
// a file that group or others may access, or that cannot be read, gives
// ErrKeyFile.
func ReadPrivateFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key file %s: %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w %s: mode %v: group and others must have no access (chmod 600)", ErrKeyFile, path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrKeyFile, path, err)
	}
	return b, nil
}
