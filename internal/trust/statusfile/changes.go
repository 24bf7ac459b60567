package statusfile

import (
	"os"
	"sync/atomic"
	"unsafe"
)

// changeCounter is the commit counter that every Store on a directory
// shares: the first 8 bytes of dir/LOCK, mapped shared and read-write by
// each Store, so that a reader learns whether another process committed
// without a system call.
//
// A commit makes the counter odd (begin) before it renames the new
// manifest into place and even again (end) after, each time to a value
// never held before (it only grows). A Store notes the counter it read
// just before the stat that found its generation current, when it was
// even; as long as the counter still holds that value no rename has
// happened since that stat, so the generation is still current:
//
//   - a commit that began before that read also ended before it (an even
//     value means no commit was between begin and end, and commits are
//     serialised by the writer lock), so its rename came before the stat,
//     which saw it;
//   - a commit that began after that read changed the counter before its
//     rename, so a verification starting after the rename reads another
//     value and stats again.
//
// So a commit is seen by the first lookup that starts after the commit's
// rename returned, exactly as with a stat on every call; there is no
// window. An odd counter (a commit in progress, or one killed between
// begin and end) makes every call stat until the next commit ends.
//
// WARNING: this holds for processes of this build. A writer that does not
// bump the counter (an older build) is seen only once something else
// bumps it. LOCK must never be replaced while a Store is open: the writer
// lock already relies on that. Should LOCK be truncated behind the store's
// back, reads and bumps of the counter fail (a fault, recovered) and the
// Store stats on every call meanwhile.
type changeCounter struct {
	mem []byte // the shared mapping (counterSize bytes of LOCK)
	p   *uint64
}

// counterSize is the length of LOCK that holds the counter.
const counterSize = 8

// mapChanges maps the counter of lockf (grown to counterSize bytes when
// shorter; growing never changes bytes already there, so Stores opening at
// once agree). It returns nil when the platform or the file does not allow
// it: the Store then stats the manifest on every call.
func mapChanges(lockf *os.File) *changeCounter {
	mem, err := mapCounter(lockf)
	if err != nil {
		return nil
	}
	return &changeCounter{mem: mem, p: (*uint64)(unsafe.Pointer(&mem[0]))}
}

// load returns the counter; ok is false when c is nil or the mapping
// faults.
func (c *changeCounter) load() (v uint64, ok bool) {
	if c == nil {
		return 0, false
	}
	old := faultGuard()
	defer faultRestore(old)
	defer recoverCounterFault(&ok)
	return atomic.LoadUint64(c.p), true
}

// begin marks a commit in progress: an odd value never held before. The
// caller holds the writer lock.
func (c *changeCounter) begin() { c.update(func(v uint64) uint64 { return (v | 1) + 2 }) }

// end marks the commit done: an even value never held before (also when
// begin failed).
func (c *changeCounter) end() { c.update(func(v uint64) uint64 { return (v + 2) &^ 1 }) }

func (c *changeCounter) update(next func(uint64) uint64) {
	if c == nil {
		return
	}
	var ok bool
	old := faultGuard()
	defer faultRestore(old)
	defer recoverCounterFault(&ok)
	atomic.StoreUint64(c.p, next(atomic.LoadUint64(c.p)))
}

// unmap releases the mapping; c must not be used after.
func (c *changeCounter) unmap() {
	if c != nil {
		munmap(c.mem)
	}
}

// recoverCounterFault turns a fault on the counter's mapping into ok =
// false; any other panic goes on.
func recoverCounterFault(ok *bool) {
	if r := recover(); r != nil {
		if _, fault := r.(interface{ Addr() uintptr }); !fault {
			panic(r)
		}
		*ok = false
	}
}
