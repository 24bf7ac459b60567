//go:build unix

package statusfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
)

func munmap(b []byte) { _ = syscall.Munmap(b) }

// mapPath maps the file at path read-only and reads its last tailLen
// bytes; it returns the mapping, the tail and the size the file had (no
// mapping when it was not want: the caller reports that). It uses bare
// system calls (open, fstat, pread, mmap, close): a first lookup after
// open costs about a hundred microseconds, an os.File's set-up and second
// fstat were several of them, and each page fault of a fresh mapping
// costs about six on the project's VM (the tail read instead of mapped
// saves one).
func mapPath(path string, want, tailLen int64) (mm, tail []byte, size int64, err error) {
	if want <= 0 || int64(int(want)) != want || tailLen > want {
		return nil, nil, 0, fmt.Errorf("statusfile: cannot map %d bytes", want)
	}
	var fd int
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, nil, 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, nil, 0, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Size != want {
		return nil, nil, st.Size, nil
	}
	tail = make([]byte, tailLen)
	for n := 0; n < len(tail); {
		k, err := syscall.Pread(fd, tail[n:], want-tailLen+int64(n))
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return nil, nil, 0, &os.PathError{Op: "pread", Path: path, Err: err}
		case k == 0:
			return nil, nil, 0, &os.PathError{Op: "pread", Path: path, Err: io.ErrUnexpectedEOF}
		}
		n += k
	}
	mm, err = syscall.Mmap(fd, 0, int(want), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("statusfile: mmap %s: %w", path, err)
	}
	return mm, tail, want, nil
}

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
