package pgstore

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// TestCombinerRounds: the first operation runs alone at once; those that
// come while it runs are taken together by the next round, except one
// that take leaves for a later round; each caller gets its own result.
func TestCombinerRounds(t *testing.T) {
	gate := make(chan struct{})
	var mu sync.Mutex
	var rounds [][]int
	c := combiner[int]{rounds: 1,
		take: func(batch []*op[int], o *op[int]) bool {
			return !slices.ContainsFunc(batch, func(b *op[int]) bool { return b.v == o.v })
		},
		run: func(ctx context.Context, batch []*op[int]) {
			var vs []int
			for _, o := range batch {
				vs = append(vs, o.v)
				o.v *= 10
			}
			mu.Lock()
			rounds = append(rounds, vs)
			first := len(rounds) == 1
			mu.Unlock()
			if first {
				<-gate
			}
		}}
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]int, 5)
	wg.Add(1)
	go func() { defer wg.Done(); got[0], _ = c.do(ctx, 1) }()
	for c.started.Load() == 0 {
		runtime.Gosched()
	}
	for i, v := range []int{2, 3, 3, 4} {
		wg.Add(1)
		go func() { defer wg.Done(); got[1+i], _ = c.do(ctx, v) }()
	}
	for {
		c.mu.Lock()
		n := len(c.pending)
		c.mu.Unlock()
		if n == 4 {
			break
		}
		runtime.Gosched()
	}
	close(gate)
	wg.Wait()
	if !slices.Equal(got, []int{10, 20, 30, 30, 40}) {
		t.Errorf("results %v", got)
	}
	if len(rounds) != 3 || len(rounds[0]) != 1 || len(rounds[1]) != 3 || len(rounds[2]) != 1 || rounds[2][0] != 3 {
		t.Errorf("rounds %v, want [1], [2 3 4] in any order, [3]", rounds)
	}
}

// TestCombinerPanic: a round that panics fails its operations with an
// error, and later rounds still run.
func TestCombinerPanic(t *testing.T) {
	c := combiner[int]{rounds: 1, run: func(ctx context.Context, batch []*op[int]) {
		if batch[0].v == 0 {
			panic("boom")
		}
	}}
	if _, err := c.do(context.Background(), 0); err == nil {
		t.Fatal("no error from a round that panicked")
	}
	if v, err := c.do(context.Background(), 1); err != nil || v != 1 {
		t.Fatalf("next round: %v %v", v, err)
	}
}

// TestCombinerCallersGone: a round's context ends once every caller of
// the round has given up, not before.
func TestCombinerCallersGone(t *testing.T) {
	running := make(chan context.Context)
	c := combiner[int]{rounds: 1, run: func(ctx context.Context, batch []*op[int]) {
		running <- ctx
		<-ctx.Done()
	}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { _, err := c.do(ctx, 1); errc <- err }()
	rctx := <-running
	if rctx.Err() != nil {
		t.Fatal("round canceled before its caller gave up")
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller: %v", err)
	}
	<-rctx.Done() // the round ends: its only caller is gone
}
