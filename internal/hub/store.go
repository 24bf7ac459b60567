package hub

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// Role is what a token allows.
type Role string

// Roles.
const (
	RoleDevice     Role = "device"     // one-time: enrols one terminal
	RoleSupervisor Role = "supervisor" // bearer token for record queries
)

// Token is an enrolment or supervisor token. Only its SM3 hash is stored.
type Token struct {
	Hash    [gm.SM3Size]byte
	Role    Role
	Label   string
	Created time.Time
	Expires time.Time // zero: never
	UsedBy  string    // device tokens: the device that redeemed it
	Revoked time.Time // zero: not revoked; a revoked token is refused everywhere
}

// ID is the token's public name: the first 8 bytes of its hash in hex. It
// names the token in listings and revocations without revealing it.
func (t Token) ID() string { return TokenID(t.Hash) }

// TokenID is the public name of the token with hash (see Token.ID).
func TokenID(hash [gm.SM3Size]byte) string { return hex.EncodeToString(hash[:8]) }

// State is the token's state at now: active, used, expired or revoked.
func (t Token) State(now time.Time) string {
	switch {
	case !t.Revoked.IsZero():
		return "revoked"
	case t.UsedBy != "":
		return "used"
	case !t.Expires.IsZero() && now.After(t.Expires):
		return "expired"
	}
	return "active"
}

// Device is an enrolled terminal and the state of its record chain.
type Device struct {
	ID        string
	PublicKey []byte // PKIX DER
	Label     string
	Enrolled  time.Time
	// NextSeq is the sequence number expected next (1 for a new device);
	// LastHash the hash of record NextSeq−1 (zero when unknown: after a gap).
	NextSeq  uint64
	LastHash [gm.SM3Size]byte
	LastSeen time.Time
	// Revoked is when the device was revoked (zero: it is not): a revoked
	// device can no longer push, pull or check status; its records stay.
	Revoked time.Time
}

// StoredRecord is a record as the hub keeps it: index columns in the clear,
// evidence sealed.
type StoredRecord struct {
	ID     [16]byte
	Device string
	Seq    uint64
	// Hash is the SM3 of the canonical bytes, or zero when the store does
	// not keep it (the PostgreSQL store from schema version 5 on): the hub
	// then takes it from the sealed evidence (Server.hashOf), which holds
	// the canonical bytes.
	Hash      [gm.SM3Size]byte
	Wall      time.Time
	Received  time.Time
	Officer   string
	Verdict   string
	Kind      uint8
	PlateHash []byte   // HMAC-SM3 of the normalised plate under the index key (a store may keep its first 16 bytes only, and match on them); nil: no plate
	Flags     []string // wire.Flag* values
	Stop      string   // the roadside stop the check belongs to ("" = none)
	Sealed    []byte   // SM4-GCM(data key, CBOR{canonical bytes, signature}, ad = ID)
	// Issuer is the kid (8 bytes) of the signer of the checked code: who
	// issued the credential; nil when the code could not be read.
	Issuer []byte
}

// Flag is a gap or a sign of tampering, kept for supervisors.
type Flag struct {
	ID       [16]byte         // ULID of the hub time it was raised: its time is At's millisecond
	Key      [gm.SM3Size]byte // dedupe key (zero: none), e.g. SM3 of a rejected record
	Device   string
	Kind     string // wire.FlagKind*
	Reason   string // for rejected records: wire.Reason*
	FromSeq  uint64
	ToSeq    uint64
	RecordID string
	Detail   string
	At       time.Time
}

// RecordQuery selects records for supervisors. Zero fields do not filter.
type RecordQuery struct {
	From, To    time.Time // by the record's wall time, inclusive
	Device      string
	Officer     string
	Verdict     string
	Kind        uint8
	PlateHash   []byte
	Stop        string // records of one roadside stop
	Issuer      []byte // records of codes signed by this kid (8 bytes)
	FlaggedOnly bool
	After       [16]byte // page token: records with ID > After
	Limit       int      // page size (default 100, at most 1000)
}

// FlagQuery selects flags. Zero fields do not filter.
type FlagQuery struct {
	From, To time.Time // by the time the flag was raised (At), inclusive
	Device   string
	Kind     string
	After    [16]byte
	Limit    int
}

