package verify

import (
	"slices"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// Policy is the caller's tolerance.
type Policy struct {
	// ClockSkew tolerated between the code's iat/exp and the check time.
	ClockSkew time.Duration
	// MaxTrustAge is how old a status list's thisUpdate may be before the
	// result carries TRUST_STALE.
	MaxTrustAge time.Duration
}

// DefaultPolicy is the format's default: 300 s skew, 7 days maximum age.
func DefaultPolicy() Policy {
	return Policy{ClockSkew: 300 * time.Second, MaxTrustAge: 7 * 24 * time.Hour}
}

// SignerInfo describes the certificate that signed a code.
type SignerInfo struct {
	KID     []byte // 8 bytes
	Subject string // RFC 2253 form of the certificate's subject
	Issuer  string // RFC 2253 form of its issuer
	// Prefix is the jurisdiction of the CA that issued the signer ("00": all).
	Prefix string
	// Known is false when the kid matched no stored signer.
	Known bool
}

// Result is the outcome of verifying one code.
type Result struct {
	Verdict Verdict
	// Reasons in step order, each at most once.
	Reasons []Reason
	// Claims are set only when verification reached step 6 and the claims
	// passed the schema: never show unverified data as a licence.
	Claims *credential.Claims
	// Signer is set when the code's kid could be read.
	Signer *SignerInfo
	// CheckedAt is the check time used.
	CheckedAt time.Time
	// Detail is the technical cause of the first reason of steps 1–7
	// (e.g. which CBOR limit failed), for logs; never shown verbatim to users.
	Detail error
	// Status is the licence status found in step 9 (zero if none).
	Status StatusInfo
	// Online is the online confirmation (see Confirm): nil when none was
	// attempted (offline verification, or the status step not reached).
	Online *OnlineCheck
	// Err is set when the trust store itself failed (e.g. a damaged
	// database): the verdict is then INVALID and must be shown as an error,
	// not as a finding about the code.
	Err error
}

// StatusInfo is the status-list finding of step 9.
type StatusInfo struct {
	Listed bool
	// Revoked or suspended, with the time it took effect.
	Revoked   bool
	Suspended bool
	Since     time.Time
	// ListThisUpdate and ListNextUpdate of the list consulted.
	ListThisUpdate time.Time
	ListNextUpdate time.Time
	ListSequence   uint64
}

// Has reports whether r is among the result's reasons.
func (res *Result) Has(r Reason) bool { return slices.Contains(res.Reasons, r) }

func (res *Result) add(r Reason) {
	if !res.Has(r) {
		res.Reasons = append(res.Reasons, r)
	}
}

// finish sorts the reasons into step order and sets the verdict.
func (res *Result) finish() {
	slices.Sort(res.Reasons)
	res.Verdict = Valid
	for _, r := range res.Reasons {
		if !r.IsWarning() {
			res.Verdict = Invalid
			return
		}
		res.Verdict = Limited
	}
}
