package records

import (
	"fmt"
	"slices"
	"time"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// Online is what a record says about the online confirmation of its check
// (verify.OnlineCheck): the hub was asked, and answered or not. A record of
// a check that was not confirmed online has none (Check.Online nil).
type Online struct {
	// At is the hub's time of its answer (millisecond precision); zero
	// without an answer.
	At time.Time
	// Status is the hub's answer: active, revoked, suspended or unknown;
	// "" without an answer.
	Status string
	// ListSequence is the sequence of the status list the hub consulted.
	ListSequence uint64
	// Changed: the answer added LICENCE_REVOKED or LICENCE_SUSPENDED to
	// the record's reasons (found online, not on the terminal's lists).
	Changed bool
	// Behind: the hub's finding came from a list older than the
	// terminal's and was not applied.
	Behind bool
	// Err is why there was no answer (e.g. "timeout: no answer within
	// 800ms"); "" with an answer.
	Err string
}

// OnlineFromResult is the record's view of res.Online: nil when the hub
// was not asked.
func OnlineFromResult(res *verify.Result) *Online {
	o := res.Online
	if o == nil || !o.Asked {
		return nil
	}
	out := &Online{Status: o.Status, ListSequence: o.ListSequence, Changed: o.Changed, Behind: o.Behind, Err: o.Err}
	if o.Answered() {
		out.At = time.UnixMilli(o.At.UnixMilli())
	}
	if !o.Answered() && out.Err == "" {
		out.Err = "no answer"
	}
	return out
}

// wireOnline is key 24 of the record body.
type wireOnline struct {
	At      int64  `cbor:"1,keyasint,omitempty"` // hub time, Unix ms
	Status  string `cbor:"2,keyasint,omitempty"`
	ListSeq uint64 `cbor:"3,keyasint,omitempty"`
	Changed bool   `cbor:"4,keyasint,omitempty"`
	Behind  bool   `cbor:"5,keyasint,omitempty"`
	Err     string `cbor:"6,keyasint,omitempty"`
}

func (o *Online) toWire() *wireOnline {
	if o == nil {
		return nil
	}
	return &wireOnline{At: ms(o.At), Status: o.Status, ListSeq: o.ListSequence, Changed: o.Changed, Behind: o.Behind, Err: o.Err}
}

func (w *wireOnline) toOnline() *Online {
	if w == nil {
		return nil
	}
	return &Online{At: fromMS(w.At), Status: w.Status, ListSequence: w.ListSeq, Changed: w.Changed, Behind: w.Behind, Err: w.Err}
}

// normalized is o as the record stores it (the hub time in milliseconds).
func (o *Online) normalized() *Online {
	if o == nil {
		return nil
	}
	n := *o
	if !n.At.IsZero() {
		n.At = time.UnixMilli(n.At.UnixMilli())
	}
	return &n
}

// validate checks o against the check's reasons: an answer has a status
// and a hub time and no error; no answer has an error and nothing else; a
// change names the reason it added.
func (o *Online) validate(reasons []verify.Reason) error {
	if o == nil {
		return nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: online check: "+format, append([]any{ErrInvalidCheck}, args...)...)
	}
	switch o.Status {
	case "":
		if o.Err == "" || !o.At.IsZero() || o.ListSequence != 0 || o.Changed || o.Behind {
			return bad("without an answer it has only an error")
		}
	case verify.OnlineActive, verify.OnlineUnknown, verify.OnlineRevoked, verify.OnlineSuspended:
		if o.Err != "" || o.At.IsZero() {
			return bad("an answer has a hub time and no error")
		}
	default:
		return bad("unknown status %.40q", o.Status)
	}
	if len(o.Err) > verify.MaxOnlineErr {
		return bad("error longer than %d bytes", verify.MaxOnlineErr)
	}
	if o.Changed && o.Behind {
		return bad("both changed and behind")
	}
	if o.Behind && o.Status != verify.OnlineRevoked && o.Status != verify.OnlineSuspended {
		return bad("behind without a finding")
	}
	if o.Changed {
		want := verify.LicenceRevoked
		switch o.Status {
		case verify.OnlineRevoked:
		case verify.OnlineSuspended:
			want = verify.LicenceSuspended
		default:
			return bad("changed without a finding")
		}
		if !slices.Contains(reasons, want) {
			return bad("changed but the reasons lack %s", want)
		}
	}
	return nil
}
