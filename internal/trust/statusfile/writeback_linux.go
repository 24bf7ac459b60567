package statusfile

import (
	"os"
	"syscall"
)

// startWriteback starts writing n bytes of f at off to disk without
// waiting (errors are the final fsync's to report).
func startWriteback(f *os.File, off, n int64) {
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, 0x2 /* SYNC_FILE_RANGE_WRITE */)
}
