package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// Header names of the protocol.
const (
	HeaderDevice    = "X-RC-Device"
	HeaderTime      = "X-RC-Time"      // Unix milliseconds of the signer's (corrected) clock
	HeaderNonce     = "X-RC-Nonce"     // 32 hex digits, fresh per attempt
	HeaderSignature = "X-RC-Signature" // base64 of the raw SM2 signature r || s
	HeaderHubTime   = "X-RC-Hub-Time"  // Unix milliseconds of the hub's clock, on every response
	// HeaderObjectType is the PEM type of a trust feed object (CERTIFICATE,
	// X509 CRL, RTC STATUS LIST), on object responses.
	HeaderObjectType = "X-RC-Object-Type"
)

// ReplayWindow is how far a request's time may be from the hub's clock.
const ReplayWindow = 5 * time.Minute

// Limits.
const (
	MaxBatch       = 1000     // records per push
	MaxPushBody    = 32 << 20 // bytes of a push request
	MaxSmallBody   = 64 << 10 // bytes of any other request
	SigningVersion = "RC-REQ-1"
)

// Errors of request signatures.
var (
	ErrMissingAuth = errors.New("wire: request is not signed (missing device, time, nonce or signature header)")
	ErrBadAuth     = errors.New("wire: malformed signature header")
)

// SigningString is what a device signs for one request.
func SigningString(method, pathQuery, device string, ms int64, nonce string, body []byte) []byte {
	sum := gm.SM3(body)
	var b bytes.Buffer
	b.WriteString(SigningVersion)
	for _, s := range []string{method, pathQuery, device, strconv.FormatInt(ms, 10), nonce, hex.EncodeToString(sum[:])} {
		b.WriteByte('\n')
		b.WriteString(s)
	}
	return b.Bytes()
}

