package records

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// noSpaceErrnos are the errors that mean "no room to write": a full disk, a
// file-size limit (RLIMIT_FSIZE) and an exhausted quota are treated alike.
var noSpaceErrnos = []syscall.Errno{syscall.ENOSPC, syscall.EFBIG, syscall.EDQUOT}

// classifyWrite turns a failed write into ErrStorageFull when the cause is
// a lack of space. bbolt wraps some of these errors with %w and formats
// others into its message (when growing the file), so both are checked.
func classifyWrite(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range noSpaceErrnos {
		if errors.Is(err, e) || strings.Contains(err.Error(), e.Error()) {
			return fmt.Errorf("%w: %v", ErrStorageFull, err)
		}
	}
	return err
}
