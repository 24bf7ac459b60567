package limit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"golang.org/x/time/rate"
)

// Limits are the quotas. A rate of 0 or less disables that quota; a cap of
// 0 or less disables that cap.
type Limits struct {
	// Requests of one device: a sustained rate per second and a burst.
	RequestsPerSecond float64
	RequestBurst      int
	// Trust objects one device may download (GET /v1/trust/objects): a
	// sustained rate per second and a burst. They have their own budget,
	// charged instead of a request: a fresh terminal fetches the whole
	// national set (about 6,000 certificates, CRLs and status lists) in
	// one sync, each a small, cheap read of a content-addressed file.
	ObjectsPerSecond float64
	ObjectBurst      int
	// Records one device may push: per day, and the burst (the backlog a
	// terminal offline for long may deliver at once).
	RecordsPerDay float64
	RecordBurst   int
	// Flags one device's pushes may raise (rejections, gaps, clock
	// doubts): per day and burst. A push is refused while the device's
	// flag budget is spent; the push that spends it is still ingested.
	FlagsPerDay float64
	FlagBurst   int
	// Request bodies read at once: per device, and across the hub.
	BodiesPerDevice int
	Bodies          int
	// Requests handled before authentication at once, across the hub.
	PreAuth int
	// Failed authentications (and enrolments) per source address: per
	// minute and burst; beyond, the address gets 429 until it slows down.
	FailuresPerMinute float64
	FailureBurst      int
}

// Default returns the hub's default limits: generous for a real terminal
// (a month offline delivers well under RecordBurst), tight for a flood.
func Default() Limits {
	return Limits{
		RequestsPerSecond: 50, RequestBurst: 2000,
		ObjectsPerSecond: 500, ObjectBurst: 20_000,
		RecordsPerDay: 120_000, RecordBurst: 120_000,
		FlagsPerDay: 10_000, FlagBurst: 10_000,
		BodiesPerDevice: 2, Bodies: 16, PreAuth: 64,
		FailuresPerMinute: 10, FailureBurst: 30,
	}
}

// Decision is the answer to a charge: OK, or refused with the time after
// which the same charge may pass (Retry-After) and what ran out.
type Decision struct {
	OK         bool
	RetryAfter time.Duration
	What       string // "requests", "objects", "records", "flags", "bodies", "pre-auth", "failures"
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds (at least 1),
// the value of a Retry-After header.
func (d Decision) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(d.RetryAfter.Seconds())))
}

func allow() Decision { return Decision{OK: true} }

// Take is one charge of a shared window: N added to the counter of Key in
// the window starting at Start (truncated to the window by the caller),
// unless the total would pass Max. A Take of 0 is a look: it writes
// nothing, and passes while the total is at most Max.
type Take struct {
	Key    string
	Start  time.Time
	N, Max int
}

// Taken is the outcome of a Take: whether it passed, and the window's
// total (after the charge, or as it stands when refused).
type Taken struct {
	OK    bool
	Total int
}

// Store counts charges in fixed windows shared by several hub processes.
type Store interface {
	// TakeWindows applies takes in order, each atomically, and stops at
	// the first refused: the takes after it are not applied, and their
	// Taken is zero. It returns one Taken per take; a key is named at
	// most once. Windows older than a day may be forgotten.
	TakeWindows(ctx context.Context, takes []Take) ([]Taken, error)
}

// Limiter applies Limits.
type Limiter struct {
	l      Limits
	clk    clock.Clock
	shared Store

	mu      sync.Mutex
	devices map[string]*deviceState
	sources map[string]*rate.Limiter
	bodies  chan struct{}
	preAuth chan struct{}
}

type deviceState struct {
	requests, objects, records, flags *rate.Limiter
	bodies                            int
}

const maxSources = 100_000 // source addresses remembered before a reset

// New returns a Limiter with limits on clk (nil: the real clock). With a
// shared store, the per-device quotas are also counted there (per hour for
// records and flags, per minute for requests), so that every hub process
// on it sees one budget.
func New(l Limits, clk clock.Clock, shared Store) (*Limiter, error) {
	if l.RecordBurst < 0 || l.FlagBurst < 0 || l.RequestBurst < 0 || l.ObjectBurst < 0 || l.FailureBurst < 0 {
		return nil, fmt.Errorf("%w: negative burst", ErrBadInput)
	}
	if clk == nil {
		clk = clock.Real{}
	}
	lim := &Limiter{l: l, clk: clk, shared: shared, devices: map[string]*deviceState{}, sources: map[string]*rate.Limiter{}}
	if l.Bodies > 0 {
		lim.bodies = make(chan struct{}, l.Bodies)
	}
	if l.PreAuth > 0 {
		lim.preAuth = make(chan struct{}, l.PreAuth)
	}
	return lim, nil
}