// NewNonce returns a fresh random nonce.
func NewNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("wire: nonce: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Sign sets the signature headers of req for body, signing with sign at
// time t.
func Sign(req *http.Request, body []byte, device string, t time.Time, sign func([]byte) ([]byte, error)) error {
	nonce, err := NewNonce()
	if err != nil {
		return err
	}
	ms := t.UnixMilli()
	sig, err := sign(SigningString(req.Method, req.URL.RequestURI(), device, ms, nonce, body))
	if err != nil {
		return err
	}
	req.Header.Set(HeaderDevice, device)
	req.Header.Set(HeaderTime, strconv.FormatInt(ms, 10))
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	sum := gm.SM3(body)
	req.Header.Set(HeaderContentSM3, hex.EncodeToString(sum[:])) // the hub authenticates before reading the body
	return nil
}

// Auth is the signature part of a device request, as parsed from headers.
type Auth struct {
	Device string
	Time   time.Time
	Nonce  string
	Sig    []byte
	ms     int64
}

// ParseAuth reads the signature headers of r.
func ParseAuth(h http.Header) (*Auth, error) {
	dev, ts, nonce, sig := h.Get(HeaderDevice), h.Get(HeaderTime), h.Get(HeaderNonce), h.Get(HeaderSignature)
	if dev == "" || ts == "" || nonce == "" || sig == "" {
		return nil, ErrMissingAuth
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: time %q", ErrBadAuth, ts)
	}
	if len(nonce) != 32 || strings.Trim(nonce, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: nonce must be 32 lower-case hex digits", ErrBadAuth)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) != gm.SignatureSize {
		return nil, fmt.Errorf("%w: signature must be base64 of %d bytes", ErrBadAuth, gm.SignatureSize)
	}
	if len(dev) > 64 {
		return nil, fmt.Errorf("%w: device id too long", ErrBadAuth)
	}
	return &Auth{Device: dev, Time: time.UnixMilli(ms), Nonce: nonce, Sig: raw, ms: ms}, nil
}

// Verify checks the signature of a request with the device's key.
func (a *Auth) Verify(pub *gm.PublicKey, method, pathQuery string, body []byte) bool {
	ok, err := pub.Verify(SigningString(method, pathQuery, a.Device, a.ms, a.Nonce, body), a.Sig)
	return err == nil && ok
}

// Error is the body of every error response.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

// Error codes of error responses.
const (
	CodeBadRequest    = "bad_request"
	CodeUnauthorized  = "unauthorized"
	CodeClockSkew     = "clock_skew" // request time outside ReplayWindow: re-sign with the hub's time
	CodeReplay        = "replay"
	CodeBadSignature  = "bad_request_signature"
	CodeUnknownDevice = "unknown_device"
	CodeTokenInvalid  = "token_invalid"
	CodeDeviceExists  = "device_exists"
	CodeDeviceRevoked = "device_revoked" // the device was revoked at the hub: it must stop syncing
	CodeForbidden     = "forbidden"
	CodeNotFound      = "not_found"
	CodeTooLarge      = "too_large"
	CodeInternal      = "internal"
)

// EnrollRequest is POST /v1/enroll.
type EnrollRequest struct {
	Token     string `json:"token"`
	DeviceID  string `json:"device_id"`
	PublicKey []byte `json:"public_key"` // PKIX DER of the device's SM2 key, base64
	Label     string `json:"label,omitempty"`
}

// EnrollResponse answers EnrollRequest.
type EnrollResponse struct {
	DeviceID string    `json:"device_id"`
	HubTime  time.Time `json:"hub_time"`
	// HubKey is the hub's SM2 encryption key (PKIX DER, base64): the
	// terminal seals its record pushes to it (package envelope).
	HubKey []byte `json:"hub_key,omitempty"`
	// PolicyKey is the hub's SM2 policy key (PKIX DER, base64): the
	// terminal pins it and accepts check policies signed by it only.
	PolicyKey []byte `json:"policy_key,omitempty"`
}

// PushRecord is one record of a push: canonical bytes and signature.
type PushRecord struct {
	Body []byte `json:"body"` // canonical CBOR, base64
	Sig  []byte `json:"sig"`  // raw SM2 r || s, base64
}

// PushRequest is POST /v1/records: a batch of records in chain order.
type PushRequest struct {
	Records []PushRecord `json:"records"`
}

// Statuses of a pushed record.
const (
	StatusAccepted  = "accepted"  // stored now
	StatusDuplicate = "duplicate" // stored before: nothing changed
	StatusRejected  = "rejected"  // refused for Reason; the terminal must not resend it
)

// Rejection reasons and flags of pushed records.
const (
	ReasonMalformed     = "malformed"      // not a canonical record body
	ReasonSignature     = "bad_signature"  // device signature does not verify: edited or forged
	ReasonWrongDevice   = "wrong_device"   // the record names another device
	ReasonEdited        = "edited"         // same id as a stored record, different content
	ReasonSeqReused     = "seq_reused"     // another record already holds this sequence number
	FlagChainGap        = "chain_gap"      // records before this one are missing (deleted?)
	FlagChainMismatch   = "chain_mismatch" // prev hash is not the hash of the stored previous record
	FlagLate            = "late"           // arrived after later records (fills a flagged gap)
	FlagClockBackwards  = "clock_backwards"
	FlagClockSkewed     = "clock_skewed"
	FlagKindRejected    = "rejected" // flag kind for a rejected record
	FlagKindGap         = "gap"      // flag kind for missing sequence numbers
	FlagKindChain       = "chain_mismatch"
	FlagKindClock       = "clock"
	FlagKindSeqConflict = "seq_reused"
)

// PushResult is the hub's answer for one record, in request order.
type PushResult struct {
	Index  int      `json:"index"`
	ID     string   `json:"id,omitempty"`
	Seq    uint64   `json:"seq,omitempty"`
	Status string   `json:"status"`
	Reason string   `json:"reason,omitempty"`
	Detail string   `json:"detail,omitempty"`
	Flags  []string `json:"flags,omitempty"`
}

// PushResponse answers PushRequest.
type PushResponse struct {
	Results []PushResult `json:"results"`
	HubTime time.Time    `json:"hub_time"`
}

// StatusResponse is GET /v1/status: the online status check of a licence.
type StatusResponse struct {
	// Status is active (no entry), revoked, suspended, or unknown (the hub
	// holds no status list for the licence's issuer).
	Status         string     `json:"status"`
	Since          *time.Time `json:"since,omitempty"`
	ListSequence   uint64     `json:"list_sequence,omitempty"`
	ListThisUpdate *time.Time `json:"list_this_update,omitempty"`
	ListNextUpdate *time.Time `json:"list_next_update,omitempty"`
	HubTime        time.Time  `json:"hub_time"`
}

// TrustManifest is GET /v1/trust/manifest: the current state of the trust
// feed. Every object is named by the SM3 digest of its bytes (64 lower-case
// hex digits) and fetched from GET /v1/trust/objects/{digest}. Seq grows
// with every change within one Epoch; a new epoch (another hub, or the
// hub's feed state rebuilt or restored) restarts it.
type TrustManifest struct {
	Epoch FeedEpoch  `json:"epoch"`
	Seq   uint64     `json:"seq"`
	Certs []FeedRef  `json:"certs"` // CA and signer certificates (DER), anchors never
	CRLs  []FeedCRL  `json:"crls"`  // the newest CRL (DER) of each CA
	Lists []FeedList `json:"lists"` // status lists (COSE_Sign1)
	// Policy is the check policy the hub publishes (absent: none): an
	// RC-REQ-POLICY-1 text signed by the hub's policy key (package
	// policy), which terminals pinned at enrolment.
	Policy *FeedPolicy `json:"policy,omitempty"`
}

// FeedPolicy names the hub's signed check policy and its sequence (the
// sequence inside the signed text decides; this one saves a download).
type FeedPolicy struct {
	Seq uint64 `json:"seq"`
	FeedRef
}

// ObjectPolicy is the X-RC-Object-Type of the policy object.
const ObjectPolicy = "RC POLICY"

// FeedEpoch names one continuous history of a hub's trust feed.
type FeedEpoch struct {
	Hub        string `json:"hub"` // the hub's random id
	Generation uint64 `json:"generation"`
}

// FeedRef names a feed object.
type FeedRef struct {
	Digest string `json:"digest"` // hex SM3 of the object's bytes
	Size   int64  `json:"size"`
}

// FeedCRL is the newest CRL of one CA.
type FeedCRL struct {
	CA string `json:"ca"` // hex SM3 of the CA certificate's DER
	FeedRef
}

// FeedList is one status list: its latest full list and the deltas
// published after it, each based on the one before (the first on Full).
type FeedList struct {
	List   string      `json:"list"`   // hex SM3 of the CA certificate's DER, "/", issuer code
	CA     string      `json:"ca"`     // hex SM3 of the CA certificate's DER
	Issuer string      `json:"issuer"` // 6-digit authority code
	Full   FeedFull    `json:"full"`
	Deltas []FeedDelta `json:"deltas"`
}

// FeedFull is a full status list.
type FeedFull struct {
	Seq uint64 `json:"seq"`
	FeedRef
}

// FeedDelta is a status-list delta from Base to Seq.
type FeedDelta struct {
	Seq  uint64 `json:"seq"`
	Base uint64 `json:"base"`
	FeedRef
}

// MaxManifest bounds a manifest's JSON (a national set is well under 2 MB).
const MaxManifest = 64 << 20

// RecordView is a record as supervisors see it.
type RecordView struct {
	ID         string     `json:"id"`
	Device     string     `json:"device"`
	Seq        uint64     `json:"seq"`
	Wall       time.Time  `json:"wall"`
	Received   time.Time  `json:"received"`
	Officer    string     `json:"officer,omitempty"`
	Kind       uint8      `json:"kind,omitempty"`
	Number     string     `json:"number,omitempty"`
	Verdict    string     `json:"verdict"`
	Reasons    []string   `json:"reasons,omitempty"`
	Action     string     `json:"action"`
	ActionText string     `json:"action_text,omitempty"`
	Notes      string     `json:"notes,omitempty"`
	Holder     string     `json:"holder,omitempty"`
	HolderID   string     `json:"holder_id,omitempty"`
	Plate      string     `json:"plate,omitempty"`
	Revealed   *time.Time `json:"holder_id_revealed,omitempty"`
	Lat        *float64   `json:"lat,omitempty"`
	Lon        *float64   `json:"lon,omitempty"`
	Place      string     `json:"place,omitempty"`
	Corrects   string     `json:"corrects,omitempty"`
	HubTime    *time.Time `json:"hub_time_at_last_sync,omitempty"`
	Flags      []string   `json:"flags,omitempty"`
	// StopID groups the records of one roadside stop; StopWarnings are the
	// stop's cross-check findings (codes such as OPERATOR_MISMATCH) when
	// the record was made.
	StopID       string   `json:"stop_id,omitempty"`
	StopWarnings []string `json:"stop_warnings,omitempty"`
	// Policy is the check policy the record was made under, in short
	// form: signer, sequence, clock skew and maximum trust age
	// ("hub#3 120s/72h", "device#2 600s/336h", "default 300s/168h"); empty
	// for records made before records carried it.
	Policy string `json:"policy,omitempty"`
}

// RecordsResponse is GET /v1/records (supervisors).
type RecordsResponse struct {
	Records   []RecordView `json:"records"`
	NextPage  string       `json:"next_page,omitempty"`
	HubTime   time.Time    `json:"hub_time"`
	Truncated bool         `json:"truncated,omitempty"` // the scan limit was reached: continue with next_page
}

// FlagView is a gap or a sign of tampering, as supervisors see it.
type FlagView struct {
	ID       string    `json:"id"`
	Device   string    `json:"device"`
	Kind     string    `json:"kind"`
	Reason   string    `json:"reason,omitempty"`
	FromSeq  uint64    `json:"from_seq,omitempty"`
	ToSeq    uint64    `json:"to_seq,omitempty"`
	RecordID string    `json:"record_id,omitempty"`
	Detail   string    `json:"detail"`
	At       time.Time `json:"at"`
}

// FlagsResponse is GET /v1/flags (supervisors).
type FlagsResponse struct {
	Flags    []FlagView `json:"flags"`
	NextPage string     `json:"next_page,omitempty"`
}

// DeviceView is GET /v1/devices (supervisors).
type DeviceView struct {
	ID       string     `json:"id"`
	Label    string     `json:"label,omitempty"`
	Enrolled time.Time  `json:"enrolled"`
	NextSeq  uint64     `json:"next_seq"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
	Revoked  *time.Time `json:"revoked,omitempty"`
}
