package records

import (
	"fmt"
	"io"
	"time"

	"github.com/oklog/ulid/v2"
)

// ID is a record identifier: a ULID (48-bit millisecond timestamp of the
// device clock, then 80 random bits). IDs sort by creation time as long as
// the device clock does; the chain order is Record.Seq, not the ID.
type ID [16]byte

// String is the 26-character Crockford base32 form of the ULID.
func (id ID) String() string { return ulid.ULID(id).String() }

// IsZero reports whether id is the zero ID (no record).
func (id ID) IsZero() bool { return id == ID{} }

// Time is the millisecond timestamp embedded in the ID.
func (id ID) Time() time.Time { return ulid.Time(ulid.ULID(id).Time()) }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses the text form of an ID (case-insensitive).
func ParseID(s string) (ID, error) {
	u, err := ulid.ParseStrict(s)
	if err != nil {
		return ID{}, fmt.Errorf("%w: id %q: %v", ErrMalformed, s, err)
	}
	return ID(u), nil
}

// IDAt returns the smallest ID whose time is t, for range queries.
func IDAt(t time.Time) ID {
	var u ulid.ULID
	if t.UnixMilli() > 0 {
		_ = u.SetTime(uint64(t.UnixMilli()))
	}
	return ID(u)
}

// newID makes an ID for t with randomness from r.
func newID(t time.Time, r io.Reader) (ID, error) {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	u, err := ulid.New(uint64(ms), r)
	if err != nil {
		return ID{}, fmt.Errorf("records: new id: %w", err)
	}
	return ID(u), nil
}
