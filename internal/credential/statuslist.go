package credential

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Status of a licence in a status list entry.
type Status uint8

// Entry statuses.
const (
	StatusActive    Status = 0 // active again: deletes an earlier entry
	StatusRevoked   Status = 1 // 注销/吊销
	StatusSuspended Status = 2 // 暂扣/停业
)

// StatusEntry is one [idHash, status, since] of a status list.
type StatusEntry struct {
	IDHash [IDHashSize]byte
	Status Status
	Since  int64 // epoch seconds
}

// StatusList is the payload of an RTC STATUS LIST COSE_Sign1.
type StatusList struct {
	Issuer     string // authority code the list speaks for
	Sequence   uint64
	Base       uint64 // 0: full list; otherwise the sequence this delta applies to
	ThisUpdate int64
	NextUpdate int64
	Entries    []StatusEntry
}

// Full reports whether the list replaces all earlier state.
func (l *StatusList) Full() bool { return l.Base == 0 }

// MaxStatusListSize caps the COSE bytes of one status list so hostile input
// cannot allocate without bound: 128 MiB, about 5 million entries of 24–28
// bytes. A province's full list (up to about 2.5 million entries, 60–75 MB)
// fits with room to spare.
const MaxStatusListSize = 128 << 20

// minEntrySize is the fewest bytes one entry takes: an array head, a bstr
// head and 16 bytes, a status and a since of one byte each.
const minEntrySize = 1 + 1 + IDHashSize + 1 + 1

// Status-list payload keys.
const (
	slIssuer = 1
	slSeq    = 2
	slBase   = 3
	slThis   = 4
	slNext   = 5
	slEntry  = 6
)

// StatusListHeader is everything a status list says but its entries.
type StatusListHeader struct {
	Issuer     string // authority code the list speaks for: six ASCII digits
	Sequence   uint64 // ≥ 1
	Base       uint64 // 0: full list; otherwise below Sequence
	ThisUpdate int64
	NextUpdate int64 // ≥ ThisUpdate
	Count      int   // number of entries
}

// Full reports whether the list replaces all earlier state.
func (h *StatusListHeader) Full() bool { return h.Base == 0 }

// Header returns the list's header.
func (l *StatusList) Header() *StatusListHeader {
	return &StatusListHeader{Issuer: l.Issuer, Sequence: l.Sequence, Base: l.Base,
		ThisUpdate: l.ThisUpdate, NextUpdate: l.NextUpdate, Count: len(l.Entries)}
}

// ParseStatusList decodes a status list COSE_Sign1 and validates its payload
// (see ParseStatusListFunc for the rules). Errors wrap ErrMalformed; any bad
// entry refuses the whole list. The alg is reported through Sign1.AlgOK. The
// returned Sign1 aliases cose. Besides the entries slice (32 bytes an
// entry) parsing allocates at most 32 bytes an entry, freed on return, to
// find repeated idHashes.
func ParseStatusList(cose []byte) (*Sign1, *StatusList, error) {
	var entries []StatusEntry
	p := statusParser{
		onCount: func(n int) { entries = make([]StatusEntry, 0, n) },
		yield: func(e StatusEntry) error {
			entries = append(entries, e)
			return nil
		},
	}
	s, h, err := p.parse(cose)
	if err != nil {
		return nil, nil, err
	}
	return s, &StatusList{Issuer: h.Issuer, Sequence: h.Sequence, Base: h.Base,
		ThisUpdate: h.ThisUpdate, NextUpdate: h.NextUpdate, Entries: entries}, nil
}

// ParseStatusListFunc decodes a status list COSE_Sign1 and validates it
// without building the list: yield receives each entry in list order while
// the payload is walked, straight from the CBOR (no intermediate values).
// The rules: at most MaxStatusListSize bytes; the COSE_Sign1 rules of
// ParseSign1; a payload that is one CBOR map within the limits of the
// format's section 1 (depth, definite lengths, no duplicate or container
// keys, valid UTF-8); an issuer of six ASCII digits; sequence and base
// unsigned integers with 1 ≤ sequence and base < sequence; thisUpdate and
// nextUpdate integers representable as int64 with thisUpdate ≤ nextUpdate;
// entries an array of [idHash, status, since] with a 16-byte idHash, a
// status 0, 1 or 2 and an int64 since; no idHash twice. Every value the
// format defines must be untagged. Unknown payload keys are checked as CBOR
// and ignored. Map keys may come in any order, so the header is complete
// only at the end.
//
// Entries are yielded before the whole list is known to be valid: when
// ParseStatusListFunc returns an error, the caller must discard every entry
// it was given. An error returned by yield stops parsing and is returned
// as is. Memory: besides the input, at most 32 bytes an entry (to find
// repeated idHashes), freed on return. The returned Sign1 aliases cose.
func ParseStatusListFunc(cose []byte, yield func(StatusEntry) error) (*Sign1, *StatusListHeader, error) {
	p := statusParser{yield: yield}
	return p.parse(cose)
}

