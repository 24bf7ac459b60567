package terminal

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"sync"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// SyncService runs the terminal's sync with its hub, before and after
// enrolment: until the terminal is enrolled there is no syncclient.Client,
// State is the zero state and Trigger does nothing; Enroll enrols it and
// starts syncing at once. Subscribers see the client's states across that
// change. It is safe for concurrent use.
type SyncService struct {
	rec   *records.Store // nil while the record store is locked
	trust *trust.Store
	clk   clock.Clock
	// Config is the base configuration of the client (Records, Trust and
	// Clock are filled in); set it before Start.
	Config syncclient.Config

	mu      sync.Mutex
	ctx     context.Context // Start's; nil before Start
	cancel  context.CancelFunc
	client  *syncclient.Client
	stopCl  context.CancelFunc // ends client's goroutines
	clDone  *sync.WaitGroup    // client's goroutines
	subs    map[chan syncclient.State]struct{}
	stopped sync.WaitGroup
}

// ErrLocked is returned by SyncState and Enroll while the record store is
// locked (no officer signed in).
var ErrLocked = errors.New("terminal: the record store is locked (sign in first)")

// NewSyncService returns the sync service of a terminal's record and trust
// stores; it does nothing until Start. rec may be nil while the record store
// is locked: SetRecords provides it after sign-in.
func NewSyncService(rec *records.Store, ts *trust.Store, clk clock.Clock) *SyncService {
	return &SyncService{rec: rec, trust: ts, clk: clk, subs: map[chan syncclient.State]struct{}{}}
}

// Start creates the client when the terminal is enrolled and syncs in the
// background until ctx ends or Stop. Not enrolled is not an error.
func (s *SyncService) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx != nil {
		return errors.New("terminal: sync service already started")
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	err := s.startLocked()
	if errors.Is(err, syncclient.ErrNotEnrolled) {
		return nil
	}
	return err
}

// startLocked creates the client and its goroutines; s.mu is held. Without
// a record store (locked) it does nothing.
func (s *SyncService) startLocked() error {
	if s.rec == nil {
		return nil
	}
	cfg := s.Config
	cfg.Records, cfg.Trust, cfg.Clock = s.rec, s.trust, s.clk
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c, err := syncclient.New(s.ctx, cfg)
	if err != nil {
		return err
	}
	s.client = c
	ch, unsub := c.Subscribe()
	ctx, cancel := context.WithCancel(s.ctx)
	done := &sync.WaitGroup{}
	s.stopCl, s.clDone = cancel, done
	s.stopped.Add(2)
	done.Add(2)
	go func() {
		defer s.stopped.Done()
		defer done.Done()
		_ = c.Run(ctx)
	}()
	go func() {
		defer s.stopped.Done()
		defer done.Done()
		defer unsub()
		for {
			select {
			case <-ctx.Done():
				return
			case st := <-ch:
				s.publish(st)
			}
		}
	}()
	return nil
}

// SetRecords gives the service the record store unlocked at sign-in, or
// nil at lock and sign-out: the running client (if any) is stopped, and,
// once started and enrolled, a new one syncs rec. Subscribers see the zero
// state while locked.
func (s *SyncService) SetRecords(rec *records.Store) error {
	s.mu.Lock()
	cancel, done := s.stopCl, s.clDone
	s.client, s.stopCl, s.clDone, s.rec = nil, nil, nil, rec
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		done.Wait()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec == nil || s.ctx == nil || s.ctx.Err() != nil || s.rec != rec {
		if rec == nil {
			s.publishLocked(syncclient.State{})
		}
		return nil
	}
	err := s.startLocked()
	if errors.Is(err, syncclient.ErrNotEnrolled) {
		return nil
	}
	return err
}

// Stop ends the background sync and waits for it.
func (s *SyncService) Stop() {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.stopped.Wait()
}

func (s *SyncService) publish(st syncclient.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishLocked(st)
}

