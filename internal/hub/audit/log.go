package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
)

// Options configure a Log.
type Options struct {
	Store Store
	// Key signs checkpoints. Nil: the Log writes no checkpoints (a local
	// command without the hub's keys; the hub signs the chain at its next
	// checkpoint, which covers every entry before it).
	Key *gm.PrivateKey
	// PreviousKeys are earlier versions of Key (a rotated keyring). With
	// Key set, Open refuses (ErrForeignKey) a log whose newest checkpoint
	// is not signed by Key or one of them: hubs sharing a store must use
	// one keyring at its newest version, or their checkpoints (and the
	// data their other keys seal) would not belong to one hub.
	PreviousKeys []*gm.PublicKey
	Clock        clock.Clock // nil: the real clock
	// CheckpointEvery and CheckpointInterval: a commit is followed by a
	// checkpoint when this many entries (default 1000) or this much time
	// (default 1 minute) passed since the last one.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// QueueSize bounds the entries waiting for the writer (default 4096).
	QueueSize int
	// BurstThreshold is the number of denied requests within one minute
	// that makes a failure burst (default 100): it is logged as an entry
	// of its own (action ActionFailureBurst) and counted in Stats.Bursts.
	BurstThreshold int
	// Log hears of write failures of entries nobody waits for (Note).
	Log *slog.Logger
	// CommitDelay is how long the writer gathers entries nobody waits for
	// (Note) before it commits them (default 20 ms; negative: none). An
	// entry someone waits for (Record, Flush) is committed at once, with
	// those gathered so far.
	CommitDelay time.Duration
}

// Actions the log writes itself.
const (
	ActionFailureBurst = "audit.failure_burst"
	ActionRotate       = "audit.rotate"
)

// Stats are the log's counters since it was opened, for metrics.
type Stats struct {
	Entries     uint64 // entries committed
	Denied      uint64 // entries with OutcomeDenied (authentication failures, refusals of access)
	Refused     uint64 // entries with OutcomeRefused (limits, bad requests)
	Bursts      uint64 // failure bursts detected (see Options.BurstThreshold)
	Checkpoints uint64 // checkpoints signed
	WriteErrors uint64 // commits that failed
}

// Log is an open audit log: it numbers, chains, commits and checkpoints
// entries through one writer goroutine.
type Log struct {
	o     Options
	q     chan item
	stop  chan struct{}
	done  chan struct{}
	keyID string

	mu        sync.Mutex // closed, and burst window
	closeOnce sync.Once
	closed    bool
	winMin    int64
	winN      int

	entries, denied, refused, bursts, checkpoints, writeErrors atomic.Uint64
}

type item struct {
	e    Entry
	done chan error // nil: nobody waits
	// flush: no entry, wakes done once everything queued before is committed.
	flush bool
}

