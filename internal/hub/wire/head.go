package wire

import "time"

// PathHead is the endpoint of head reports (POST, signed by the device
// like every device request).
const PathHead = "/v1/head"

// HeadReport is POST /v1/head: the terminal's record chain head and the
// result of its local audit, sent with every sync (after the push), so
// the hub notices a chain that became shorter than what it already
// received — the newest records deleted on the terminal and its head
// rolled back — even when nothing new is pushed.
type HeadReport struct {
	// Seq is the sequence number of the newest record (0: none yet).
	Seq uint64 `json:"seq"`
	// Hash is the SM3 of the newest record's canonical bytes, 64 lower-case
	// hex digits (all zeros when Seq is 0).
	Hash string `json:"hash"`
	// Sig is the device's signature of the head as stored on the terminal
	// (raw SM2 r || s, base64) over records.HeadSigningString: a head
	// written without the device key does not verify.
	Sig []byte `json:"sig"`
	// Audit is what the terminal's own audit of its chain found.
	Audit HeadAudit `json:"audit"`
}

// HeadAudit is the outcome of the terminal's chain audit.
type HeadAudit struct {
	Records  int           `json:"records"`
	Problems []HeadProblem `json:"problems,omitempty"`
}

// MaxHeadProblems bounds the problems one report carries; the hub
// refuses a report with more (the terminal sends the first ones).
const MaxHeadProblems = 100

// HeadProblem is one problem of the terminal's audit (records.Problem).
type HeadProblem struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// Flag kinds raised by head reports.
const (
	// FlagKindHeadBehind: the terminal reports fewer records than the hub
	// already received from it (its newest records were deleted and its
	// head rolled back, or its database was restored from an older copy).
	FlagKindHeadBehind = "head_behind"
	// FlagKindHeadMismatch: the terminal's record at a sequence the hub
	// holds is not the record the hub holds (its history was rewritten).
	FlagKindHeadMismatch = "head_mismatch"
	// FlagKindHeadSignature: the reported head is not signed by the
	// device (it was written outside RoadCheck).
	FlagKindHeadSignature = "head_signature"
	// FlagKindAudit: the terminal's own audit found its chain damaged.
	FlagKindAudit = "audit_failed"
)

// HeadResponse answers HeadReport.
type HeadResponse struct {
	// Flags are the kinds of flag the report raised or had raised before
	// (FlagKindHead*, FlagKindAudit); empty when the head is consistent
	// with what the hub holds.
	Flags []string `json:"flags,omitempty"`
	// Received is the highest sequence number the hub received in order
	// from the device (its next expected sequence minus one).
	Received uint64    `json:"received"`
	HubTime  time.Time `json:"hub_time"`
}
