package records

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// Keys of BucketDevice owned by this package (package keys owns
// "public", "signkey" and "slot/*").
var (
	keyDeviceID  = []byte("id")
	keyHead      = []byte("head")      // chain head, signed by the device key
	keySync      = []byte("sync")      // SyncState
	keyAtRest    = []byte("atrest")    // at-rest format of the log: 2 once every record is sealed as v2
	personalADv1 = []byte("personal/") // associated data prefix of v1 sealed personal fields
	sealedADv2   = []byte("sealed/v2/")
)

// Options configure Open.
type Options struct {
	// Clock gives record times (nil: the real clock).
	Clock clock.Clock
	// DeviceID names the device when Open creates it (default: "T-" and 16
	// random base32 characters). Ignored for an existing device.
	DeviceID string
	// Rand is the randomness for ids and nonces (nil: crypto/rand).
	Rand io.Reader
}

// Store is the record store of one terminal. It is safe for concurrent use;
// appends are serialised.
type Store struct {
	db       *storage.DB
	clk      clock.Clock
	rand     io.Reader
	deviceID string
	kr       *keys.Keyring

	mu sync.Mutex // serialises Append (chain head)
}

// head is the chain head stored under keyHead.
type head struct {
	Seq  uint64 `cbor:"1,keyasint"`
	Hash []byte `cbor:"2,keyasint"`
	Wall int64  `cbor:"3,keyasint"`           // ms of the newest record
	Sig  []byte `cbor:"4,keyasint,omitempty"` // device signature of HeadSigningString (absent before signed heads)
}

// storedRecord is a record at rest in BucketRecords.
//
// Version 1 (V 0): Body is the canonical body without the personal map,
// Sealed the personal map (holder, holder ID, plate) under the data key.
// Version 2: Body is the canonical body without every personal or
// evidential field (location, id hash, number, action text, notes,
// personal map, reveal time), Sealed those fields (sealedFields) under the
// data key, Digest the SM3 of the full canonical bytes. A purged v2 record
// (Purged set) has lost Sealed; RestSig, the device's signature over
// "RC-REST-1", the digest and SM3(Body), keeps what remains verifiable.
type storedRecord struct {
	Body    []byte `cbor:"1,keyasint"`
	Sealed  []byte `cbor:"2,keyasint,omitempty"`
	Sig     []byte `cbor:"3,keyasint"` // over the full canonical body
	V       uint8  `cbor:"4,keyasint,omitempty"`
	Digest  []byte `cbor:"5,keyasint,omitempty"`
	Purged  int64  `cbor:"6,keyasint,omitempty"` // Unix ms of the purge
	RestSig []byte `cbor:"7,keyasint,omitempty"`
}

// sealedFields are the fields of a v2 record sealed at rest (keys as in
// the body).
type sealedFields struct {
	Location   *wireLoc  `cbor:"9,keyasint,omitempty"`
	IDHash     []byte    `cbor:"11,keyasint,omitempty"`
	Number     string    `cbor:"12,keyasint,omitempty"`
	ActionText string    `cbor:"17,keyasint,omitempty"`
	Notes      string    `cbor:"18,keyasint,omitempty"`
	Personal   *personal `cbor:"19,keyasint,omitempty"`
	Revealed   int64     `cbor:"20,keyasint,omitempty"`
}

// split moves the sealed fields out of b.
func split(b *body) *sealedFields {
	f := &sealedFields{Location: b.Location, IDHash: b.IDHash, Number: b.Number, ActionText: b.ActionText,
		Notes: b.Notes, Personal: b.Personal, Revealed: b.Revealed}
	b.Location, b.IDHash, b.Number, b.ActionText, b.Notes, b.Personal, b.Revealed = nil, nil, "", "", "", nil, 0
	return f
}

// merge puts f back into b.
func (f *sealedFields) merge(b *body) {
	b.Location, b.IDHash, b.Number, b.ActionText, b.Notes, b.Personal, b.Revealed = f.Location, f.IDHash, f.Number, f.ActionText, f.Notes, f.Personal, f.Revealed
}

// delivery is what the hub answered for a record (BucketDelivery).
type delivery struct {
	State  uint8  `cbor:"1,keyasint"`
	Reason string `cbor:"2,keyasint,omitempty"`
	At     int64  `cbor:"3,keyasint"`
}