// Limits returns the limits in force.
func (l *Limiter) Limits() Limits { return l.l }

func bucket(perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
}

func (l *Limiter) device(id string) *deviceState {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.devices[id]
	if d == nil {
		d = &deviceState{requests: bucket(l.l.RequestsPerSecond, l.l.RequestBurst), objects: bucket(l.l.ObjectsPerSecond, l.l.ObjectBurst), records: bucket(l.l.RecordsPerDay/86400, l.l.RecordBurst),
			flags: bucket(l.l.FlagsPerDay/86400, l.l.FlagBurst)}
		l.devices[id] = d
	}
	return d
}

// takeN charges n tokens of b at now, or tells how long until n are there.
// A charge larger than the burst is cut to the burst.
func takeN(b *rate.Limiter, now time.Time, n int, what string) Decision {
	if b == nil || n <= 0 {
		return allow()
	}
	n = min(n, b.Burst())
	r := b.ReserveN(now, n)
	if !r.OK() {
		return Decision{RetryAfter: time.Hour, What: what}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return Decision{RetryAfter: d, What: what}
	}
	return allow()
}

// takeShared charges n to one shared quota.
func (l *Limiter) takeShared(ctx context.Context, key string, window time.Duration, perSecond float64, burst, n int, what string) (Decision, error) {
	if l.shared == nil {
		return allow(), nil
	}
	p := Plan{Local: allow(), now: l.clk.Now()}
	p.charge(key, window, perSecond, burst, n, what)
	return l.Apply(ctx, &p)
}

// Apply applies the shared takes of p (a plan of l) and decides.
func (l *Limiter) Apply(ctx context.Context, p *Plan) (Decision, error) {
	if !p.Local.OK || len(p.Takes) == 0 {
		return p.Local, nil
	}
	taken, err := l.shared.TakeWindows(ctx, p.Takes)
	if err != nil {
		return Decision{}, err
	}
	return p.Decide(taken), nil
}

// Plan is a charge decided in memory (Local) with the charges of the
// shared quotas still to apply (Takes, in one call to the shared store).
type Plan struct {
	// Local is the decision in memory; when refused, Takes are not to be
	// applied.
	Local Decision
	// Takes are the charges of the shared quotas, in order (nil without a
	// shared store): give them to Store.TakeWindows, or with the request's
	// nonce to a store that takes both at once, and their outcome to
	// Decide.
	Takes []Take

	now   time.Time
	ends  []time.Time
	whats []string
}

// charge adds the take of n from the shared quota of perSecond (with
// burst) in fixed windows, counted under key; a rate of 0 or less adds
// nothing (the quota is off).
func (p *Plan) charge(key string, window time.Duration, perSecond float64, burst, n int, what string) {
	if perSecond <= 0 {
		return
	}
	start := p.now.Truncate(window)
	p.Takes = append(p.Takes, Take{Key: key, Start: start, N: n, Max: int(perSecond*window.Seconds()) + burst})
	p.ends, p.whats = append(p.ends, start.Add(window)), append(p.whats, what)
}

// Decide returns the decision of the plan given the outcome of its Takes
// (one Taken each, as Store.TakeWindows returns them): refused at the
// first take refused, until its window ends.
func (p *Plan) Decide(taken []Taken) Decision {
	if !p.Local.OK {
		return p.Local
	}
	for i := range p.Takes {
		if i >= len(taken) || !taken[i].OK {
			return Decision{RetryAfter: p.ends[i].Sub(p.now), What: p.whats[i]}
		}
	}
	return allow()
}

// Request charges one request of device.
func (l *Limiter) Request(ctx context.Context, device string) (Decision, error) {
	d := l.device(device)
	if dec := takeN(d.requests, l.clk.Now(), 1, "requests"); !dec.OK {
		return dec, nil
	}
	return l.takeShared(ctx, "requests/"+device, time.Minute, l.l.RequestsPerSecond, l.l.RequestBurst, 1, "requests")
}

// PushRequest charges one record push of device in memory, before its
// body is read: its charge of the shared request quota comes with its
// records' (PlanPush), once the body tells how many.
func (l *Limiter) PushRequest(device string) Decision {
	return takeN(l.device(device).requests, l.clk.Now(), 1, "requests")
}

// Object charges one trust-object download of device (instead of a
// request: see Limits.ObjectsPerSecond).
func (l *Limiter) Object(ctx context.Context, device string) (Decision, error) {
	d := l.device(device)
	if dec := takeN(d.objects, l.clk.Now(), 1, "objects"); !dec.OK {
		return dec, nil
	}
	return l.takeShared(ctx, "objects/"+device, time.Minute, l.l.ObjectsPerSecond, l.l.ObjectBurst, 1, "objects")
}

