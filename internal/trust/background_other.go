//go:build !linux

package trust

// lowerThreadPriority does nothing where per-thread priorities are not
// available.
func lowerThreadPriority(by int) {}