type statusParser struct {
	onCount func(n int)
	yield   func(StatusEntry) error
}

func (p *statusParser) parse(cose []byte) (*Sign1, *StatusListHeader, error) {
	if len(cose) > MaxStatusListSize {
		return nil, nil, fmt.Errorf("%w: status list of %d bytes exceeds %d", ErrMalformed, len(cose), MaxStatusListSize)
	}
	s, err := ParseSign1(cose)
	if err != nil {
		return nil, nil, err
	}
	h, err := p.payload(s.Payload)
	if err != nil {
		return nil, nil, err
	}
	return s, h, nil
}

func (p *statusParser) payload(b []byte) (*StatusListHeader, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: status list: "+format, append([]any{ErrMalformed}, args...)...)
	}
	d := newDecoder(b, MaxDepth)
	major, _, n, err := d.head()
	if err != nil {
		return nil, fmt.Errorf("status list payload: %w", err)
	}
	if major != majorMap {
		return nil, bad("payload is not a map")
	}
	if err := d.container(major, n, 0); err != nil {
		return nil, fmt.Errorf("status list payload: %w", err)
	}
	h := &StatusListHeader{}
	var seen [slEntry + 1]bool
	var hashes [][IDHashSize]byte
	mark := d.beginKeys()
	for k := uint64(0); k < n; k++ {
		key, err := d.key()
		if err != nil {
			return nil, fmt.Errorf("status list payload: %w", err)
		}
		kn, known := key.(uint64)
		if !known || kn < slIssuer || kn > slEntry {
			if _, err := d.value(1, false); err != nil {
				return nil, fmt.Errorf("status list payload: %w", err)
			}
			continue
		}
		seen[kn] = true // a repeated key is caught by endKeys
		switch kn {
		case slIssuer:
			major, _, n, err := d.head()
			if err != nil {
				return nil, err
			}
			if major != majorText {
				return nil, bad("issuer is not text")
			}
			s, err := d.str(major, n)
			if err != nil {
				return nil, err
			}
			if !isDivisionCode(string(s)) {
				return nil, bad("issuer %q is not six ASCII digits", s)
			}
			h.Issuer = string(s)
		case slSeq, slBase:
			major, _, v, err := d.head()
			if err != nil {
				return nil, err
			}
			if major != majorUint {
				return nil, bad("%s is not an unsigned integer", slName(kn))
			}
			if kn == slSeq {
				h.Sequence = v
			} else {
				h.Base = v
			}
		case slThis, slNext:
			v, err := d.int64()
			if err != nil {
				return nil, bad("%s: %v", slName(kn), err)
			}
			if kn == slThis {
				h.ThisUpdate = v
			} else {
				h.NextUpdate = v
			}
		case slEntry:
			if hashes, err = p.entries(d); err != nil {
				return nil, err
			}
			h.Count = len(hashes)
		}
	}
	if err := d.endKeys(mark); err != nil {
		return nil, fmt.Errorf("status list payload: %w", err)
	}
	if err := d.end(); err != nil {
		return nil, fmt.Errorf("status list payload: %w", err)
	}
	for k := slIssuer; k <= slEntry; k++ {
		if !seen[k] {
			return nil, bad("%s missing", slName(uint64(k)))
		}
	}
	switch {
	case h.Sequence == 0:
		return nil, bad("sequence 0 (sequences start at 1)")
	case h.Base >= h.Sequence:
		return nil, bad("base %d not below sequence %d", h.Base, h.Sequence)
	case h.NextUpdate < h.ThisUpdate:
		return nil, bad("nextUpdate before thisUpdate")
	}
	if dup, ok := repeatedHash(hashes); ok {
		return nil, bad("idHash %x listed twice", dup)
	}
	return h, nil
}