// Open opens the record store in db, unlocking the device keyring with ks
// (see package keys: a vault session's keyring, Unlocked, or a legacy
// slot). When db has no device yet, Open creates one — device id and, for
// a legacy source, a new keyring protected by it. A ks whose slot is
// absent, or that does not unlock it, gives ErrWrongKey.
//
// Opening a store written by an earlier version migrates it: records
// stored as v1 are sealed again as v2, and an unsigned chain head is
// signed (after the chain was audited: a damaged chain is left as it is).
func Open(ctx context.Context, db *storage.DB, ks KeySource, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Store{db: db, clk: opts.Clock, rand: opts.Rand}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	readOnly := false
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{storage.BucketRecords, storage.BucketOutbox, storage.BucketDevice, storage.BucketRecordIndex, storage.BucketDelivery, storage.BucketRecordSearch} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, storage.ErrReadOnly) {
		readOnly = true
	} else if err != nil {
		return nil, fmt.Errorf("records: init buckets: %w", classifyWrite(err))
	}
	d, err := PeekDevice(ctx, db)
	if err != nil {
		return nil, err
	}
	if d.ID == "" {
		if err := s.create(ctx, ks, opts.DeviceID); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.deviceID = d.ID
	if s.kr, err = keys.Load(ctx, db, ks); err != nil {
		return nil, err
	}
	if !readOnly {
		if err := s.migrate(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) create(ctx context.Context, ks KeySource, deviceID string) error {
	if deviceID == "" {
		b := make([]byte, 10)
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return fmt.Errorf("records: device id: %w", err)
		}
		deviceID = "T-" + base32.StdEncoding.EncodeToString(b)
	}
	if len(deviceID) > 64 || strings.ContainsAny(deviceID, " \t\r\n\x00/") {
		return fmt.Errorf("%w: device id %q (at most 64 characters, no spaces or slashes)", ErrInvalidCheck, deviceID)
	}
	var err error
	if exists, err := keys.Exists(ctx, s.db); err != nil {
		return err
	} else if exists {
		s.kr, err = keys.Load(ctx, s.db, ks)
	} else {
		s.kr, err = keys.Create(ctx, s.db, ks, s.rand)
	}
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		if dev.Get(keyDeviceID) != nil {
			return fmt.Errorf("records: device created concurrently")
		}
		if err := dev.Put(keyAtRest, []byte{2}); err != nil {
			return err
		}
		return dev.Put(keyDeviceID, []byte(deviceID))
	})
	if err != nil {
		return fmt.Errorf("records: create device: %w", classifyWrite(err))
	}
	s.deviceID = deviceID
	return nil
}

// DeviceID is this terminal's device id.
func (s *Store) DeviceID() string { return s.deviceID }

// PublicKey is the device's SM2 public key, which the hub learns at
// enrolment.
func (s *Store) PublicKey() *gm.PublicKey { return s.kr.Public() }

// PublicKeyDER is PublicKey in PKIX DER form.
func (s *Store) PublicKeyDER() []byte { return s.kr.PublicDER() }

// SignRequest signs msg with the device key (raw r || s). It is for the
// sync protocol's request signatures, whose signing strings start with
// "RC-REQ-" and so can never be a record body (a CBOR map).
func (s *Store) SignRequest(msg []byte) ([]byte, error) {
	if !bytes.HasPrefix(msg, []byte("RC-REQ-")) {
		return nil, fmt.Errorf("records: refusing to sign a message that is not a request signing string")
	}
	return s.kr.Sign(msg)
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, seq)
	return k
}

func readHead(dev *bolt.Bucket) (head, error) {
	var h head
	v := dev.Get(keyHead)
	if v == nil {
		h.Hash = make([]byte, gm.SM3Size)
		return h, nil
	}
	if err := cbor.Unmarshal(v, &h); err != nil || len(h.Hash) != gm.SM3Size {
		return h, fmt.Errorf("%w: chain head: %v", storage.ErrDamaged, err)
	}
	return h, nil
}

