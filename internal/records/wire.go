package records

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// FormatVersion is the version of the signed record body (key 1).
//
// Version 1 gained keys 22 (stop id) and 23 (stop warnings), and later
// key 24 (the online confirmation: a map of 1 hub time in Unix ms, 2 the
// hub's status, 3 the hub's list sequence, 4 changed, 5 behind, 6 why
// there was no answer), and key 25 (the check policy in force: a map of 1
// source — 0 default, 1 hub, 2 device —, 2 the policy's sequence, 3 the
// SM3 digest of the signed policy, 4 clock skew and 5 maximum trust age in
// seconds), after its first release; action 7 (none, 未处置) came with
// key 25. All keys are optional and omitted when empty, so every body
// without a stop, an online check or a policy is byte for byte what it was
// (testdata/record-v1.hex pins it) and old records still decode and
// verify; a hub older than these keys refuses a body that has them (or
// action 7) as malformed. Any change that is not such an optional key
// needs a new FormatVersion.
const FormatVersion = 1

// MaxBodySize caps the canonical bytes of one record.
const MaxBodySize = 32 << 10

// body is the signed content of a record: a CBOR map with integer keys,
// encoded with RFC 8949 core deterministic encoding. It is the wire format
// between terminal and hub: change it only with a new FormatVersion, or by
// an optional key omitted when empty (see FormatVersion).
type body struct {
	Version    uint64      `cbor:"1,keyasint"`
	ID         []byte      `cbor:"2,keyasint"`
	Device     string      `cbor:"3,keyasint"`
	Seq        uint64      `cbor:"4,keyasint"`
	Prev       []byte      `cbor:"5,keyasint"`
	Wall       int64       `cbor:"6,keyasint"` // Unix milliseconds
	Officer    string      `cbor:"7,keyasint,omitempty"`
	Clock      wireClock   `cbor:"8,keyasint"`
	Location   *wireLoc    `cbor:"9,keyasint,omitempty"`
	KID        []byte      `cbor:"10,keyasint,omitempty"`
	IDHash     []byte      `cbor:"11,keyasint,omitempty"`
	Number     string      `cbor:"12,keyasint,omitempty"`
	Kind       uint8       `cbor:"13,keyasint,omitempty"`
	Verdict    string      `cbor:"14,keyasint"`
	Reasons    []string    `cbor:"15,keyasint,omitempty"`
	Action     uint8       `cbor:"16,keyasint"`
	ActionText string      `cbor:"17,keyasint,omitempty"`
	Notes      string      `cbor:"18,keyasint,omitempty"`
	Personal   *personal   `cbor:"19,keyasint,omitempty"`
	Revealed   int64       `cbor:"20,keyasint,omitempty"` // Unix ms the holder ID was unmasked
	Corrects   []byte      `cbor:"21,keyasint,omitempty"`
	Stop       string      `cbor:"22,keyasint,omitempty"`
	StopWarn   []string    `cbor:"23,keyasint,omitempty"`
	Online     *wireOnline `cbor:"24,keyasint,omitempty"`
	Policy     *wirePolicy `cbor:"25,keyasint,omitempty"`
}

// wirePolicy is key 25 of the record body: the check policy in force.
type wirePolicy struct {
	Source   uint8  `cbor:"1,keyasint,omitempty"`
	Seq      uint64 `cbor:"2,keyasint,omitempty"`
	Digest   []byte `cbor:"3,keyasint,omitempty"`
	Skew     uint64 `cbor:"4,keyasint,omitempty"` // seconds
	TrustAge uint64 `cbor:"5,keyasint,omitempty"` // seconds
}

func policyToWire(r *policy.Ref) *wirePolicy {
	if r == nil {
		return nil
	}
	w := &wirePolicy{Source: uint8(r.Source), Seq: r.Seq, Skew: uint64(max(r.ClockSkew, 0) / time.Second), TrustAge: uint64(max(r.MaxTrustAge, 0) / time.Second)}
	if r.Digest != ([gm.SM3Size]byte{}) {
		w.Digest = bytes.Clone(r.Digest[:])
	}
	return w
}

// maxPolicySeconds bounds the durations of key 25 (far beyond any
// policy's ceiling) so that they fit a time.Duration.
const maxPolicySeconds = 1 << 32