// IngestTx is the view of one device's chain inside an ingest transaction.
// Everything done through it commits atomically when the function given to
// Store.Ingest returns nil, and not at all otherwise.
type IngestTx interface {
	// Device is the device as of the start of the transaction, updated by
	// SetChain.
	Device() Device
	// SetChain moves the device's chain state.
	SetChain(nextSeq uint64, lastHash [gm.SM3Size]byte, lastSeen time.Time) error
	// Record returns the stored record with id.
	Record(id [16]byte) (StoredRecord, bool, error)
	// RecordAt returns the id stored for the device at seq. A store may
	// assume that nothing is stored at or above the NextSeq the device had
	// when the transaction started (the server keeps the chain head above
	// every sequence it stores).
	RecordAt(seq uint64) ([16]byte, bool, error)
	// PutRecord stores a new record (and its (device, seq) index entry).
	PutRecord(r StoredRecord) error
	// PutFlag stores a flag. A flag with a non-zero Key is stored only once
	// per Key: PutFlag then reports false.
	PutFlag(f Flag) (bool, error)
}

// IngestHinter is implemented by ingest transactions that answer Record
// and RecordAt faster when told first what a batch will ask (one query
// instead of one per record): Expect names the ids and the sequence
// numbers the batch holds. Calling it is optional and changes no result.
type IngestHinter interface {
	Expect(ids [][16]byte, seqs []uint64) error
}

// ExpectingIngester is implemented by stores that can look a batch's
// records up in the same round trip that opens the ingest transaction:
// IngestExpecting is Store.Ingest with Expect(ids, seqs) done before fn
// runs, and the same results.
type ExpectingIngester interface {
	IngestExpecting(ctx context.Context, deviceID string, ids [][16]byte, seqs []uint64, fn func(tx IngestTx) error) error
}

// Store is the hub's persistence. Implementations must pass the suite in
// package storetest. All methods are safe for concurrent use.
type Store interface {
	// PutToken stores a new token.
	PutToken(ctx context.Context, t Token) error
	// Token returns the token with hash (ErrNotFound).
	Token(ctx context.Context, hash [gm.SM3Size]byte) (Token, error)
	// Tokens lists every token (used, expired and revoked ones too).
	Tokens(ctx context.Context) ([]Token, error)
	// RevokeToken marks the token with hash revoked at (ErrNotFound). A
	// token revoked before keeps its first revocation time.
	RevokeToken(ctx context.Context, hash [gm.SM3Size]byte, at time.Time) error
	// Enroll atomically redeems the one-time device token with hash —
	// unknown, expired at now, already used or of another role gives
	// ErrTokenInvalid — and stores dev (ErrDeviceExists when its id is
	// enrolled already; the token then stays unused). Enrolling again the
	// device that redeemed the token, with the same key, succeeds (a lost
	// answer retried) unless the device was revoked since (ErrDeviceRevoked).
	// A revoked token gives ErrTokenInvalid.
	Enroll(ctx context.Context, hash [gm.SM3Size]byte, dev Device, now time.Time) error
	// Device returns the device with id (ErrNotFound).
	Device(ctx context.Context, id string) (Device, error)
	// Devices lists every device by id.
	Devices(ctx context.Context) ([]Device, error)
	// RevokeDevice marks the device with id revoked at (ErrNotFound). A
	// device revoked before keeps its first revocation time. Enroll then
	// refuses it with ErrDeviceRevoked; Ingest still runs (the server
	// checks Device().Revoked inside it).
	RevokeDevice(ctx context.Context, id string, at time.Time) error
	// Ingest runs fn in one transaction on deviceID's chain; transactions
	// of the same device never interleave. ErrNotFound for an unknown device.
	Ingest(ctx context.Context, deviceID string, fn func(tx IngestTx) error) error
	// Records returns one page of records in ID order, and whether the page
	// ended before the data (at Limit or at the scan limit). The page is
	// empty only when the query is complete (see RecordsOf).
	Records(ctx context.Context, q RecordQuery) (recs []StoredRecord, more bool, err error)
	// QueryRecords returns one page of records in ID order. A page ends at
	// q.Limit records or at the store's scan limit, whichever comes first;
	// RecordPage.Next then names where the next page starts, so a page
	// never ends without a way on.
	QueryRecords(ctx context.Context, q RecordQuery) (RecordPage, error)
	// Counters returns the rollups of q.Dim over q's hours, kept at
	// ingestion: exact counts of the records stored (each once), by the
	// records' time. Rows come in (hour,) key order.
	Counters(ctx context.Context, q CounterQuery) ([]CounterRow, error)
	// Retain deletes the records whose time (their id's) is before
	// `before`, the flags raised before it and the rollups of the hours
	// before it. It is safe while the store serves; repeating it deletes
	// nothing more.
	Retain(ctx context.Context, before time.Time) (RetainReport, error)
	// CountRecords counts the records of a device (all devices when empty).
	CountRecords(ctx context.Context, device string) (int, error)
	// Flags returns one page of flags in ID order.
	Flags(ctx context.Context, q FlagQuery) (flags []Flag, more bool, err error)
	// FeedStore is the trust feed's persistence: objects and manifest.
	FeedStore
}