// entries reads the entries array (at nesting level 2), yields each entry
// and returns the idHashes.
func (p *statusParser) entries(d *decoder) ([][IDHashSize]byte, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: status list: "+format, append([]any{ErrMalformed}, args...)...)
	}
	major, _, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if major != majorArray {
		return nil, bad("entries is not an array")
	}
	if err := d.container(major, n, 1); err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.i)/minEntrySize {
		return nil, bad("%d entries overrun the input", n)
	}
	if p.onCount != nil {
		p.onCount(int(n))
	}
	hashes := make([][IDHashSize]byte, n)
	for i := range hashes {
		// Level 3: the entry array.
		major, _, m, err := d.head()
		if err != nil {
			return nil, err
		}
		if major != majorArray || m != 3 {
			return nil, bad("entry %d is not [idHash, status, since]", i)
		}
		major, _, m, err = d.head()
		if err != nil {
			return nil, err
		}
		if major != majorBytes || m != IDHashSize {
			return nil, bad("entry %d: idHash is not %d bytes", i, IDHashSize)
		}
		h, err := d.str(majorBytes, m)
		if err != nil {
			return nil, err
		}
		var e StatusEntry
		copy(e.IDHash[:], h)
		major, _, st, err := d.head()
		if err != nil {
			return nil, err
		}
		if major != majorUint || st > uint64(StatusSuspended) {
			return nil, bad("entry %d: status is not 0, 1 or 2", i)
		}
		e.Status = Status(st)
		if e.Since, err = d.int64(); err != nil {
			return nil, bad("entry %d: since: %v", i, err)
		}
		hashes[i] = e.IDHash
		if p.yield != nil {
			if err := p.yield(e); err != nil {
				return nil, err
			}
		}
	}
	return hashes, nil
}

func slName(k uint64) string {
	switch k {
	case slIssuer:
		return "issuer"
	case slSeq:
		return "sequence"
	case slBase:
		return "base"
	case slThis:
		return "thisUpdate"
	case slNext:
		return "nextUpdate"
	}
	return "entries"
}

// int64 reads an untagged CBOR integer representable as int64.
func (d *decoder) int64() (int64, error) {
	major, _, v, err := d.head()
	if err != nil {
		return 0, err
	}
	switch {
	case major == majorUint && v <= math.MaxInt64:
		return int64(v), nil
	case major == majorNeg && v <= math.MaxInt64:
		return -1 - int64(v), nil
	case major == majorUint || major == majorNeg:
		return 0, errors.New("integer beyond int64")
	}
	return 0, errors.New("not an integer")
}

// repeatedHash returns an idHash that occurs twice in hashes, which it may
// reorder. Large sets are first distributed by their first two bytes into a
// second array (so at most 32 bytes an entry in all), then each bucket is
// sorted: linear for well-spread hashes, O(n log n) whatever the input.
func repeatedHash(hashes [][IDHashSize]byte) ([IDHashSize]byte, bool) {
	if len(hashes) < 1<<12 {
		return repeatedSorted(hashes)
	}
	start := make([]int, 1<<16+1)
	for i := range hashes {
		start[int(hashes[i][0])<<8|int(hashes[i][1])+1]++
	}
	for b := 1; b < len(start); b++ {
		start[b] += start[b-1]
	}
	out := make([][IDHashSize]byte, len(hashes))
	pos := slices.Clone(start[:1<<16])
	for i := range hashes {
		b := int(hashes[i][0])<<8 | int(hashes[i][1])
		out[pos[b]] = hashes[i]
		pos[b]++
	}
	for b := 0; b < 1<<16; b++ {
		if dup, ok := repeatedSorted(out[start[b]:start[b+1]]); ok {
			return dup, true
		}
	}
	return [IDHashSize]byte{}, false
}

// repeatedSorted sorts hashes and returns one that occurs twice.
func repeatedSorted(hashes [][IDHashSize]byte) ([IDHashSize]byte, bool) {
	if len(hashes) < 2 {
		return [IDHashSize]byte{}, false
	}
	slices.SortFunc(hashes, func(a, b [IDHashSize]byte) int {
		if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
			return cmp.Compare(x, y)
		}
		return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
	})
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			return hashes[i], true
		}
	}
	return [IDHashSize]byte{}, false
}

// EncodePayload returns the deterministic CBOR of the list.
func (l *StatusList) EncodePayload() ([]byte, error) {
	entries := make([]any, len(l.Entries))
	for i, e := range l.Entries {
		entries[i] = []any{e.IDHash[:], uint64(e.Status), e.Since}
	}
	return MarshalDeterministic(map[int64]any{
		slIssuer: l.Issuer, slSeq: l.Sequence, slBase: l.Base,
		slThis: l.ThisUpdate, slNext: l.NextUpdate, slEntry: entries,
	})
}