func (w *wirePolicy) toRef() (*policy.Ref, error) {
	if w == nil {
		return nil, nil
	}
	if w.Digest != nil && len(w.Digest) != gm.SM3Size {
		return nil, fmt.Errorf("policy digest of %d bytes", len(w.Digest))
	}
	if w.Skew > maxPolicySeconds || w.TrustAge > maxPolicySeconds {
		return nil, fmt.Errorf("policy durations %d s, %d s", w.Skew, w.TrustAge)
	}
	r := &policy.Ref{Source: policy.Source(w.Source), Seq: w.Seq, ClockSkew: time.Duration(w.Skew) * time.Second, MaxTrustAge: time.Duration(w.TrustAge) * time.Second}
	copy(r.Digest[:], w.Digest)
	if err := r.Check(); err != nil {
		return nil, err
	}
	return r, nil
}

// normalizedPolicy is r as a record stores it: durations to the second.
func normalizedPolicy(r *policy.Ref) *policy.Ref {
	if r == nil {
		return nil
	}
	n := *r
	n.ClockSkew, n.MaxTrustAge = n.ClockSkew.Truncate(time.Second), n.MaxTrustAge.Truncate(time.Second)
	return &n
}

type wireClock struct {
	HubTime   int64 `cbor:"1,keyasint,omitempty"` // Unix ms
	LocalTime int64 `cbor:"2,keyasint,omitempty"` // Unix ms
	Flags     uint8 `cbor:"3,keyasint,omitempty"`
}

type wireLoc struct {
	Lat   int64  `cbor:"1,keyasint"` // microdegrees
	Lon   int64  `cbor:"2,keyasint"` // microdegrees
	Place string `cbor:"3,keyasint,omitempty"`
}

// personal holds the fields sealed at rest on the terminal.
type personal struct {
	Holder   string `cbor:"1,keyasint,omitempty"`
	HolderID string `cbor:"2,keyasint,omitempty"`
	Plate    string `cbor:"3,keyasint,omitempty"`
}

func (p *personal) empty() bool { return p == nil || *p == personal{} }

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err)
	}
	if decMode, err = (cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		MaxNestedLevels:   6,
		MaxArrayElements:  maxReasons,
		MaxMapPairs:       32,
		UTF8:              cbor.UTF8RejectInvalid,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}).DecMode(); err != nil {
		panic(err)
	}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func micro(deg float64) int64 { return int64(math.Round(deg * 1e6)) }

func (r *Record) toBody(withPersonal bool) *body {
	b := &body{
		Version: FormatVersion, ID: r.ID[:], Device: r.Device, Seq: r.Seq, Prev: r.Prev[:],
		Wall: ms(r.Wall), Officer: r.Officer,
		Clock: wireClock{HubTime: ms(r.Clock.HubTime), LocalTime: ms(r.Clock.LocalTime), Flags: uint8(r.Clock.Flags)},
		KID:   r.KID, IDHash: r.IDHash, Number: r.Number, Kind: uint8(r.Kind), Verdict: r.Verdict.String(),
		Action: uint8(r.Action), ActionText: r.ActionText, Notes: r.Notes, Revealed: ms(r.HolderIDRevealed),
		Stop: r.StopID, StopWarn: r.StopWarnings, Online: r.Online.toWire(), Policy: policyToWire(r.Policy),
	}
	if l := r.Location; l != nil {
		b.Location = &wireLoc{Lat: micro(l.Lat), Lon: micro(l.Lon), Place: l.Place}
	}
	for _, rs := range r.Reasons {
		b.Reasons = append(b.Reasons, rs.String())
	}
	if !r.Corrects.IsZero() {
		b.Corrects = r.Corrects[:]
	}
	if withPersonal {
		p := &personal{Holder: r.Holder, HolderID: r.HolderID, Plate: r.Plate}
		if !p.empty() {
			b.Personal = p
		}
	}
	return b
}

func (b *body) toRecord() (*Record, error) { return b.decode(true) }

// toRecordLenient decodes a body that lost its sealed fields (purged, or
// unreadable): the same checks but the check's validation.
func (b *body) toRecordLenient() (*Record, error) { return b.decode(false) }

