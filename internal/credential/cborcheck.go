package credential

import (
	"encoding/binary"
	"fmt"
)

// MaxDepth is the deepest CBOR nesting RTC1 allows (arrays and maps; tags do
// not count; the outermost container is level 1), checked separately for the
// COSE structure, the protected header and the payload.
const MaxDepth = 16

// checkCBOR reports whether b holds exactly one well-formed CBOR data item
// with definite lengths only and nesting depth at most maxDepth (tags not
// counted). It walks headers with an explicit stack, so hostile input cannot
// recurse or allocate without bound. Errors wrap ErrMalformed.
func checkCBOR(b []byte, maxDepth int) error {
	// stack[i] = items still expected by the container at level i+1.
	stack := make([]uint64, maxDepth)
	depth := 0
	i := 0
	for {
		if i >= len(b) {
			return fmt.Errorf("%w: cbor: truncated at byte %d", ErrMalformed, i)
		}
		ib := b[i]
		major, ai := ib>>5, ib&0x1f
		i++
		var val uint64
		switch {
		case ai < 24:
			val = uint64(ai)
		case ai <= 27:
			n := 1 << (ai - 24)
			if len(b)-i < n {
				return fmt.Errorf("%w: cbor: truncated head at byte %d", ErrMalformed, i-1)
			}
			switch n {
			case 1:
				val = uint64(b[i])
			case 2:
				val = uint64(binary.BigEndian.Uint16(b[i:]))
			case 4:
				val = uint64(binary.BigEndian.Uint32(b[i:]))
			case 8:
				val = binary.BigEndian.Uint64(b[i:])
			}
			i += n
		case ai == 31:
			return fmt.Errorf("%w: cbor: indefinite length or break at byte %d", ErrMalformed, i-1)
		default:
			return fmt.Errorf("%w: cbor: reserved additional information at byte %d", ErrMalformed, i-1)
		}
		remaining := uint64(len(b) - i)
		switch major {
		case 2, 3:
			if val > remaining {
				return fmt.Errorf("%w: cbor: string of %d bytes overruns input at byte %d", ErrMalformed, val, i)
			}
			i += int(val)
		case 4, 5:
			if major == 5 {
				if val > remaining/2 {
					return fmt.Errorf("%w: cbor: map of %d pairs overruns input", ErrMalformed, val)
				}
				val *= 2
			} else if val > remaining {
				return fmt.Errorf("%w: cbor: array of %d items overruns input", ErrMalformed, val)
			}
			if depth+1 > maxDepth {
				return fmt.Errorf("%w: cbor: nesting deeper than %d", ErrMalformed, maxDepth)
			}
			if val > 0 {
				stack[depth] = val
				depth++
				continue
			}
		case 6:
			continue // the tag's content is the next item; tags add no depth
		case 7:
			if ai == 24 && val < 32 {
				return fmt.Errorf("%w: cbor: invalid simple value encoding at byte %d", ErrMalformed, i-2)
			}
		}
		// One item completed: count it against the enclosing containers.
		for depth > 0 {
			stack[depth-1]--
			if stack[depth-1] > 0 {
				break
			}
			depth--
		}
		if depth == 0 {
			if i != len(b) {
				return fmt.Errorf("%w: cbor: %d trailing bytes", ErrMalformed, len(b)-i)
			}
			return nil
		}
	}
}