func (s *SyncService) publishLocked(st syncclient.State) {
	for ch := range s.subs {
		select { // keep only the newest state
		case <-ch:
		default:
		}
		ch <- st
	}
}

// State is the client's state (zero before enrolment).
func (s *SyncService) State() syncclient.State {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c == nil {
		return syncclient.State{}
	}
	return c.State()
}

// Subscribe returns a channel receiving the state after every change, the
// current one first (only the newest when the reader is slow), and a
// function ending the subscription.
func (s *SyncService) Subscribe() (<-chan syncclient.State, func()) {
	ch := make(chan syncclient.State, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	c := s.client
	s.mu.Unlock()
	var st syncclient.State
	if c != nil {
		st = c.State()
	}
	select {
	case ch <- st:
	default:
	}
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}

// Trigger asks for a sync now; it does nothing before enrolment.
func (s *SyncService) Trigger() {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c != nil {
		c.Trigger()
	}
}

// QueryRecords asks the hub for one page of its records as a supervisor
// (see syncclient.Client.QueryRecords): ErrLocked while the record store is
// locked, syncclient.ErrNotEnrolled before enrolment.
func (s *SyncService) QueryRecords(ctx context.Context, supervisorToken string, q url.Values) (*wire.RecordsResponse, error) {
	s.mu.Lock()
	c, locked := s.client, s.rec == nil
	s.mu.Unlock()
	switch {
	case c != nil:
		return c.QueryRecords(ctx, supervisorToken, q)
	case locked:
		return nil, ErrLocked
	}
	return nil, syncclient.ErrNotEnrolled
}

// QueryCounters asks the hub for its record counters as a supervisor (see
// syncclient.Client.QueryCounters): ErrLocked while the record store is
// locked, syncclient.ErrNotEnrolled before enrolment.
func (s *SyncService) QueryCounters(ctx context.Context, supervisorToken string, q url.Values) (*wire.CountersResponse, error) {
	c, err := s.queryClient()
	if err != nil {
		return nil, err
	}
	return c.QueryCounters(ctx, supervisorToken, q)
}

// ExportRecords streams the hub's export to w as a supervisor (see
// syncclient.Client.ExportRecords): ErrLocked while the record store is
// locked, syncclient.ErrNotEnrolled before enrolment.
func (s *SyncService) ExportRecords(ctx context.Context, supervisorToken string, q url.Values, format string, w io.Writer) (int64, error) {
	c, err := s.queryClient()
	if err != nil {
		return 0, err
	}
	return c.ExportRecords(ctx, supervisorToken, q, format, w)
}

// queryClient is the enrolment's client for a supervisor's query.
func (s *SyncService) queryClient() (*syncclient.Client, error) {
	s.mu.Lock()
	c, locked := s.client, s.rec == nil
	s.mu.Unlock()
	switch {
	case c != nil:
		return c, nil
	case locked:
		return nil, ErrLocked
	}
	return nil, syncclient.ErrNotEnrolled
}

// SyncState is what the record store remembers of the hub (a zero HubURL:
// not enrolled), or ErrLocked while the record store is locked.
func (s *SyncService) SyncState(ctx context.Context) (records.SyncState, error) {
	s.mu.Lock()
	rec := s.rec
	s.mu.Unlock()
	if rec == nil {
		return records.SyncState{}, ErrLocked
	}
	return rec.SyncState(ctx)
}

// Enroll enrols the terminal with the hub (syncclient.Enroll, with the
// service's clock) and, once started, begins syncing with it.
func (s *SyncService) Enroll(ctx context.Context, o syncclient.EnrollOptions) error {
	if o.Clock == nil {
		o.Clock = s.clk
	}
	s.mu.Lock()
	rec := s.rec
	s.mu.Unlock()
	if rec == nil {
		return ErrLocked
	}
	if err := syncclient.Enroll(ctx, rec, o); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.ctx.Err() != nil {
		return nil
	}
	if s.client != nil {
		// A running client switches to the hub just enrolled with.
		return s.client.Reconfigure(ctx)
	}
	return s.startLocked()
}
