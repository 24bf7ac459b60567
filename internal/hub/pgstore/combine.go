package pgstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// combiner runs the operations that callers submit concurrently in rounds:
// one statement (or one transaction) for many callers instead of one
// each, so that the database parses, plans, locks and commits once per
// round. A caller that finds fewer than `rounds` rounds in flight starts
// one at once with what is pending (alone, at low load: no added wait);
// the callers that come while rounds are in flight are taken together by
// the next round, started when one ends.
//
// A round runs on a goroutine of the combiner's (which goes on with the
// next round while there is one to start) with the context of the first
// operation it takes, canceled only once every caller of the round has
// given up: the operation of a caller that gave up may still be carried
// out (every operation the stores combine is one the caller could have
// had done just before giving up), and a round nobody waits for any more
// stops as a single caller's query did.
type combiner[T any] struct {
	rounds int // rounds in flight at most
	// more reports whether what is pending is worth a round beside those
	// in flight (nil: always, up to rounds); the first round starts
	// regardless.
	more func(pending []*op[T]) bool
	// take reports whether op may join the round holding batch (called
	// with batch non-empty, under the combiner's lock): false leaves it
	// for a later round.
	take func(batch []*op[T], o *op[T]) bool
	// run carries out a round: it sets every operation's err (and its
	// result in its value).
	run func(ctx context.Context, batch []*op[T])

	mu      sync.Mutex
	pending []*op[T]
	running int
	started atomic.Int64 // rounds started (tests)
}

// op is one caller's operation in a combiner.
type op[T any] struct {
	ctx  context.Context
	v    T
	err  error
	done chan struct{}
}

// do submits v and waits until its round has run it, or ctx ends (the
// round may still run it later).
func (c *combiner[T]) do(ctx context.Context, v T) (T, error) {
	if err := ctx.Err(); err != nil {
		return v, err
	}
	o := &op[T]{ctx: ctx, v: v, done: make(chan struct{})}
	c.mu.Lock()
	c.pending = append(c.pending, o)
	c.startLocked()
	c.mu.Unlock()
	select {
	case <-o.done:
		return o.v, o.err
	case <-ctx.Done():
		return v, ctx.Err()
	}
}

// startLocked starts a round with what is pending, if one may start, on a
// goroutine of its own.
func (c *combiner[T]) startLocked() {
	if batch := c.takeLocked(); batch != nil {
		go c.loop(batch)
	}
}

// takeLocked returns the batch of a round that may start now (counted as
// running), or nil.
func (c *combiner[T]) takeLocked() []*op[T] {
	if len(c.pending) == 0 || c.running >= c.rounds || (c.running > 0 && c.more != nil && !c.more(c.pending)) {
		return nil
	}
	batch := []*op[T]{c.pending[0]}
	rest := c.pending[:0]
	for _, o := range c.pending[1:] {
		if c.take == nil || c.take(batch, o) {
			batch = append(batch, o)
		} else {
			rest = append(rest, o)
		}
	}
	clear(c.pending[len(rest):])
	c.pending = rest
	c.running++
	c.started.Add(1)
	return batch
}

// loop runs batch, then the rounds that may start as each ends, on the
// same goroutine (whose stack has grown to what a round needs), until
// none may.
func (c *combiner[T]) loop(batch []*op[T]) {
	for batch != nil {
		c.round(batch)
		c.mu.Lock()
		c.running--
		batch = c.takeLocked()
		c.mu.Unlock()
	}
}

// round runs one round and ends its operations.
func (c *combiner[T]) round(batch []*op[T]) {
	defer func() {
		p := recover()
		for _, o := range batch {
			if p != nil && o.err == nil {
				o.err = fmt.Errorf("pgstore: combined operation panicked: %v", p)
			}
			close(o.done)
		}
	}()
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	defer cancel()
	left := atomic.Int64{}
	left.Store(int64(len(batch)))
	for _, o := range batch {
		stop := context.AfterFunc(o.ctx, func() {
			if left.Add(-1) == 0 {
				cancel() // every caller gave up: so does the round
			}
		})
		defer stop()
	}
	c.run(ctx, batch)
}
