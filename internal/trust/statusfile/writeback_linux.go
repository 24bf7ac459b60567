package statusfile

import (
	"os"
	"syscall"
)

// startWriteback writes n bytes of f at off to disk and waits for them
// (errors are the final fsync's to report): a writer never has more than
// about one writeBehind of data in flight, so a large import cannot flood
// the disk's queue.
func startWriteback(f *os.File, off, n int64) {
	const waitBefore, write, waitAfter = 0x1, 0x2, 0x4 // SYNC_FILE_RANGE_*
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, waitBefore|write|waitAfter)
}
