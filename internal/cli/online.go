package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// errNotEnrolled is reported by --online on a terminal without a hub.
var errNotEnrolled = errors.New("--online needs the terminal's enrolment with a hub (rcctl enroll --hub URL --token TOKEN); without --online the check is made offline")

// openOnline returns the status checker of the hub the terminal is
// enrolled with, for a verification confirmed online. The hub answers
// only requests signed with the device key, which the vault releases to
// an officer's PIN (a stolen tablet is no status oracle): officer is
// --officer (or $RC_OFFICER) and the PIN comes from the prompt or, with
// pinStdin, the first line of standard input. A terminal still on the key
// file of an earlier version opens with it instead. It opens the database
// only to unlock the key and read the enrolment, and closes it before
// returning: the checker signs with the key held in memory and touches no
// database. A terminal that was never enrolled gives errNotEnrolled before
// any PIN is asked, and nothing is created.
func openOnline(ctx context.Context, env *Env, officer string, pinStdin bool) (verify.StatusChecker, error) {
	if _, err := os.Stat(env.DBPath); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: no terminal database: %w", env.DBPath, errNotEnrolled)
	}
	db, err := storage.Open(ctx, env.DBPath, storage.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	dev, err := records.PeekDevice(ctx, db)
	if err != nil {
		return nil, err
	}
	if dev.ID == "" {
		return nil, errNotEnrolled
	}
	if st, err := records.PeekSyncState(ctx, db); err != nil {
		return nil, err
	} else if st.HubURL == "" {
		return nil, errNotEnrolled
	}
	var rs *records.Store
	if dev.HasSlot("keyfile") {
		rs, err = records.Open(ctx, db, records.KeyFile(records.KeyFilePath(env.DBPath)), records.Options{Clock: env.Clock})
	} else {
		var id string
		if id, err = officerID(env, officer); err == nil {
			rs, _, err = unlockRecords(ctx, env, db, id, newPINReader(env, pinStdin))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("--online: the device key that signs requests to the hub cannot be unlocked: %w", err)
	}
	return onlineChecker(ctx, env, rs)
}

// onlineTimeout bounds one status request of rcctl: longer than the
// budget (verify.OnlineBudget), so that the budget's deadline is what ends
// a slow answer and the record says "timeout", not "unreachable".
const onlineTimeout = verify.OnlineBudget + 2*time.Second

// onlineChecker is the status checker of the hub rs is enrolled with:
// errNotEnrolled when there is none. Its requests are not retried: the
// budget (verify.OnlineBudget) is shorter than any retry pause.
func onlineChecker(ctx context.Context, env *Env, rs *records.Store) (verify.StatusChecker, error) {
	st, err := rs.SyncState(ctx)
	if err != nil {
		return nil, err
	}
	if st.HubURL == "" {
		return nil, errNotEnrolled
	}
	c, err := syncclient.New(ctx, syncclient.Config{Records: rs, Clock: env.Clock, RetryMax: -1, Timeout: onlineTimeout})
	if errors.Is(err, syncclient.ErrNotEnrolled) {
		return nil, errNotEnrolled
	}
	if err != nil {
		return nil, err
	}
	return hubStatus{c}, nil
}

// hubStatus adapts the sync client's status check to verify.StatusChecker.
// (internal/ui/terminal has the same adapter for the GUI; neither package
// may import the other.)
type hubStatus struct{ c *syncclient.Client }

func (h hubStatus) CheckStatus(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
	sr, err := h.c.CheckStatus(ctx, kid, issuer, idHash)
	if err != nil {
		return verify.OnlineStatus{}, statusError(err)
	}
	return onlineStatus(sr), nil
}

// onlineStatus maps the hub's answer.
func onlineStatus(sr *wire.StatusResponse) verify.OnlineStatus {
	o := verify.OnlineStatus{Status: sr.Status, HubTime: sr.HubTime, ListSequence: sr.ListSequence}
	if sr.Since != nil {
		o.Since = *sr.Since
	}
	return o
}

// statusError shortens a failed status check to its kind (what the record
// keeps), keeping the cause for errors.Is.
func statusError(err error) error {
	switch {
	case errors.Is(err, syncclient.ErrNotEnrolled):
		return fmt.Errorf("%w: %w", verify.ErrNoHub, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return err
	}
	return &checkError{kind: syncclient.KindOf(err), err: err}
}

type checkError struct {
	kind syncclient.ErrorKind
	err  error
}

func (e *checkError) Error() string { return "online status check: " + e.kind.String() }
func (e *checkError) Unwrap() error { return e.err }

// onlineJSON is the "online" member of verify --json.
type onlineJSON struct {
	Asked        bool       `json:"asked"`
	HubTime      *time.Time `json:"hub_time,omitempty"`
	Status       string     `json:"status,omitempty"`
	ListSequence uint64     `json:"list_sequence,omitempty"`
	Changed      bool       `json:"changed,omitempty"`
	Behind       bool       `json:"behind,omitempty"`
	Error        string     `json:"error,omitempty"`
}

func toOnlineJSON(o *verify.OnlineCheck) *onlineJSON {
	if o == nil {
		return nil
	}
	j := &onlineJSON{Asked: o.Asked, Status: o.Status, ListSequence: o.ListSequence, Changed: o.Changed, Behind: o.Behind, Error: o.Err}
	if !o.At.IsZero() {
		t := o.At
		j.HubTime = &t
	}
	return j
}
