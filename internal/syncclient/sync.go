package syncclient

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
)

// PushReport counts what one Push delivered.
type PushReport struct {
	Accepted  int // stored by the hub now
	Duplicate int // the hub had them already (an earlier answer was lost)
	Rejected  int // refused by the hub; see Rejections
	Flagged   int // stored but flagged (gap, chain, clock)
	Batches   int
	Remaining int // still pending afterwards
	// Rejections are the refused records with the hub's reasons.
	Rejections []wire.PushResult
}

// Push delivers every pending record, in chain order, in batches. A batch
// is taken out of the outbox only when the hub's answer arrives, so a lost
// answer means the batch is sent again and the hub reports duplicates. With
// Config.OpenRecords the records database is open only to read a batch
// and to mark it delivered, never while the batch is on its way.
func (c *Client) Push(ctx context.Context) (*PushReport, error) {
	rep := &PushReport{}
	defer func() {
		bg := context.WithoutCancel(ctx)
		c.withRecords(bg, func(rs *records.Store) error {
			rep.Remaining, _ = rs.PendingCount(bg)
			return nil
		})
		c.update(func(s *State) { s.Pending = rep.Remaining })
	}()
	var out []records.Outgoing
	err := c.withRecords(ctx, func(rs *records.Store) error {
		var err error
		out, err = rs.Outbox(ctx, c.cfg.BatchSize)
		return err
	})
	for err == nil && len(out) > 0 {
		var (
			pr       *wire.PushResponse
			outcomes []records.Outcome
		)
		if pr, outcomes, err = c.pushBatch(ctx, out, rep); err != nil {
			return rep, err
		}
		rep.Batches++
		local := c.clk.Now()
		err = c.withRecords(ctx, func(rs *records.Store) error {
			if err := rs.MarkDelivered(ctx, time.Time{}, outcomes); err != nil {
				return err
			}
			if err := rs.UpdateSyncState(ctx, func(s *records.SyncState) { s.HubTime, s.LocalTime = pr.HubTime, local }); err != nil {
				return err
			}
			var err error
			out, err = rs.Outbox(ctx, c.cfg.BatchSize) // the next batch, while the database is open
			return err
		})
	}
	return rep, err
}

// pushBatch sends one batch and reads the hub's answer.
func (c *Client) pushBatch(ctx context.Context, out []records.Outgoing, rep *PushReport) (*wire.PushResponse, []records.Outcome, error) {
	req := wire.PushRequest{Records: make([]wire.PushRecord, len(out))}
	for i, o := range out {
		req.Records[i] = wire.PushRecord{Body: o.Body, Sig: o.Sig}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	body, hdr, err := c.sealPush(ctx, body) // security.go: sealed to the hub's key
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/records", body, hdr)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, hubError(resp)
	}
	var pr wire.PushResponse
	err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&pr)
	resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: push answer: %v", ErrProtocol, err)
	}
	outcomes := make([]records.Outcome, 0, len(out))
	for _, r := range pr.Results {
		if r.Index < 0 || r.Index >= len(out) {
			return nil, nil, fmt.Errorf("%w: result index %d of a batch of %d", ErrProtocol, r.Index, len(out))
		}
		o := records.Outcome{Seq: out[r.Index].Seq}
		switch r.Status {
		case wire.StatusAccepted:
			rep.Accepted++
			if len(r.Flags) > 0 {
				rep.Flagged++
			}
		case wire.StatusDuplicate:
			rep.Duplicate++
		case wire.StatusRejected:
			rep.Rejected++
			o.Rejected, o.Reason = true, r.Reason
			rep.Rejections = append(rep.Rejections, r)
		default:
			return nil, nil, fmt.Errorf("%w: status %q", ErrProtocol, r.Status)
		}
		outcomes = append(outcomes, o)
	}
	if len(outcomes) == 0 {
		return nil, nil, ErrNoProgress
	}
	return &pr, outcomes, nil
}

// Report is the outcome of Sync.
type Report struct {
	// Audit is the chain audit made before the push (see Audit).
	Audit *records.AuditReport
	Push  *PushReport
	// Head is the head report made after the push (see ReportHead).
	Head *HeadReport
	Pull *PullReport
}

// Sync audits the record chain, pushes pending records, reports the chain
// head and the audit to the hub (head.go), then pulls trust updates. A
// damaged chain does not stop the sync: what is intact is delivered, and
// the hub flags the rest. It returns the
// first error; what was done before it is in the report. When the terminal
// was enrolled again since the last sync, it first switches to the new
// enrolment (see Reconfigure). The error and its kind are kept in State,
// except ErrReconfigured (Reconfigure ended this sync: the next one goes
// to the new hub).
func (c *Client) Sync(ctx context.Context) (*Report, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	sctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	c.mu.Lock()
	c.abort = abort
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.abort = nil
		c.mu.Unlock()
	}()
	start := c.clk.Now()
	c.update(func(s *State) { s.Syncing, s.LastAttempt = true, start })
	rep := &Report{}
	_, err := c.follow(sctx)
	if err == nil {
		rep.Audit, err = c.Audit(sctx)
	}
	if err == nil {
		rep.Push, err = c.Push(sctx)
	}
	if err == nil {
		rep.Head, err = c.ReportHead(sctx, rep.Audit)
	}
	if err == nil {
		rep.Pull, err = c.PullTrust(sctx)
	}
	end := c.clk.Now()
	if err == nil {
		hubNow := c.hubNow()
		err = c.withRecords(sctx, func(rs *records.Store) error {
			return rs.UpdateSyncState(sctx, func(s *records.SyncState) {
				s.LastSuccess = end.UnixMilli()
				s.HubTime, s.LocalTime = hubNow, end
			})
		})
	}
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(sctx), ErrReconfigured) {
		err = fmt.Errorf("%w (%v)", ErrReconfigured, err)
	}
	c.update(func(s *State) {
		s.Syncing = false
		s.HubClockOffset = time.Duration(c.offset.Load()) * time.Millisecond
		switch {
		case errors.Is(err, ErrReconfigured):
			// Not this hub's error: Reconfigure reset the state.
		case err != nil:
			s.LastError, s.LastErrorKind = err.Error(), KindOf(err)
		default:
			s.LastError, s.LastErrorKind, s.LastSuccess = "", KindNone, end
		}
	})
	return rep, err
}

