package hub

import (
	"errors"
	"fmt"
	"os"
)

// ErrKeyMode: a private key file that group or others may read.
var ErrKeyMode = errors.New("hub: private key file readable by group or others")

// CheckKeyFileMode refuses a private key file (the TLS key) that group or
// others may access: chmod 600, and owned by the hub's user.
func CheckKeyFileMode(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("hub: TLS key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %v (chmod 600 %s)", ErrKeyMode, path, st.Mode().Perm(), path)
	}
	return nil
}