// Open loads the stored head and starts the writer. Close stops it.
func Open(ctx context.Context, o Options) (*Log, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("%w: no store", ErrBadInput)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Minute
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.BurstThreshold <= 0 {
		o.BurstThreshold = 100
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.CommitDelay == 0 {
		o.CommitDelay = 20 * time.Millisecond
	}
	head, err := o.Store.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	last, err := lastCheckpoint(ctx, o.Store)
	if err != nil {
		return nil, err
	}
	l := &Log{o: o, q: make(chan item, o.QueueSize), stop: make(chan struct{}), done: make(chan struct{})}
	if o.Key != nil {
		l.keyID = KeyID(o.Key.Public())
		if err := checkKeyOf(&last, o.Key.Public(), o.PreviousKeys); err != nil {
			return nil, err
		}
	}
	if last.At.IsZero() {
		last.At = o.Clock.Now() // the first checkpoint is due CheckpointInterval after opening
	}
	w := &writer{l: l, head: head, lastCP: last}
	go w.run()
	return l, nil
}

// checkKeyOf checks that the newest checkpoint cp (none: zero) is signed
// by key or one of its previous versions.
func checkKeyOf(cp *Checkpoint, key *gm.PublicKey, previous []*gm.PublicKey) error {
	if len(cp.Sig) == 0 {
		return nil
	}
	for _, k := range append([]*gm.PublicKey{key}, previous...) {
		if KeyID(k) == cp.KeyID && cp.Verify(k) {
			return nil
		}
	}
	return fmt.Errorf("%w: the checkpoint of entry %d is signed by key %s, this hub's is %s: every hub on one store must open the same keyring, at its newest version (rchub keys public shows a keyring's keys)",
		ErrForeignKey, cp.Seq, cp.KeyID, KeyID(key))
}

// lastCheckpoint is the seq and time of the newest checkpoint (or anchor).
func lastCheckpoint(ctx context.Context, st Store) (Checkpoint, error) {
	a, _, err := st.AuditAnchor(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	after := a.Seq
	last := a
	for {
		cps, err := st.AuditCheckpoints(ctx, after, 1000)
		if err != nil {
			return Checkpoint{}, err
		}
		if len(cps) == 0 {
			return last, nil
		}
		last = cps[len(cps)-1]
		after = last.Seq
	}
}

// Store returns the log's store.
func (l *Log) Store() Store { return l.o.Store }

// KeyID is the id of the checkpoint key ("" without one).
func (l *Log) KeyID() string { return l.keyID }

func (l *Log) prepare(e *Entry) {
	if e.At.IsZero() {
		e.At = l.o.Clock.Now()
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeOK
	}
	e.Fields = append([]string(nil), e.Fields...)
	e.normalise()
}

// Record appends e and returns once it is committed (durable). At defaults
// to now, Outcome to OutcomeOK. Use it for what must be on record before
// the hub answers: reveals, exports, administrative actions, sign-ins.
func (l *Log) Record(ctx context.Context, e Entry) error {
	l.prepare(&e)
	done := make(chan error, 1)
	if err := l.enqueue(ctx, item{e: e, done: done}); err != nil {
		return err
	}
	return l.wait(ctx, done)
}

// wait waits for the writer's answer on done.
func (l *Log) wait(ctx context.Context, done chan error) error {
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err() // the entry is still written
	case <-l.done:
		select {
		case err := <-done:
			return err
		default:
			return ErrClosed // queued after the writer's last drain
		}
	}
}

// Note appends e without waiting for the commit (it waits only while the
// queue is full). A failed commit is counted in Stats.WriteErrors and
// logged. Use it for routine requests.
func (l *Log) Note(ctx context.Context, e Entry) {
	l.prepare(&e)
	if err := l.enqueue(ctx, item{e: e}); err != nil {
		l.o.Log.Warn("audit entry not queued", "action", e.Action, "who", e.Who, "err", err)
	}
}

func (l *Log) enqueue(ctx context.Context, it item) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	burst := false
	if !it.flush && it.e.Outcome == OutcomeDenied {
		min := it.e.At.Unix() / 60
		if min != l.winMin {
			l.winMin, l.winN = min, 0
		}
		l.winN++
		burst = l.winN == l.o.BurstThreshold
	}
	l.mu.Unlock()
	select {
	case l.q <- it:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stop:
		return ErrClosed
	}
	if burst {
		l.bursts.Add(1)
		b := Entry{At: it.e.At, Who: "hub", Role: RoleHub, Action: ActionFailureBurst, Outcome: OutcomeOK,
			Rows: l.o.BurstThreshold, Detail: fmt.Sprintf("%d denied requests within the minute from %s (the latest: %s by %s from %s)",
				l.o.BurstThreshold, time.Unix(l.winMinute()*60, 0).UTC().Format(time.RFC3339), it.e.Action, it.e.Who, it.e.Source)}
		b.normalise()
		select {
		case l.q <- item{e: b}:
		case <-ctx.Done():
		case <-l.stop:
		}
	}
	return nil
}

func (l *Log) winMinute() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.winMin
}