// Append records one check and returns the stored record. It returns only
// after the record is committed to disk (fsync): nil means acknowledged.
// A full disk gives ErrStorageFull and stores nothing.
//
// Append sets the wall time from the clock and flags the record when the
// clock went backwards (before the newest record or the last sync) or was
// skewed against the hub's at the last sync.
func (s *Store) Append(ctx context.Context, c Check) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Officer != "" && !keys.ValidOfficerID(c.Officer) {
		return nil, fmt.Errorf("%w: officer id %q (1–%d letters, digits or '-')", ErrInvalidCheck, c.Officer, keys.MaxOfficerIDLength)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	id, err := newID(now, s.rand)
	if err != nil {
		return nil, err
	}
	st, err := s.SyncState(ctx)
	if err != nil {
		return nil, err
	}
	r := &Record{ID: id, Device: s.deviceID, Wall: time.UnixMilli(now.UnixMilli()), Check: c}
	r.StopWarnings = nil
	if len(c.StopWarnings) > 0 {
		r.StopWarnings = slices.Clone(c.StopWarnings)
	}
	r.Clock.HubTime, r.Clock.LocalTime = st.HubTime, st.LocalTime
	if !st.LocalTime.IsZero() && !st.HubTime.IsZero() {
		if d := st.LocalTime.Sub(st.HubTime); d > MaxClockSkew || d < -MaxClockSkew {
			r.Clock.Flags |= ClockSkewed
		}
		if now.UnixMilli() < st.LocalTime.UnixMilli() {
			r.Clock.Flags |= ClockBackwards
		}
	}
	r.Online = c.Online.normalized()
	r.Policy = normalizedPolicy(c.Policy)
	if l := r.Location; l != nil {
		l2 := *l
		l2.Lat, l2.Lon = float64(micro(l.Lat))/1e6, float64(micro(l.Lon))/1e6
		r.Location = &l2
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		idx := tx.Bucket(storage.BucketRecordIndex)
		h, err := readHead(dev)
		if err != nil {
			return err
		}
		if !r.Corrects.IsZero() && idx.Get(r.Corrects[:]) == nil {
			return fmt.Errorf("%w: corrected record %s is not stored", ErrInvalidCheck, r.Corrects)
		}
		r.Seq = h.Seq + 1
		copy(r.Prev[:], h.Hash)
		if h.Wall != 0 && r.Wall.UnixMilli() < h.Wall {
			r.Clock.Flags |= ClockBackwards
		}
		canon, err := r.Canonical()
		if err != nil {
			return err
		}
		sig, err := s.kr.Sign(canon)
		if err != nil {
			return err
		}
		sv, err := s.seal(r, canon, sig)
		if err != nil {
			return err
		}
		hash := Hash(canon)
		k := seqKey(r.Seq)
		if err := tx.Bucket(storage.BucketRecords).Put(k, sv); err != nil {
			return err
		}
		if err := idx.Put(id[:], k); err != nil {
			return err
		}
		if err := tx.Bucket(storage.BucketOutbox).Put(k, []byte{}); err != nil {
			return err
		}
		if err := s.putSearch(tx, r, true); err != nil {
			return err
		}
		return s.putHead(dev, head{Seq: r.Seq, Hash: hash[:], Wall: max(h.Wall, r.Wall.UnixMilli())})
	})
	if err != nil {
		return nil, classifyWrite(err)
	}
	return r, nil
}

// seal encodes r for BucketRecords as a v2 stored record.
func (s *Store) seal(r *Record, canon, sig []byte) ([]byte, error) {
	b := r.toBody(true)
	f := split(b)
	pub, err := encodeBody(b)
	if err != nil {
		return nil, err
	}
	fb, err := encMode.Marshal(f)
	if err != nil {
		return nil, err
	}
	sealed, err := s.kr.Seal(fb, append(bytes.Clone(sealedADv2), r.ID[:]...))
	if err != nil {
		return nil, err
	}
	d := Hash(canon)
	return encMode.Marshal(&storedRecord{V: 2, Body: pub, Sealed: sealed, Sig: sig, Digest: d[:]})
}

// HeadSigningString is what the device signs for its chain head: the hub
// verifies the same string for a head sent with a sync.
func HeadSigningString(device string, seq uint64, hash []byte) []byte {
	return fmt.Appendf(nil, "RC-HEAD-1\n%s\n%d\n%x", device, seq, hash)
}

func (s *Store) putHead(dev *bolt.Bucket, h head) error {
	sig, err := s.kr.Sign(HeadSigningString(s.deviceID, h.Seq, h.Hash))
	if err != nil {
		return err
	}
	h.Sig = sig
	hv, err := encMode.Marshal(&h)
	if err != nil {
		return err
	}
	return dev.Put(keyHead, hv)
}

