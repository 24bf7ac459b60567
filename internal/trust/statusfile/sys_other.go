//go:build !unix

package statusfile

import "os"

func munmap(b []byte) {}
func mapPath(path string, want, tailLen int64) (mm, tail []byte, size int64, err error) {
	return nil, nil, 0, ErrUnsupported
}
func mapCounter(f *os.File) ([]byte, error) { return nil, ErrUnsupported }
func tryLock(f *os.File) (bool, error)      { return false, ErrUnsupported }
func unlock(f *os.File)                     {}
func syncDir(dir string) error              { return nil }
func isFull(err error) bool                 { return false }

type identity struct {
	size  int64
	mtime int64
}

func identityOf(fi os.FileInfo) identity {
	return identity{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

func faultGuard() bool      { return false }
func faultRestore(old bool) {}