// PlanPush plans the charge of a push of n records by device (a batch at
// most the burst: larger batches are charged the burst), before they are
// ingested: in memory, the records, refused while the device's flag budget
// is spent; with a shared store, the takes of the same in the shared
// windows — a look at the flag budget, the request (see PushRequest) and
// the records, in that order. Apply applies them; a hub that also uses
// the request's nonce in the shared store may apply both at once.
func (l *Limiter) PlanPush(device string, n int) Plan {
	d := l.device(device)
	p := Plan{now: l.clk.Now()}
	if d.flags != nil && d.flags.TokensAt(p.now) < 1 {
		need := 1 - d.flags.TokensAt(p.now)
		p.Local = Decision{RetryAfter: time.Duration(need / float64(d.flags.Limit()) * float64(time.Second)), What: "flags"}
		return p
	}
	if p.Local = takeN(d.records, p.now, n, "records"); !p.Local.OK || l.shared == nil {
		return p
	}
	// Taking nothing tells whether the hour's flags are over the quota.
	p.charge("flags/"+device, time.Hour, l.l.FlagsPerDay/86400, l.l.FlagBurst, 0, "flags")
	p.charge("requests/"+device, time.Minute, l.l.RequestsPerSecond, l.l.RequestBurst, 1, "requests")
	p.charge("records/"+device, time.Hour, l.l.RecordsPerDay/86400, l.l.RecordBurst, n, "records")
	return p
}

// Flags charges n flags raised by device's push after the fact: the budget
// may go into debt, and the device's next pushes wait until it recovers.
func (l *Limiter) Flags(ctx context.Context, device string, n int) error {
	d := l.device(device)
	now := l.clk.Now()
	for left := n; d.flags != nil && left > 0; left -= d.flags.Burst() {
		d.flags.ReserveN(now, min(left, d.flags.Burst()))
	}
	if l.shared != nil && n > 0 && l.l.FlagsPerDay > 0 {
		_, err := l.shared.TakeWindows(ctx, []Take{{Key: "flags/" + device, Start: now.Truncate(time.Hour), N: n, Max: math.MaxInt32}})
		return err
	}
	return nil
}

// Body reserves the reading of one request body of device. On OK the
// caller must call release when the body is read (or abandoned).
func (l *Limiter) Body(device string) (release func(), dec Decision) {
	d := l.device(device)
	l.mu.Lock()
	if l.l.BodiesPerDevice > 0 && d.bodies >= l.l.BodiesPerDevice {
		l.mu.Unlock()
		return nil, Decision{RetryAfter: time.Second, What: "bodies"}
	}
	d.bodies++
	l.mu.Unlock()
	undo := func() {
		l.mu.Lock()
		d.bodies--
		l.mu.Unlock()
	}
	if l.bodies != nil {
		select {
		case l.bodies <- struct{}{}:
		default:
			undo()
			return nil, Decision{RetryAfter: time.Second, What: "bodies"}
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if l.bodies != nil {
				<-l.bodies
			}
			undo()
		})
	}, allow()
}

// PreAuth reserves the handling of one request before its authentication
// (at most Limits.PreAuth at once across the hub). On OK the caller must
// call release.
func (l *Limiter) PreAuth() (release func(), dec Decision) {
	if l.preAuth == nil {
		return func() {}, allow()
	}
	select {
	case l.preAuth <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-l.preAuth }) }, allow()
	default:
		return nil, Decision{RetryAfter: time.Second, What: "pre-auth"}
	}
}

// Source tells whether source (an IP address) may still try: it is refused
// while its recent failures exceed the quota.
func (l *Limiter) Source(source string) Decision {
	if l.l.FailuresPerMinute <= 0 || source == "" {
		return allow()
	}
	l.mu.Lock()
	b := l.sources[source]
	l.mu.Unlock()
	now := l.clk.Now()
	if b == nil || b.TokensAt(now) >= 1 {
		return allow()
	}
	need := 1 - b.TokensAt(now)
	return Decision{RetryAfter: time.Duration(need / float64(b.Limit()) * float64(time.Second)), What: "failures"}
}

// Failure charges one failed authentication or enrolment of source.
func (l *Limiter) Failure(source string) {
	if l.l.FailuresPerMinute <= 0 || source == "" {
		return
	}
	l.mu.Lock()
	b := l.sources[source]
	if b == nil {
		if len(l.sources) >= maxSources {
			clear(l.sources)
		}
		b = rate.NewLimiter(rate.Limit(l.l.FailuresPerMinute/60), max(l.l.FailureBurst, 1))
		l.sources[source] = b
	}
	l.mu.Unlock()
	b.ReserveN(l.clk.Now(), 1) // may go into debt
}