// Reconfigure makes the client follow the terminal's current enrolment at
// once: call it after Enroll while the client runs (re-enrolment with
// another hub, or with the same one). It reads the hub URL and pinned CA
// that Enroll stored (Config.HubURL and Config.CAPEM, when set, still
// win), switches to them, resets the hub-specific state (Online, the clock
// offset, the feed sequence, LastError), ends a Sync in progress with the
// previous hub (that Sync returns ErrReconfigured, records it took stay
// pending) and asks Run for a sync now. It is safe to call from any
// goroutine and does not wait for the running sync.
//
// On an error (ErrNotEnrolled, ErrBadCA, ErrInsecureHub, a bad URL, a
// storage error) the client stays as it was. Without Reconfigure the
// client switches at the start of its next Sync.
func (c *Client) Reconfigure(ctx context.Context) error {
	switched, err := c.follow(ctx)
	if err != nil {
		return err
	}
	if switched {
		c.mu.Lock()
		abort := c.abort
		c.mu.Unlock()
		if abort != nil {
			abort(ErrReconfigured)
		}
	}
	c.Trigger()
	return nil
}

// follow switches the client to the stored enrolment when it is not the
// one the client follows, and reports whether it did.
func (c *Client) follow(ctx context.Context) (bool, error) {
	var st records.SyncState
	err := c.withRecords(ctx, func(rs *records.Store) error {
		var err error
		st, err = rs.SyncState(ctx)
		return err
	})
	if err != nil {
		return false, err
	}
	old := c.ep.Load()
	if old.follows(st) {
		return false, nil
	}
	ep, err := c.endpointFor(st)
	if err != nil {
		return false, err
	}
	if !c.ep.CompareAndSwap(old, ep) {
		return false, nil // another caller switched meanwhile
	}
	c.offset.Store(0)
	c.log.Info("sync: following a new enrolment", "hub", ep.base.String())
	c.update(func(s *State) {
		s.Online, s.HubClockOffset, s.FeedSeq = false, 0, 0
		s.LastError, s.LastErrorKind = "", KindNone
		s.LastSuccess = timeOf(st.LastSuccess)
	})
	return true, nil
}

// CheckStatus asks the hub for the current status of a licence (the
// online authenticity check): kid of the code's signer, the licence's
// authorityCode, and its idHash.
func (c *Client) CheckStatus(ctx context.Context, kid []byte, issuer string, idHash [credential.IDHashSize]byte) (*wire.StatusResponse, error) {
	q := url.Values{"kid": {hex.EncodeToString(kid)}, "issuer": {issuer}, "id_hash": {hex.EncodeToString(idHash[:])}}
	resp, err := c.do(ctx, http.MethodGet, "/v1/status?"+q.Encode(), nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, hubError(resp)
	}
	defer resp.Body.Close()
	var sr wire.StatusResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&sr); err != nil {
		return nil, fmt.Errorf("%w: status answer: %v", ErrProtocol, err)
	}
	return &sr, nil
}

// Trigger asks Run to sync now (e.g. after a new record). It never blocks.
func (c *Client) Trigger() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run syncs in the background until ctx ends: at once, on Trigger, every
// Interval while the hub answers, and after growing pauses (from
// RetryWaitMin up to Interval) while it does not; after Reconfigure, at
// once with the new hub. It returns ctx's error.
func (c *Client) Run(ctx context.Context) error {
	failures := 0
	for {
		_, err := c.Sync(ctx)
		wait := c.cfg.Interval
		if errors.Is(err, ErrReconfigured) && ctx.Err() == nil {
			select { // the new hub at once
			case <-c.kick:
			default:
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.log.Warn("sync failed", "err", err)
			failures++
			wait = min(Backoff(c.cfg.RetryWaitMin, c.cfg.Interval, failures, nil, c.clk.Now()), c.cfg.Interval)
		} else {
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-c.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// State returns the current sync state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Subscribe returns a channel that receives the state after every change
// (only the newest when the reader is slow) and a function that ends the
// subscription.
func (c *Client) Subscribe() (<-chan State, func()) {
	ch := make(chan State, 1)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	ch <- c.state
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.subs, ch)
		c.mu.Unlock()
	}
}

func (c *Client) update(fn func(*State)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.state
	fn(&c.state)
	if c.state == before {
		return
	}
	for ch := range c.subs {
		select { // keep only the newest state
		case <-ch:
		default:
		}
		ch <- c.state
	}
}

func (c *Client) setOnline(on bool) { c.update(func(s *State) { s.Online = on }) }
