package wire

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// HeaderContentSM3 carries hex(SM3(BODY)) of a signed device request: the
// hash the signature covers, so the hub authenticates a request before it
// reads the body and then checks the body against it while reading. Sign
// sets it; a request without it may carry at most MaxPreAuthBody bytes.
const HeaderContentSM3 = "X-RC-Content-SM3"

// MaxPreAuthBody bounds the body the hub reads before it knows who sent it
// (a signed request without HeaderContentSM3, an enrolment, a sign-in).
const MaxPreAuthBody = 64 << 10

// SigningStringSum is SigningString for a body whose SM3 hash is sum.
func SigningStringSum(method, pathQuery, device string, ms int64, nonce string, sum [gm.SM3Size]byte) []byte {
	var b bytes.Buffer
	b.WriteString(SigningVersion)
	for _, s := range []string{method, pathQuery, device, strconv.FormatInt(ms, 10), nonce, hex.EncodeToString(sum[:])} {
		b.WriteByte('\n')
		b.WriteString(s)
	}
	return b.Bytes()
}

// VerifySum checks the signature of a request whose body has SM3 hash sum.
func (a *Auth) VerifySum(pub *gm.PublicKey, method, pathQuery string, sum [gm.SM3Size]byte) bool {
	ok, err := pub.Verify(SigningStringSum(method, pathQuery, a.Device, a.ms, a.Nonce, sum), a.Sig)
	return err == nil && ok
}

// ParseContentSM3 reads HeaderContentSM3 (64 lower-case hex digits); false
// when absent or malformed.
func ParseContentSM3(v string) ([gm.SM3Size]byte, bool) {
	var sum [gm.SM3Size]byte
	if len(v) != 2*gm.SM3Size {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(v)); err != nil || hex.EncodeToString(sum[:]) != v {
		return sum, false
	}
	return sum, true
}

// Error codes of the hub's protections.
const (
	// CodeRateLimited: a quota or a concurrency cap was reached; retry
	// after the response's Retry-After (HTTP 429).
	CodeRateLimited = "rate_limited"
	// CodeBodyMismatch: the body read does not match its signed hash.
	CodeBodyMismatch = "body_mismatch"
	// CodeSealingRequired: the hub takes record pushes only sealed
	// (envelope.ContentType) to its key (EnrollResponse.HubKey).
	CodeSealingRequired = "sealing_required"
	// CodeOutOfScope: the query names a device outside the supervisor's
	// jurisdiction.
	CodeOutOfScope = "out_of_scope"
)

// Rejection reasons and flags of the hub's own checks.
const (
	// ReasonSeqRange: the sequence number is 0, or implausibly far ahead
	// of the device's chain (MaxSeqAhead): a chain counter pushed to wrap.
	ReasonSeqRange = "seq_out_of_range"
	// FlagIDCollision: another device already delivered a record with this
	// id. Ids are unique per device only: both records are kept, and the
	// flag goes to the device that sent the second (see FlagKindCollision).
	FlagIDCollision = "id_collision"
	// FlagClockFuture: the record's time is ahead of the hub's receive time
	// by more than the allowed skew.
	FlagClockFuture = "clock_future"
	// FlagClockBackdated: the record's time is older than the hub's receive
	// time by more than the offline window plus the skew.
	FlagClockBackdated = "clock_backdated"
	// FlagIDTimeMismatch: the time in the record's id (ULID) is not its
	// wall time: it would hide from time-range queries.
	FlagIDTimeMismatch = "id_time_mismatch"
	// FlagKindCollision is the flag kind of an id collision.
	FlagKindCollision = "id_collision"
)

// MaxSeqAhead is how far beyond a device's next expected sequence number a
// pushed record may be (a terminal cannot lose a million records).
const MaxSeqAhead = 1_000_000

// MaxSeq bounds every sequence number (2^48: far from wrapping).
const MaxSeq = 1 << 48

// Paths of the supervisors' endpoints added with accounts.
const (
	PathSession      = "/v1/session"        // POST sign in, GET who am I, DELETE sign out
	PathRecordSearch = "/v1/records/search" // POST: GET /v1/records with the filters in the body
	PathRecordExport = "/v1/records/export" // POST: the export with the filters in the body
	PathReveal       = "/v1/records/reveal" // POST: one record's personal fields, audited
	PathAudit        = "/v1/audit"          // GET: the audit log (auditors, administrators)
	PathHubKey       = "/v1/hubkey"         // GET (devices): the hub's SM2 encryption key
)

// HubKeyResponse is GET /v1/hubkey: the key terminals seal pushes to, for
// terminals enrolled before the hub published it at enrolment.
type HubKeyResponse struct {
	HubKey []byte `json:"hub_key"` // PKIX DER, base64
	// PolicyKey is the hub's policy key (PKIX DER, base64), for terminals
	// enrolled before the hub published it at enrolment.
	PolicyKey []byte `json:"policy_key,omitempty"`
}

// SignInRequest is POST /v1/session.
type SignInRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Code     string `json:"code"` // the TOTP code of the supervisor's authenticator
	// Key is the client's SM2 public key (PKIX DER, base64): reveals are
	// sealed to it. Optional; without it the session cannot reveal.
	Key []byte `json:"key,omitempty"`
}

// SessionResponse answers SignInRequest (the token only then) and GET
// /v1/session.
type SessionResponse struct {
	Token        string    `json:"token,omitempty"` // rcses_…: the bearer token of the session
	Name         string    `json:"name"`
	Kind         string    `json:"kind"` // session or token
	Role         string    `json:"role"`
	Jurisdiction string    `json:"jurisdiction"` // "*" (national) or a region-code prefix
	Expires      time.Time `json:"expires,omitempty"`
	CanReveal    bool      `json:"can_reveal"`
	HubTime      time.Time `json:"hub_time"`
}

// RecordSearch is the body of POST /v1/records/search and POST
// /v1/records/export: the filters of GET /v1/records (plate included,
// which never travels in a URL).
type RecordSearch struct {
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Device  string `json:"device,omitempty"`
	Officer string `json:"officer,omitempty"`
	Verdict string `json:"verdict,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Plate   string `json:"plate,omitempty"`
	Stop    string `json:"stop,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	Flagged string `json:"flagged,omitempty"`
	Page    string `json:"page,omitempty"`
	Limit   string `json:"limit,omitempty"`
	Format  string `json:"format,omitempty"` // exports: csv or xlsx
}

// RevealRequest is POST /v1/records/reveal.
type RevealRequest struct {
	Device string `json:"device"`
	ID     string `json:"id"`
	Reason string `json:"reason"` // why the personal fields are needed (kept in the audit log)
}

// AuditEntry is one entry of GET /v1/audit.
type AuditEntry struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Who     string    `json:"who"`
	Role    string    `json:"role"`
	Source  string    `json:"source,omitempty"`
	Action  string    `json:"action"`
	Outcome string    `json:"outcome"`
	Status  int       `json:"status,omitempty"`
	Filters string    `json:"filters,omitempty"`
	Rows    int       `json:"rows,omitempty"`
	Fields  []string  `json:"fields,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Hash    string    `json:"hash"`
}

// AuditResponse is GET /v1/audit.
type AuditResponse struct {
	Entries []AuditEntry `json:"entries"`
	// Next is the after= value of the next page ("" when this is the last).
	Next string `json:"next,omitempty"`
}
