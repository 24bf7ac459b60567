package credential

import (
	"bytes"
	"fmt"
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

// MaxStatusListSize caps the COSE bytes of one status list (64 MiB, about
// 2.5 million entries) so hostile input cannot allocate without bound.
const MaxStatusListSize = 64 << 20

// Status-list payload keys.
const (
	slIssuer = 1
	slSeq    = 2
	slBase   = 3
	slThis   = 4
	slNext   = 5
	slEntry  = 6
)

// ParseStatusList decodes a status list COSE_Sign1 and validates its payload:
// every key present with its type, issuer a 6-digit code, sequence ≥ 1,
// thisUpdate ≤ nextUpdate, a delta's base below its sequence, each entry an
// array of a 16-byte idHash, a status 0–2 and an integer since, no idHash
// twice. Errors wrap ErrMalformed; any bad entry refuses the whole list. The
// alg is reported through Sign1.AlgOK.
func ParseStatusList(cose []byte) (*Sign1, *StatusList, error) {
	if len(cose) > MaxStatusListSize {
		return nil, nil, fmt.Errorf("%w: status list of %d bytes exceeds %d", ErrMalformed, len(cose), MaxStatusListSize)
	}
	s, err := ParseSign1(cose)
	if err != nil {
		return nil, nil, err
	}
	m, err := decodeMap(s.Payload, "status list payload")
	if err != nil {
		return nil, nil, err
	}
	l := &StatusList{}
	if l.Issuer, err = reqText(m, slIssuer, "issuer"); err != nil {
		return nil, nil, err
	}
	if !isDivisionCode(l.Issuer) {
		return nil, nil, fmt.Errorf("%w: status list issuer %q is not a 6-digit code", ErrMalformed, l.Issuer)
	}
	if l.Sequence, err = reqUint(m, slSeq, "sequence"); err != nil {
		return nil, nil, err
	}
	if l.Base, err = reqUint(m, slBase, "base"); err != nil {
		return nil, nil, err
	}
	for _, f := range []struct {
		key  int64
		name string
		dst  *int64
	}{{slThis, "thisUpdate", &l.ThisUpdate}, {slNext, "nextUpdate", &l.NextUpdate}} {
		v, ok := intKey(m, f.key)
		if !ok {
			return nil, nil, fmt.Errorf("%w: %s missing", ErrMalformed, f.name)
		}
		if *f.dst, err = asInt(v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	switch {
	case l.Sequence == 0:
		return nil, nil, fmt.Errorf("%w: sequence 0 (sequences start at 1)", ErrMalformed)
	case l.Base >= l.Sequence:
		return nil, nil, fmt.Errorf("%w: base %d not below sequence %d", ErrMalformed, l.Base, l.Sequence)
	case l.NextUpdate < l.ThisUpdate:
		return nil, nil, fmt.Errorf("%w: nextUpdate before thisUpdate", ErrMalformed)
	}
	ev, ok := intKey(m, slEntry)
	if !ok {
		return nil, nil, fmt.Errorf("%w: entries missing", ErrMalformed)
	}
	arr, ok := ev.([]any)
	if !ok {
		return nil, nil, fmt.Errorf("%w: entries is not an array", ErrMalformed)
	}
	l.Entries = make([]StatusEntry, len(arr))
	for i, e := range arr {
		t, ok := e.([]any)
		if !ok || len(t) != 3 {
			return nil, nil, fmt.Errorf("%w: entry %d is not [idHash, status, since]", ErrMalformed, i)
		}
		h, ok := t[0].([]byte)
		if !ok || len(h) != IDHashSize {
			return nil, nil, fmt.Errorf("%w: entry %d: idHash is not %d bytes", ErrMalformed, i, IDHashSize)
		}
		st, ok := t[1].(uint64)
		if !ok || st > uint64(StatusSuspended) {
			return nil, nil, fmt.Errorf("%w: entry %d: status %v", ErrMalformed, i, t[1])
		}
		since, err := asInt(t[2])
		if err != nil {
			return nil, nil, fmt.Errorf("entry %d: since: %w", i, err)
		}
		copy(l.Entries[i].IDHash[:], h)
		l.Entries[i].Status = Status(st)
		l.Entries[i].Since = since
	}
	sorted := slices.Clone(l.Entries)
	slices.SortFunc(sorted, func(a, b StatusEntry) int { return bytes.Compare(a.IDHash[:], b.IDHash[:]) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].IDHash == sorted[i-1].IDHash {
			return nil, nil, fmt.Errorf("%w: idHash %x listed twice", ErrMalformed, sorted[i].IDHash)
		}
	}
	return s, l, nil
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
