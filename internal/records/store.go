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
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// Keys of BucketDevice.
var (
	keyDeviceID  = []byte("id")
	keyPublic    = []byte("public")    // PKIX DER of the signing key
	keySignKey   = []byte("signkey")   // SM4-GCM(data key, PKCS#8, ad "signkey")
	keyHead      = []byte("head")      // chain head
	keySync      = []byte("sync")      // SyncState
	slotPrefix   = []byte("slot/")     // slot/<name> → wrapped data key
	personalADv1 = []byte("personal/") // associated data prefix of sealed personal fields
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
	pub      *gm.PublicKey
	pubDER   []byte
	key      *gm.PrivateKey
	aead     *gm.AEAD
	dataKey  []byte

	mu sync.Mutex // serialises Append (chain head)
}

// head is the chain head stored under keyHead.
type head struct {
	Seq  uint64 `cbor:"1,keyasint"`
	Hash []byte `cbor:"2,keyasint"`
	Wall int64  `cbor:"3,keyasint"` // ms of the newest record
}

// storedRecord is a record at rest in BucketRecords.
type storedRecord struct {
	Body   []byte `cbor:"1,keyasint"`           // canonical body without personal fields
	Sealed []byte `cbor:"2,keyasint,omitempty"` // SM4-GCM of the personal map
	Sig    []byte `cbor:"3,keyasint"`           // over the canonical body with personal fields
}

// delivery is what the hub answered for a record (BucketDelivery).
type delivery struct {
	State  uint8  `cbor:"1,keyasint"`
	Reason string `cbor:"2,keyasint,omitempty"`
	At     int64  `cbor:"3,keyasint"`
}

// Open opens the record store in db, unlocking the device data key with ks.
// When db has no device yet, Open creates one — device id, SM2 signing key,
// data key — and protects the data key with ks (creating a key file if ks
// is a KeyFile that does not exist). A ks whose slot is absent, or that does
// not unlock it, gives ErrWrongKey.
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
	var (
		sl     *slot
		exists bool
	)
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{storage.BucketRecords, storage.BucketOutbox, storage.BucketDevice, storage.BucketRecordIndex, storage.BucketDelivery} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, storage.ErrReadOnly) {
		return nil, fmt.Errorf("records: init buckets: %w", classifyWrite(err))
	}
	err = db.View(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		if dev == nil {
			return nil
		}
		id := dev.Get(keyDeviceID)
		if id == nil {
			return nil
		}
		exists = true
		s.deviceID = string(id)
		s.pubDER = bytes.Clone(dev.Get(keyPublic))
		v := dev.Get(append(bytes.Clone(slotPrefix), ks.Slot()...))
		if v == nil {
			return fmt.Errorf("%w: the database has no %q key slot", ErrWrongKey, ks.Slot())
		}
		sl = &slot{}
		if err := cbor.Unmarshal(v, sl); err != nil {
			return fmt.Errorf("%w: key slot: %v", storage.ErrDamaged, err)
		}
		sealedKey := dev.Get(keySignKey)
		if sealedKey == nil {
			return fmt.Errorf("%w: device has no signing key", storage.ErrDamaged)
		}
		s.dataKey = bytes.Clone(sealedKey) // temporarily: sealed signing key
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := s.create(ctx, ks, opts.DeviceID); err != nil {
			return nil, err
		}
		return s, nil
	}
	sealedKey := s.dataKey
	dk, err := sl.open(ks)
	if err != nil {
		return nil, err
	}
	if err := s.unlock(dk, sealedKey); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) unlock(dk, sealedKey []byte) error {
	a, err := gm.NewAEAD(dk, s.rand)
	if err != nil {
		return fmt.Errorf("%w: data key: %v", storage.ErrDamaged, err)
	}
	der, err := a.Open(sealedKey, []byte("signkey"))
	if err != nil {
		return fmt.Errorf("%w: signing key does not open with the data key", storage.ErrDamaged)
	}
	k, err := gm.ParsePKCS8(der)
	if err != nil {
		return fmt.Errorf("%w: signing key: %v", storage.ErrDamaged, err)
	}
	pub, err := gm.ParsePKIX(s.pubDER)
	if err != nil || !pub.Equal(k.Public()) {
		return fmt.Errorf("%w: stored public key does not match the signing key", storage.ErrDamaged)
	}
	s.key, s.pub, s.aead, s.dataKey = k, pub, a, dk
	return nil
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
	k, err := gm.GenerateKey(s.rand)
	if err != nil {
		return err
	}
	dk := make([]byte, gm.SM4KeySize)
	if _, err := io.ReadFull(s.rand, dk); err != nil {
		return fmt.Errorf("records: data key: %w", err)
	}
	a, err := gm.NewAEAD(dk, s.rand)
	if err != nil {
		return err
	}
	der, err := k.MarshalPKCS8()
	if err != nil {
		return err
	}
	sealedKey, err := a.Seal(der, []byte("signkey"))
	if err != nil {
		return err
	}
	pubDER, err := k.Public().MarshalPKIX()
	if err != nil {
		return err
	}
	sl, err := sealSlot(ks, dk, true)
	if err != nil {
		return err
	}
	slv, err := cbor.Marshal(sl)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		if dev.Get(keyDeviceID) != nil {
			return fmt.Errorf("records: device created concurrently")
		}
		for _, kv := range [][2][]byte{
			{keyDeviceID, []byte(deviceID)}, {keyPublic, pubDER}, {keySignKey, sealedKey},
			{append(bytes.Clone(slotPrefix), ks.Slot()...), slv},
		} {
			if err := dev.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("records: create device: %w", classifyWrite(err))
	}
	s.deviceID, s.pubDER = deviceID, pubDER
	return s.unlock(dk, sealedKey)
}