func (b *body) decode(strict bool) (*Record, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	switch {
	case b.Version != FormatVersion:
		return nil, bad("format version %d", b.Version)
	case len(b.ID) != 16:
		return nil, bad("id of %d bytes", len(b.ID))
	case b.Device == "" || len(b.Device) > maxText:
		return nil, bad("device id of %d bytes", len(b.Device))
	case b.Seq == 0:
		return nil, bad("sequence 0")
	case len(b.Prev) != gm.SM3Size:
		return nil, bad("prev hash of %d bytes", len(b.Prev))
	}
	r := &Record{Device: b.Device, Seq: b.Seq, Wall: fromMS(b.Wall)}
	copy(r.ID[:], b.ID)
	copy(r.Prev[:], b.Prev)
	r.Clock = ClockInfo{HubTime: fromMS(b.Clock.HubTime), LocalTime: fromMS(b.Clock.LocalTime), Flags: ClockFlags(b.Clock.Flags)}
	if b.Clock.Flags&^uint8(ClockBackwards|ClockSkewed) != 0 {
		return nil, bad("unknown clock flags %#x", b.Clock.Flags)
	}
	c := &r.Check
	c.Officer, c.Number, c.ActionText, c.Notes = b.Officer, b.Number, b.ActionText, b.Notes
	c.KID, c.IDHash, c.Kind, c.Action = b.KID, b.IDHash, credential.Kind(b.Kind), Action(b.Action)
	if err := c.Verdict.UnmarshalText([]byte(b.Verdict)); err != nil {
		return nil, bad("%v", err)
	}
	for _, s := range b.Reasons {
		rs, err := verify.ParseReason(s)
		if err != nil {
			return nil, bad("%v", err)
		}
		c.Reasons = append(c.Reasons, rs)
	}
	if l := b.Location; l != nil {
		c.Location = &Location{Lat: float64(l.Lat) / 1e6, Lon: float64(l.Lon) / 1e6, Place: l.Place}
	}
	if p := b.Personal; p != nil {
		if p.empty() {
			return nil, bad("empty personal map")
		}
		c.Holder, c.HolderID, c.Plate = p.Holder, p.HolderID, p.Plate
	}
	c.HolderIDRevealed = fromMS(b.Revealed)
	c.StopID, c.StopWarnings = b.Stop, b.StopWarn
	if b.Online != nil && *b.Online == (wireOnline{}) {
		return nil, bad("empty online map")
	}
	c.Online = b.Online.toOnline()
	ref, err := b.Policy.toRef()
	if err != nil {
		return nil, bad("%v", err)
	}
	c.Policy = ref
	if b.Corrects != nil {
		if len(b.Corrects) != 16 {
			return nil, bad("corrects id of %d bytes", len(b.Corrects))
		}
		copy(c.Corrects[:], b.Corrects)
	}
	if !strict {
		return r, nil
	}
	if err := c.validate(); err != nil {
		return nil, bad("%v", err)
	}
	return r, nil
}

// Canonical returns the canonical bytes of r: what the device signs and what
// the next record's Prev hashes.
func (r *Record) Canonical() ([]byte, error) { return encodeBody(r.toBody(true)) }

func encodeBody(b *body) ([]byte, error) {
	out, err := encMode.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("records: encode: %w", err)
	}
	return out, nil
}

// DecodeCanonical parses the canonical bytes of a record. It refuses bytes
// that are not exactly the canonical encoding of a valid record (unknown or
// duplicate keys, indefinite lengths, non-shortest forms, trailing bytes,
// out-of-range values), with errors wrapping ErrMalformed.
func DecodeCanonical(data []byte) (*Record, error) {
	if len(data) > MaxBodySize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(data), MaxBodySize)
	}
	var b body
	if err := decMode.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	r, err := b.toRecord()
	if err != nil {
		return nil, err
	}
	again, err := encodeBody(&b)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, data) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	return r, nil
}

// Hash is the SM3 hash of canonical record bytes: the chain link.
func Hash(canonical []byte) [gm.SM3Size]byte { return gm.SM3(canonical) }

// Signed is a record as delivered to the hub: its canonical bytes and the
// device's raw SM2 signature (r || s) over them.
type Signed struct {
	Body []byte
	Sig  []byte
}

// Open verifies the device signature of s with pub and decodes the body.
// A signature that does not verify gives ErrBadSignature (the record was
// edited after signing, or the signature is forged); bytes that do not
// decode give ErrMalformed.
func (s Signed) Open(pub *gm.PublicKey) (*Record, error) {
	r, err := DecodeCanonical(s.Body)
	if err != nil {
		return nil, err
	}
	ok, err := pub.Verify(s.Body, s.Sig)
	if err != nil || !ok {
		return r, ErrBadSignature
	}
	return r, nil
}
