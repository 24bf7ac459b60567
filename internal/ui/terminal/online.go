package terminal

import (
	"context"
	"errors"
	"fmt"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// CheckStatus asks the hub for a licence's live status through the running
// sync client (verify.StatusChecker, the GUI's online confirmation). There
// is no hub to ask (an error wrapping verify.ErrNoHub) before enrolment and
// while the record store is locked: the device key that signs the request
// is in it. Other failures come back shortened to their kind
// ("online status check: unreachable"), which the record keeps; the
// context's own errors as they are. It returns when ctx ends.
func (s *SyncService) CheckStatus(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (verify.OnlineStatus, error) {
	s.mu.Lock()
	c, locked := s.client, s.rec == nil
	s.mu.Unlock()
	switch {
	case c == nil && locked:
		return verify.OnlineStatus{}, fmt.Errorf("%w: %w", verify.ErrNoHub, ErrLocked)
	case c == nil:
		return verify.OnlineStatus{}, fmt.Errorf("%w: %w", verify.ErrNoHub, syncclient.ErrNotEnrolled)
	}
	sr, err := c.CheckStatus(ctx, kid, issuer, idHash)
	if err != nil {
		return verify.OnlineStatus{}, statusError(err)
	}
	return onlineStatus(sr), nil
}

// HasHub reports whether CheckStatus can ask a hub now: the terminal is
// enrolled and its record store unlocked. The GUI asks it before showing
// "asking the hub", so a terminal without a hub shows nothing.
func (s *SyncService) HasHub() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client != nil
}

// onlineStatus maps the hub's answer. (internal/cli has the same adapter
// for rcctl; neither package may import the other.)
func onlineStatus(sr *wire.StatusResponse) verify.OnlineStatus {
	o := verify.OnlineStatus{Status: sr.Status, HubTime: sr.HubTime, ListSequence: sr.ListSequence}
	if sr.Since != nil {
		o.Since = *sr.Since
	}
	return o
}

// statusError shortens a failed status check to its kind, keeping the
// cause for errors.Is.
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
