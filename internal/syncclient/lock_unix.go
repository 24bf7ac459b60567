//go:build unix

package syncclient

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes the exclusive flock on the file at path without waiting:
// false when another process holds it. release drops it.
func lockFile(path string) (ok bool, release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false, nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return false, nil, nil
	}
	if err != nil {
		f.Close()
		return false, nil, err
	}
	return true, func() { f.Close() }, nil // closing drops the lock
}
