package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/roadcheck/roadcheck/internal/credential"
)

// Online confirmation (the rules' 第九条: recognise other provinces'
// licences and check their authenticity online).
//
// When the terminal has a hub, a verification that reached the status step
// (step 9) also asks the hub for the licence's live status, within a short
// budget. The offline verdict is complete without it and is shown first;
// the hub's answer can only add a finding, never remove one:
//
//   - revoked or suspended, where the terminal's own list does not say so
//     yet: LICENCE_REVOKED or LICENCE_SUSPENDED is added (the verdict turns
//     INVALID) and OnlineCheck.Changed marks it as found online;
//   - active while the terminal's list says revoked or suspended: the
//     offline finding stands. A hub may be behind the issuer (restored from
//     a backup, or its feed stalled) while the terminal imported a newer
//     list by hand; "active" is also what a hub answers for a licence it
//     simply has no entry for. Evidence that a licence is revoked is never
//     outweighed by a missing entry elsewhere: a stale hub cannot
//     un-revoke. Lifting a revocation is the issuer's act, published as a
//     signed status list (status 0), and reaches the terminal through sync.
//   - unknown (the hub holds no list for the licence's authority) changes
//     nothing; neither does a finding taken from a list older than the one
//     the terminal consulted (OnlineCheck.Behind): the terminal's list
//     already carries everything that older list knew.
//   - no answer within the budget (hub down, slow, refusing): the offline
//     verdict stands and OnlineCheck.Err says why.
//
// The hub answers with its current status, whatever check time the
// verification used.

// The statuses a hub answers (the status field of GET /v1/status).
const (
	OnlineActive    = "active"    // no entry on the hub's list
	OnlineRevoked   = "revoked"   // status 1
	OnlineSuspended = "suspended" // status 2
	OnlineUnknown   = "unknown"   // the hub holds no list for the authority
)

// OnlineBudget is the longest a verification waits for the hub's answer.
const OnlineBudget = 800 * time.Millisecond

// Errors of the online confirmation.
var (
	// ErrNoHub is returned (wrapped) by a StatusChecker that has no hub to
	// ask: the terminal is not enrolled, or its record store (which holds
	// the key that signs requests) is locked. The check is then not made.
	ErrNoHub = errors.New("verify: no hub to ask for the licence's status")
	// ErrOnlineAnswer: the hub's answer makes no sense (an unknown status).
	ErrOnlineAnswer = errors.New("verify: unexpected online status answer")
)

// OnlineStatus is a hub's answer about one licence.
type OnlineStatus struct {
	// Status is OnlineActive, OnlineRevoked, OnlineSuspended or
	// OnlineUnknown.
	Status string
	// Since is when a revocation or suspension took effect (zero: none).
	Since time.Time
	// HubTime is the hub's clock when it answered.
	HubTime time.Time
	// ListSequence is the sequence of the status list the hub consulted
	// (0: none, or not said).
	ListSequence uint64
}

