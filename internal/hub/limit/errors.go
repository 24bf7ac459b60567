package limit

import "errors"

// ErrBadInput: limits that are not usable.
var ErrBadInput = errors.New("limit: bad input")
