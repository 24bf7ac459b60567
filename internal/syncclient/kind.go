package syncclient

import (
	"context"
	"errors"
	"strconv"

	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// ErrorKind sorts a sync error into what an officer can be told (and what
// can be done about it); State.LastErrorKind holds the kind of
// State.LastError. KindOf computes it from the sentinel errors with
// errors.Is, so the free text of LastError is only for logs.
type ErrorKind uint8

// The kinds, with the errors that give them. New kinds may be added at
// the end; a GUI should treat a kind it does not know like KindOther.
const (
	KindNone         ErrorKind = iota // no error (the last sync succeeded, or none ran yet)
	KindUnreachable                   // ErrUnreachable: no network, hub down, timeouts, hub busy (429/5xx) after every retry
	KindNotEnrolled                   // ErrNotEnrolled: enrol the terminal first
	KindRevoked                       // ErrRevoked: the hub revoked this terminal; it must be enrolled again as a new device
	KindBadToken                      // ErrBadToken: enrolment token unknown, expired, used or revoked
	KindTLS                           // ErrUntrustedHub, ErrBadCA, ErrInsecureHub: the hub's identity cannot be checked
	KindClockSkew                     // ErrClockSkew: the hub refuses this device's time
	KindHubRejected                   // ErrHub: the hub refused the request (4xx other than the above)
	KindProtocol                      // ErrProtocol, ErrNoProgress: the hub's answer makes no sense (version mismatch, proxy in between)
	KindStorageFull                   // records.ErrStorageFull: this device's disk is full
	KindLocalStorage                  // storage.ErrLocked, ErrDamaged, ErrReadOnly, records.ErrKeyFile, records.ErrWrongKey, ErrPullBusy: this device's database
	KindCanceled                      // context.Canceled, context.DeadlineExceeded: the sync was stopped
	KindOther                         // anything else (e.g. a trust import failure)
	// KindTrustIncomplete: ErrTrustIncomplete: trust data the hub lists
	// was not all received and applied; the next sync resumes.
	KindTrustIncomplete
)

var kindNames = [...]string{
	KindNone:            "none",
	KindUnreachable:     "unreachable",
	KindNotEnrolled:     "not_enrolled",
	KindRevoked:         "revoked",
	KindBadToken:        "bad_token",
	KindTLS:             "tls",
	KindClockSkew:       "clock_skew",
	KindHubRejected:     "hub_rejected",
	KindProtocol:        "protocol",
	KindStorageFull:     "storage_full",
	KindLocalStorage:    "local_storage",
	KindCanceled:        "canceled",
	KindOther:           "other",
	KindTrustIncomplete: "trust_incomplete",
}

// String is the kind's stable snake_case name ("unreachable"), suitable
// for logs and as a translation key suffix.
func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// kindOrder is the order in which KindOf tests the sentinels: an error may
// wrap several (an untrusted certificate is also ErrUnreachable), the
// most specific wins.
var kindOrder = []struct {
	kind ErrorKind
	errs []error
}{
	{KindRevoked, []error{ErrRevoked}},
	{KindBadToken, []error{ErrBadToken}},
	{KindNotEnrolled, []error{ErrNotEnrolled}},
	{KindStorageFull, []error{records.ErrStorageFull}},
	{KindTLS, []error{ErrUntrustedHub, ErrBadCA, ErrInsecureHub}},
	{KindClockSkew, []error{ErrClockSkew}},
	{KindTrustIncomplete, []error{ErrTrustIncomplete}},
	{KindUnreachable, []error{ErrUnreachable}},
	{KindHubRejected, []error{ErrHub}},
	{KindProtocol, []error{ErrProtocol, ErrNoProgress}},
	{KindLocalStorage, []error{ErrPullBusy, storage.ErrLocked, storage.ErrDamaged, storage.ErrReadOnly, records.ErrKeyFile, records.ErrWrongKey}},
	{KindCanceled, []error{context.Canceled, context.DeadlineExceeded}},
}

// KindOf returns the kind of an error of this package (of Sync, Push,
// PullTrust, CheckStatus, New or Enroll): KindNone for nil, KindOther for
// an error it does not know.
func KindOf(err error) ErrorKind {
	if err == nil {
		return KindNone
	}
	for _, k := range kindOrder {
		for _, e := range k.errs {
			if errors.Is(err, e) {
				return k.kind
			}
		}
	}
	return KindOther
}