// open turns a stored value into a record: the body is decoded and the
// sealed fields unsealed. A record whose stored bytes were tampered with
// returns the error (wrapping ErrMalformed or gm.ErrDecrypt) together with
// what could be read. A purged record decodes without its sealed fields
// (Record.Purged set) and without validation.
func (s *Store) open(v []byte) (*Record, *storedRecord, error) {
	var sr storedRecord
	if err := cbor.Unmarshal(v, &sr); err != nil {
		return nil, nil, fmt.Errorf("%w: stored record: %v", ErrMalformed, err)
	}
	if sr.V == 2 {
		return s.openV2(&sr)
	}
	if sr.V != 0 {
		return nil, &sr, fmt.Errorf("%w: stored record version %d", ErrMalformed, sr.V)
	}
	r, err := DecodeCanonical(sr.Body)
	if err != nil {
		return nil, &sr, err
	}
	if sr.Sealed != nil {
		pb, err := s.kr.Open(sr.Sealed, append(bytes.Clone(personalADv1), r.ID[:]...))
		if err != nil {
			return r, &sr, fmt.Errorf("records: personal fields of %s: %w", r.ID, err)
		}
		var p personal
		if err := decMode.Unmarshal(pb, &p); err != nil {
			return r, &sr, fmt.Errorf("%w: personal fields of %s: %v", ErrMalformed, r.ID, err)
		}
		r.Holder, r.HolderID, r.Plate = p.Holder, p.HolderID, p.Plate
	}
	return r, &sr, nil
}

func (s *Store) openV2(sr *storedRecord) (*Record, *storedRecord, error) {
	if len(sr.Body) > MaxBodySize {
		return nil, sr, fmt.Errorf("%w: stored body of %d bytes", ErrMalformed, len(sr.Body))
	}
	var b body
	if err := decMode.Unmarshal(sr.Body, &b); err != nil {
		return nil, sr, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(b.ID) != 16 {
		return nil, sr, fmt.Errorf("%w: id of %d bytes", ErrMalformed, len(b.ID))
	}
	if sr.Purged != 0 {
		r, err := b.toRecordLenient()
		if r != nil {
			r.Purged = time.UnixMilli(sr.Purged)
		}
		return r, sr, err
	}
	fb, err := s.kr.Open(sr.Sealed, append(bytes.Clone(sealedADv2), b.ID...))
	if err != nil {
		r, _ := b.toRecordLenient()
		return r, sr, fmt.Errorf("records: sealed fields of %x: %w", b.ID, err)
	}
	var f sealedFields
	if err := decMode.Unmarshal(fb, &f); err != nil {
		r, _ := b.toRecordLenient()
		return r, sr, fmt.Errorf("%w: sealed fields: %v", ErrMalformed, err)
	}
	f.merge(&b)
	r, err := b.toRecord()
	if err != nil {
		return nil, sr, err
	}
	return r, sr, nil
}

// Get returns the record with id.
func (s *Store) Get(ctx context.Context, id ID) (*Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var e *Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(storage.BucketRecordIndex).Get(id[:])
		if k == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		e = s.entry(tx, k, tx.Bucket(storage.BucketRecords).Get(k))
		return nil
	})
	return e, err
}

// State is the delivery state of a record.
type State uint8

// Delivery states.
const (
	Pending   State = iota // in the outbox
	Delivered              // stored by the hub
	Rejected               // the hub refused it (Reason says why); not retried
)

// String is pending, delivered or rejected.
func (st State) String() string {
	switch st {
	case Delivered:
		return "delivered"
	case Rejected:
		return "rejected"
	}
	return "pending"
}

// MarshalText implements encoding.TextMarshaler.
func (st State) MarshalText() ([]byte, error) { return []byte(st.String()), nil }

// Entry is a stored record with its delivery state.
type Entry struct {
	*Record
	State       State
	HubReason   string    // why the hub rejected it
	DeliveredAt time.Time // when the hub answered
	// Damaged is set when the stored bytes no longer open (edited in the
	// file): Record then holds what could be read, possibly nil.
	Damaged error
}