// StatusChecker asks a hub for a licence's live status: kid of the code's
// signer, the licence's authorityCode, and its idHash. It must return
// when ctx ends. An error wrapping ErrNoHub means there is no hub to ask.
// The terminal's adapters (internal/ui/terminal, internal/cli) map the sync
// client's answer to it, so that this package does not depend on the sync
// client.
type StatusChecker interface {
	CheckStatus(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (OnlineStatus, error)
}

// OnlineCheck is what the online confirmation found.
type OnlineCheck struct {
	// Asked is true when the hub was asked; false when there was no hub
	// to ask (ErrNoHub: not enrolled, or locked).
	Asked bool
	// At is the hub's time of its answer; zero without an answer.
	At time.Time
	// Status is the hub's answer (OnlineActive …); "" without an answer.
	Status string
	// ListSequence is the sequence of the list the hub consulted (0: none).
	ListSequence uint64
	// Err says why there is no answer (e.g. "timeout: no answer within
	// 800ms"), for logs and the record; "" with an answer. At most
	// MaxOnlineErr bytes.
	Err string
	// Changed is true when the answer added LICENCE_REVOKED or
	// LICENCE_SUSPENDED: a finding made online, which the terminal's own
	// lists do not carry yet.
	Changed bool
	// Behind is true when the hub reported a revocation or suspension
	// from a status list older than the one the terminal consulted: the
	// finding was not applied (the terminal's newer list lifted it).
	Behind bool
}

// Answered reports whether the hub answered.
func (o *OnlineCheck) Answered() bool { return o != nil && o.Asked && o.Status != "" }

// Finding is the reason the online check added (LICENCE_REVOKED or
// LICENCE_SUSPENDED), or 0 when it changed nothing.
func (o *OnlineCheck) Finding() Reason {
	switch {
	case o == nil || !o.Changed:
		return 0
	case o.Status == OnlineSuspended:
		return LicenceSuspended
	}
	return LicenceRevoked
}

// MaxOnlineErr caps OnlineCheck.Err.
const MaxOnlineErr = 200

// OnlineVerifier is a Verifier that also confirms online (Confirm) every
// verification that reached the status step. It is safe for concurrent
// use.
type OnlineVerifier struct {
	*Verifier
	Checker StatusChecker
	// Budget is the longest wait for the hub (zero: OnlineBudget).
	Budget time.Duration
}

// Online returns v confirming online with c within budget (zero:
// OnlineBudget). A nil c confirms nothing.
func (v *Verifier) Online(c StatusChecker, budget time.Duration) *OnlineVerifier {
	return &OnlineVerifier{Verifier: v, Checker: c, Budget: budget}
}

// Verify verifies text offline and then confirms the result online. It
// returns within the offline verification's time plus the budget.
func (o *OnlineVerifier) Verify(ctx context.Context, text string, at time.Time) *Result {
	return Confirm(ctx, o.Checker, o.Verifier.Verify(ctx, text, at), o.Budget)
}

// ReachedStatus reports whether verification reached the status step
// (step 9): the claims passed step 6, step 7 found nothing, and the trust
// store did not fail. Only such results are confirmed online.
func (res *Result) ReachedStatus() bool {
	return res != nil && res.Err == nil && res.Claims != nil && !res.Has(CodeNotYetValid) && !res.Has(CodeExpired)
}

// Confirm asks c for the live status of the licence res verified, waiting
// at most budget (zero: OnlineBudget) and less if ctx ends first, and
// returns the result with Online set and the hub's finding applied (see
// the rules at the top of this file). res itself is never modified: the
// caller may be showing it meanwhile. When res did not reach the status
// step, or c is nil, res is returned as it is.
//
// Confirm returns by the deadline even if c does not (c then finishes on
// its own goroutine, its answer dropped).
func Confirm(ctx context.Context, c StatusChecker, res *Result, budget time.Duration) *Result {
	if c == nil || !res.ReachedStatus() {
		return res
	}
	if budget <= 0 {
		budget = OnlineBudget
	}
	cr := &res.Claims.Credential
	var kid []byte
	if res.Signer != nil {
		kid = slices.Clone(res.Signer.KID)
	}
	issuer, idHash := cr.AuthorityCode, credential.IDHash(cr.ID)

	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	type answer struct {
		st  OnlineStatus
		err error
	}
	done := make(chan answer, 1)
	go func() {
		st, err := c.CheckStatus(ctx, kid, issuer, idHash)
		done <- answer{st, err}
	}()
	var ans answer
	select {
	case ans = <-done:
	case <-ctx.Done():
		ans.err = ctx.Err()
	}

	out := res.clone()
	out.Online = applyOnline(out, ans.st, ans.err, budget)
	out.finish()
	return out
}

// applyOnline adds the finding of the hub's answer st (or its failure err)
// to res and returns what the online check found.
func applyOnline(res *Result, st OnlineStatus, err error, budget time.Duration) *OnlineCheck {
	if err == nil {
		switch st.Status {
		case OnlineActive, OnlineRevoked, OnlineSuspended, OnlineUnknown:
		default:
			err = fmt.Errorf("%w: status %.40q", ErrOnlineAnswer, st.Status)
		}
	}
	if err != nil {
		if errors.Is(err, ErrNoHub) {
			return &OnlineCheck{}
		}
		return &OnlineCheck{Asked: true, Err: onlineErrText(err, budget)}
	}
	oc := &OnlineCheck{Asked: true, At: st.HubTime, Status: st.Status, ListSequence: st.ListSequence}
	var finding Reason
	switch st.Status {
	case OnlineRevoked:
		finding = LicenceRevoked
	case OnlineSuspended:
		finding = LicenceSuspended
		if res.Has(LicenceRevoked) {
			return oc // revoked offline: the stronger finding is already there
		}
	default:
		return oc // active or unknown: never lifts an offline finding
	}
	if res.Has(finding) {
		return oc // the terminal's list says so too
	}
	if st.ListSequence != 0 && res.Status.ListSequence > st.ListSequence {
		oc.Behind = true
		return oc
	}
	res.add(finding)
	oc.Changed = true
	return oc
}

// onlineErrText is the short cause of a missing answer.
func onlineErrText(err error, budget time.Duration) string {
	var s string
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		s = "timeout: no answer within " + budget.String()
	case errors.Is(err, context.Canceled):
		s = "canceled"
	default:
		s = err.Error()
	}
	if len(s) > MaxOnlineErr {
		cut := MaxOnlineErr
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// clone copies res deeply enough that the copy's Reasons and Online can be
// changed without touching res (Claims and Signer are shared: they are
// never modified after verification).
func (res *Result) clone() *Result {
	out := *res
	out.Reasons = slices.Clone(res.Reasons)
	if res.Online != nil {
		o := *res.Online
		out.Online = &o
	}
	return &out
}

// OnlineChinese is the online check's line for inspectors, e.g.
// "在线核验：状态正常（中心时间 2026-12-01 10:00）"; "" when the hub was not
// asked.
func (res *Result) OnlineChinese() string { return res.onlineText(true) }

// OnlineEnglish is OnlineChinese in English.
func (res *Result) OnlineEnglish() string { return res.onlineText(false) }

func (res *Result) onlineText(zh bool) string {
	o := res.Online
	if o == nil || !o.Asked {
		return ""
	}
	pick := func(c, e string) string {
		if zh {
			return c
		}
		return e
	}
	at := o.At.In(credential.CST()).Format("2006-01-02 15:04")
	switch {
	case !o.Answered():
		return pick("在线核验：未能连接中心，按离线结果", "Online check: the hub did not answer; the offline result stands")
	case o.Behind:
		return pick("在线核验：中心数据旧于本机，按离线结果（中心时间 "+at+"）",
			"Online check: the hub's status list is older than this terminal's; the offline result stands (hub time "+at+")")
	case o.Status == OnlineRevoked:
		return pick("在线核验：已吊销（中心记录）", "Online check: revoked (hub record)")
	case o.Status == OnlineSuspended:
		return pick("在线核验：已暂扣（中心记录）", "Online check: suspended (hub record)")
	case o.Status == OnlineUnknown:
		return pick("在线核验：中心没有该发证机关的状态清单，按离线结果（中心时间 "+at+"）",
			"Online check: the hub holds no status list for this authority; the offline result stands (hub time "+at+")")
	case res.Has(LicenceRevoked) || res.Has(LicenceSuspended):
		return pick("在线核验：中心记录为正常，本机清单的吊销或暂扣记录仍然有效（中心时间 "+at+"）",
			"Online check: the hub records nothing against the licence, but this terminal's list does, and it stands (hub time "+at+")")
	}
	return pick("在线核验：状态正常（中心时间 "+at+"）", "Online check: status normal (hub time "+at+")")
}