// AddKeySource adds (or replaces) the slot of ks, wrapping the data key the
// store was unlocked with. The GUI uses it to let the officer's PIN unlock
// the store.
func (s *Store) AddKeySource(ctx context.Context, ks KeySource) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sl, err := sealSlot(ks, s.dataKey, true)
	if err != nil {
		return err
	}
	v, err := cbor.Marshal(sl)
	if err != nil {
		return err
	}
	return classifyWrite(s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(storage.BucketDevice).Put(append(bytes.Clone(slotPrefix), ks.Slot()...), v)
	}))
}

// RemoveKeySource deletes the slot named name ("keyfile", "pin"). The last
// slot cannot be removed (ErrSlot): the data would become unreadable.
func (s *Store) RemoveKeySource(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return classifyWrite(s.db.Update(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		key := append(bytes.Clone(slotPrefix), name...)
		if dev.Get(key) == nil {
			return fmt.Errorf("%w: no slot %q", ErrSlot, name)
		}
		n := 0
		c := dev.Cursor()
		for k, _ := c.Seek(slotPrefix); k != nil && bytes.HasPrefix(k, slotPrefix); k, _ = c.Next() {
			n++
		}
		if n <= 1 {
			return fmt.Errorf("%w: %q is the last slot", ErrSlot, name)
		}
		return dev.Delete(key)
	}))
}

// DeviceID is this terminal's device id.
func (s *Store) DeviceID() string { return s.deviceID }

// PublicKey is the device's SM2 public key, which the hub learns at
// enrolment.
func (s *Store) PublicKey() *gm.PublicKey { return s.pub }

// PublicKeyDER is PublicKey in PKIX DER form.
func (s *Store) PublicKeyDER() []byte { return bytes.Clone(s.pubDER) }

// SignRequest signs msg with the device key (raw r || s). It is for the
// sync protocol's request signatures, whose signing strings start with
// "RC-REQ-" and so can never be a record body (a CBOR map).
func (s *Store) SignRequest(msg []byte) ([]byte, error) {
	if !bytes.HasPrefix(msg, []byte("RC-REQ-")) {
		return nil, fmt.Errorf("records: refusing to sign a message that is not a request signing string")
	}
	return s.key.Sign(s.rand, msg)
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
	if l := r.Location; l != nil {
		l2 := *l
		l2.Lat, l2.Lon = float64(micro(l.Lat))/1e6, float64(micro(l.Lon))/1e6
		r.Location = &l2
	}
	var sealed []byte
	p := personal{Holder: c.Holder, HolderID: c.HolderID, Plate: c.Plate}
	if !p.empty() {
		pb, err := encMode.Marshal(&p)
		if err != nil {
			return nil, err
		}
		if sealed, err = s.aead.Seal(pb, append(bytes.Clone(personalADv1), id[:]...)); err != nil {
			return nil, err
		}
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
		sig, err := s.key.Sign(s.rand, canon)
		if err != nil {
			return err
		}
		pub, err := encodeBody(r.toBody(false))
		if err != nil {
			return err
		}
		sv, err := encMode.Marshal(&storedRecord{Body: pub, Sealed: sealed, Sig: sig})
		if err != nil {
			return err
		}
		hash := Hash(canon)
		newWall := max(h.Wall, r.Wall.UnixMilli())
		hv, err := encMode.Marshal(&head{Seq: r.Seq, Hash: hash[:], Wall: newWall})
		if err != nil {
			return err
		}
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
		return dev.Put(keyHead, hv)
	})
	if err != nil {
		return nil, classifyWrite(err)
	}
	return r, nil
}

// open turns a stored value into a record: the body is decoded and the
// personal fields unsealed. A record whose stored bytes were tampered with
// returns the error (wrapping ErrMalformed or gm.ErrDecrypt) together with
// what could be read.
func (s *Store) open(v []byte) (*Record, *storedRecord, error) {
	var sr storedRecord
	if err := cbor.Unmarshal(v, &sr); err != nil {
		return nil, nil, fmt.Errorf("%w: stored record: %v", ErrMalformed, err)
	}
	r, err := DecodeCanonical(sr.Body)
	if err != nil {
		return nil, &sr, err
	}
	if sr.Sealed != nil {
		pb, err := s.aead.Open(sr.Sealed, append(bytes.Clone(personalADv1), r.ID[:]...))
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