// Flush returns once every entry queued before it is committed.
func (l *Log) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	if err := l.enqueue(ctx, item{flush: true, done: done}); err != nil {
		return err
	}
	return l.wait(ctx, done)
}

// Close commits what is queued, signs a last checkpoint when entries
// followed the previous one, and stops the writer. Entries noted after
// Close are refused (ErrClosed).
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil
	}
	err := l.Flush(ctx)
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.stop)
	})
	select {
	case <-l.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// Stats returns the counters.
func (l *Log) Stats() Stats {
	return Stats{Entries: l.entries.Load(), Denied: l.denied.Load(), Refused: l.refused.Load(), Bursts: l.bursts.Load(),
		Checkpoints: l.checkpoints.Load(), WriteErrors: l.writeErrors.Load()}
}

// writer is the state of the writer goroutine.
type writer struct {
	l      *Log
	head   Head
	lastCP Checkpoint
}

const maxCommit = 512

func (w *writer) run() {
	defer close(w.l.done)
	for {
		select {
		case it := <-w.l.q:
			batch := []item{it}
			waiting := it.done != nil
			var (
				timer <-chan time.Time
				t     *time.Timer
			)
			if !waiting && w.l.o.CommitDelay > 0 {
				// Nobody waits: gather what comes in the next moment
				// into the same commit (one fsync for many requests).
				t = time.NewTimer(w.l.o.CommitDelay)
				timer = t.C
			}
		drain:
			for len(batch) < maxCommit {
				if waiting || timer == nil {
					select {
					case it := <-w.l.q:
						batch = append(batch, it)
						continue
					default:
						break drain
					}
				}
				select {
				case it := <-w.l.q:
					batch = append(batch, it)
					waiting = waiting || it.done != nil
				case <-timer:
					break drain
				case <-w.l.stop:
					break drain
				}
			}
			if t != nil {
				t.Stop()
			}
			w.commit(batch, false)
		case <-w.l.stop:
			var batch []item
			for {
				select {
				case it := <-w.l.q:
					batch = append(batch, it)
					continue
				default:
				}
				break
			}
			w.commit(batch, true)
			return
		}
	}
}

// commit writes the entries of batch (and a checkpoint when one is due, or
// when final) and answers the waiters.
func (w *writer) commit(batch []item, final bool) {
	ctx := context.Background()
	var err error
	if final {
		// Sign what is stored, written by this writer or another.
		if h, herr := w.l.o.Store.AuditHead(ctx); herr == nil {
			w.head = h
		}
	}
	if ca, ok := w.l.o.Store.(ChainAppender); ok {
		var (
			entries []Entry
			cps     []Checkpoint
			head    Head
		)
		err = ca.AppendChained(ctx, func(h Head) ([]Entry, []Checkpoint, error) {
			var err error
			entries, cps, head, err = w.build(batch, h, final)
			return entries, cps, err
		})
		if err == nil {
			w.done(entries, cps, head)
		}
		w.answer(batch, err)
		return
	}
	for attempt := 0; attempt < 10; attempt++ {
		var (
			entries []Entry
			cps     []Checkpoint
			head    Head
		)
		if entries, cps, head, err = w.build(batch, w.head, final); err != nil {
			break
		}
		if len(entries) == 0 && len(cps) == 0 {
			break
		}
		err = w.l.o.Store.AppendAudit(ctx, entries, cps)
		if errors.Is(err, ErrConflict) {
			// Another writer (a local command, another hub instance)
			// appended: continue from the stored head.
			if h, herr := w.l.o.Store.AuditHead(ctx); herr == nil {
				w.head = h
				continue
			}
		}
		if err == nil {
			w.done(entries, cps, head)
		}
		break
	}
	w.answer(batch, err)
}

// build numbers and chains the entries of batch after head and adds the
// checkpoint that is due.
func (w *writer) build(batch []item, head Head, final bool) ([]Entry, []Checkpoint, Head, error) {
	var entries []Entry
	for i := range batch {
		if batch[i].flush {
			continue
		}
		e := batch[i].e
		e.Seq, e.Prev = head.Seq+1, head.Hash
		e.Hash = e.ComputeHash()
		head = Head{Seq: e.Seq, Hash: e.Hash, At: e.At}
		entries = append(entries, e)
	}
	var cps []Checkpoint
	now := w.l.o.Clock.Now()
	if w.l.o.Key != nil && head.Seq > w.lastCP.Seq &&
		(final || head.Seq-w.lastCP.Seq >= uint64(w.l.o.CheckpointEvery) || now.Sub(w.lastCP.At) >= w.l.o.CheckpointInterval) {
		cp := Checkpoint{Seq: head.Seq, Hash: head.Hash, At: time.UnixMilli(now.UnixMilli()), KeyID: w.l.keyID}
		var err error
		if cp.Sig, err = w.l.o.Key.Sign(nil, cp.SigningString()); err != nil {
			return nil, nil, Head{}, err
		}
		cps = append(cps, cp)
	}
	return entries, cps, head, nil
}

// done notes a commit.
func (w *writer) done(entries []Entry, cps []Checkpoint, head Head) {
	w.head = head
	if len(cps) > 0 {
		w.lastCP = cps[0]
		w.l.checkpoints.Add(1)
	}
	for _, e := range entries {
		w.l.entries.Add(1)
		switch e.Outcome {
		case OutcomeDenied:
			w.l.denied.Add(1)
		case OutcomeRefused:
			w.l.refused.Add(1)
		}
	}
}

// answer tells the waiters of batch how its commit went.
func (w *writer) answer(batch []item, err error) {
	if err != nil {
		w.l.writeErrors.Add(1)
		w.l.o.Log.Error("audit entries not written", "entries", len(batch), "err", err)
		// The stored head is the truth again.
		if h, herr := w.l.o.Store.AuditHead(context.Background()); herr == nil {
			w.head = h
		}
	}
	for _, it := range batch {
		if it.done != nil {
			it.done <- err
		}
	}
}

// RotateReport says what Rotate removed.
type RotateReport struct {
	Removed int        // entries removed
	Anchor  Checkpoint // the checkpoint the log now starts from
}

// Rotate removes the entries older than before, up to the newest signed
// checkpoint taken before that time (never more, never the newer entries),
// which becomes the log's anchor; it records the rotation as an entry by
// who. ErrNoCheckpoint when no checkpoint is old enough.
func (l *Log) Rotate(ctx context.Context, before time.Time, who string) (RotateReport, error) {
	if err := l.Flush(ctx); err != nil {
		return RotateReport{}, err
	}
	st := l.o.Store
	a, _, err := st.AuditAnchor(ctx)
	if err != nil {
		return RotateReport{}, err
	}
	var pick *Checkpoint
	after := a.Seq
	for {
		cps, err := st.AuditCheckpoints(ctx, after, 1000)
		if err != nil {
			return RotateReport{}, err
		}
		stop := false
		for i := range cps {
			if !cps[i].At.Before(before) {
				stop = true
				break
			}
			pick = &cps[i]
		}
		if stop || len(cps) < 1000 {
			break
		}
		after = cps[len(cps)-1].Seq
	}
	if pick == nil {
		return RotateReport{}, fmt.Errorf("%w (before %s)", ErrNoCheckpoint, before.UTC().Format(time.RFC3339))
	}
	n, err := st.RotateAudit(ctx, *pick)
	if err != nil {
		return RotateReport{}, err
	}
	rep := RotateReport{Removed: n, Anchor: *pick}
	err = l.Record(ctx, Entry{Who: who, Role: RoleOperator, Action: ActionRotate, Rows: n,
		Detail: fmt.Sprintf("retention: removed %d entries up to entry %d (older than %s); the log now starts from the checkpoint of entry %d, hash %x, signed by key %s",
			n, pick.Seq, before.UTC().Format(time.RFC3339), pick.Seq, pick.Hash, pick.KeyID)})
	return rep, err
}