func (s *Store) entry(tx *bolt.Tx, k, v []byte) *Entry {
	e := &Entry{}
	r, _, err := s.open(v)
	e.Record, e.Damaged = r, err
	if r == nil {
		e.Record = &Record{Seq: binary.BigEndian.Uint64(k)}
	}
	if tx.Bucket(storage.BucketOutbox).Get(k) == nil {
		e.State = Delivered
		if dv := tx.Bucket(storage.BucketDelivery).Get(k); dv != nil {
			var d delivery
			if cbor.Unmarshal(dv, &d) == nil {
				e.State, e.HubReason, e.DeliveredAt = State(d.State), d.Reason, fromMS(d.At)
			}
		}
	}
	return e
}

// ListOptions select records for List.
type ListOptions struct {
	PendingOnly bool
	AfterSeq    uint64 // records with Seq > AfterSeq
	Limit       int    // 0: all
}

// List returns stored records in chain order.
func (s *Store) List(ctx context.Context, o ListOptions) ([]*Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(storage.BucketRecords)
		src := recs
		if o.PendingOnly {
			src = tx.Bucket(storage.BucketOutbox)
		}
		c := src.Cursor()
		for k, _ := c.Seek(seqKey(o.AfterSeq + 1)); k != nil; k, _ = c.Next() {
			if o.Limit > 0 && len(out) >= o.Limit {
				break
			}
			out = append(out, s.entry(tx, k, recs.Get(k)))
		}
		return nil
	})
	return out, err
}

// Outgoing is a record ready to be pushed to the hub.
type Outgoing struct {
	Seq uint64
	ID  ID // zero when the stored bytes no longer decode
	Signed
}

// Outbox returns up to limit undelivered records in chain order, as the hub
// receives them. Records whose stored bytes were tampered with are returned
// as they now are, for the hub to reject and flag.
func (s *Store) Outbox(ctx context.Context, limit int) ([]Outgoing, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Outgoing
	err := s.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(storage.BucketRecords)
		c := tx.Bucket(storage.BucketOutbox).Cursor()
		for k, _ := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			o := Outgoing{Seq: binary.BigEndian.Uint64(k)}
			r, sr, err := s.open(recs.Get(k))
			switch {
			case sr == nil:
				o.Body = bytes.Clone(recs.Get(k)) // not even a stored record: let the hub say so
			case r == nil:
				o.Body, o.Sig = bytes.Clone(sr.Body), bytes.Clone(sr.Sig)
			default:
				o.ID = r.ID
				o.Sig = bytes.Clone(sr.Sig)
				if err != nil {
					o.Body = bytes.Clone(sr.Body) // personal fields lost: the signature will fail
				} else if o.Body, err = r.Canonical(); err != nil {
					return err
				}
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// PendingCount is the number of records in the outbox.
func (s *Store) PendingCount(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(storage.BucketOutbox).Stats().KeyN
		return nil
	})
	return n, err
}

// Outcome is the hub's answer for one pushed record.
type Outcome struct {
	Seq      uint64
	Rejected bool   // false: stored (or already stored) by the hub
	Reason   string // the hub's reason for a rejection
}

// MarkDelivered takes answered records out of the outbox, in one
// transaction. Unknown sequence numbers are ignored.
func (s *Store) MarkDelivered(ctx context.Context, at time.Time, outcomes []Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	at = clock.Or(s.clk, at)
	return classifyWrite(s.db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(storage.BucketOutbox)
		db := tx.Bucket(storage.BucketDelivery)
		for _, o := range outcomes {
			k := seqKey(o.Seq)
			if ob.Get(k) == nil {
				continue
			}
			d := delivery{State: uint8(Delivered), At: at.UnixMilli()}
			if o.Rejected {
				d.State, d.Reason = uint8(Rejected), o.Reason
			}
			v, err := encMode.Marshal(&d)
			if err != nil {
				return err
			}
			if err := db.Put(k, v); err != nil {
				return err
			}
			if err := ob.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}))
}

