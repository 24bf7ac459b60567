//go:build unix

package statusfile

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
)

func mmapFile(f *os.File, size int64) ([]byte, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("statusfile: cannot map %d bytes", size)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("statusfile: mmap %s: %w", f.Name(), err)
	}
	return b, nil
}

func munmap(b []byte) { _ = syscall.Munmap(b) }

// mapCounter maps the first counterSize bytes of f shared and writable,
// growing f to that size when it is shorter.
func mapCounter(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < counterSize {
		if err := f.Truncate(counterSize); err != nil {
			return nil, err
		}
	}
	return syscall.Mmap(int(f.Fd()), 0, counterSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
}

// tryLock takes the exclusive flock on f without waiting.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		default:
			return false, fmt.Errorf("statusfile: flock: %w", err)
		}
	}
}

func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("statusfile: fsync %s: %w", dir, err)
	}
	return nil
}

func isFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EDQUOT)
}

// identity tells manifests apart without reading them: a new manifest is
// always a new inode (written beside, then renamed over).
type identity struct {
	ino   uint64
	size  int64
	mtime int64
}

func identityOf(fi os.FileInfo) identity {
	id := identity{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = uint64(st.Ino)
	}
	return id
}

// faultGuard makes a fault while reading a mapping (a file truncated under
// us) a panic that recoverFault turns into ErrDamaged.
func faultGuard() bool { return debug.SetPanicOnFault(true) }

func faultRestore(old bool) { debug.SetPanicOnFault(old) }