// SyncState is what the terminal remembers of the hub between syncs.
type SyncState struct {
	HubURL   string `cbor:"1,keyasint,omitempty"`
	HubCAPEM []byte `cbor:"2,keyasint,omitempty"` // pinned CA of the hub's TLS certificate
	Enrolled int64  `cbor:"3,keyasint,omitempty"` // Unix ms of the enrolment
	// HubTime and LocalTime: the hub's clock and this device's clock at the
	// last successful exchange (clock-jump detection, see ClockInfo).
	HubTime     time.Time `cbor:"-"`
	LocalTime   time.Time `cbor:"-"`
	HubTimeMS   int64     `cbor:"4,keyasint,omitempty"`
	LocalTimeMS int64     `cbor:"5,keyasint,omitempty"`
	FeedSeq     uint64    `cbor:"6,keyasint,omitempty"` // trust feed sequence applied
	FeedETag    string    `cbor:"7,keyasint,omitempty"`
	LastSuccess int64     `cbor:"8,keyasint,omitempty"` // Unix ms of the last complete sync
	// HubKey is the hub's SM2 encryption key (PKIX DER) from the
	// enrolment: record pushes are sealed to it.
	HubKey []byte `cbor:"9,keyasint,omitempty"`
	// HubPolicyKey is the hub's policy key (PKIX DER), pinned at
	// enrolment: the only key hub policies are accepted from.
	HubPolicyKey []byte `cbor:"10,keyasint,omitempty"`
	// PolicySeq and DevicePolicySeq are the highest sequences of a hub
	// policy and of a device policy this terminal has applied: an older
	// one is refused (policy.ErrRollback). They never go down, except
	// PolicySeq when the terminal enrols with a hub of another policy key.
	PolicySeq       uint64 `cbor:"11,keyasint,omitempty"`
	DevicePolicySeq uint64 `cbor:"12,keyasint,omitempty"`
}

// PolicyKeys are the keys and sequences the check policy file is verified
// with on this terminal: the hub's pinned policy key (nil when none was
// pinned), this device's key and id, and the highest sequences applied.
func (s *Store) PolicyKeys(ctx context.Context) (policy.Keys, error) {
	st, err := s.SyncState(ctx)
	if err != nil {
		return policy.Keys{}, err
	}
	k := policy.Keys{Device: s.PublicKey(), DeviceID: s.deviceID, HubSeq: st.PolicySeq, DeviceSeq: st.DevicePolicySeq}
	if len(st.HubPolicyKey) > 0 {
		if k.Hub, err = gm.ParsePKIX(st.HubPolicyKey); err != nil {
			return k, fmt.Errorf("%w: the hub's policy key: %v", storage.ErrDamaged, err)
		}
	}
	return k, nil
}

// NotePolicy remembers that p is applied: the highest sequence of p's
// signer rises to p.Seq (it never goes down). The default policy changes
// nothing.
func (s *Store) NotePolicy(ctx context.Context, p policy.Policy) error {
	if p.Source != policy.SourceHub && p.Source != policy.SourceDevice {
		return nil
	}
	return s.UpdateSyncState(ctx, func(st *SyncState) {
		if p.Source == policy.SourceHub {
			st.PolicySeq = max(st.PolicySeq, p.Seq)
		} else {
			st.DevicePolicySeq = max(st.DevicePolicySeq, p.Seq)
		}
	})
}

// SyncState returns the stored sync state (zero when never enrolled).
func (s *Store) SyncState(ctx context.Context) (SyncState, error) {
	var st SyncState
	if err := ctx.Err(); err != nil {
		return st, err
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(storage.BucketDevice).Get(keySync)
		if v == nil {
			return nil
		}
		if err := cbor.Unmarshal(v, &st); err != nil {
			return fmt.Errorf("%w: sync state: %v", storage.ErrDamaged, err)
		}
		return nil
	})
	st.HubTime, st.LocalTime = fromMS(st.HubTimeMS), fromMS(st.LocalTimeMS)
	return st, err
}

// UpdateSyncState applies fn to the stored sync state in one transaction.
func (s *Store) UpdateSyncState(ctx context.Context, fn func(*SyncState)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return classifyWrite(s.db.Update(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		var st SyncState
		if v := dev.Get(keySync); v != nil {
			if err := cbor.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("%w: sync state: %v", storage.ErrDamaged, err)
			}
		}
		st.HubTime, st.LocalTime = fromMS(st.HubTimeMS), fromMS(st.LocalTimeMS)
		fn(&st)
		st.HubTimeMS, st.LocalTimeMS = ms(st.HubTime), ms(st.LocalTime)
		v, err := encMode.Marshal(&st)
		if err != nil {
			return err
		}
		return dev.Put(keySync, v)
	}))
}

// Keyring is the unlocked keyring the store was opened with (to open the
// store again, e.g. per sync step, without signing in again).
func (s *Store) Keyring() *keys.Keyring { return s.kr }
