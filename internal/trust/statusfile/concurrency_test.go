package statusfile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReadersDuringUpdateAndCompact: goroutines of this store and of a
// second store on the same directory (another process) look up while
// Updates and Compacts run; every View must be exactly one generation.
// Run with -race.
func TestReadersDuringUpdateAndCompact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	other := openStore(t, dir)
	const ops = 12
	models := []*model{newModel()}
	for n := 1; n <= ops; n++ {
		m := models[n-1].clone()
		workOp(n, 10, nil, m)
		models = append(models, m)
	}
	var done atomic.Bool
	var views, stale atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				v, err := st.View(ctx)
				if err != nil {
					errs <- err
					return
				}
				n := metaCount(v.Meta())
				err = compareViewN(v, models[n], []int64{0, 500, 1000}, 40)
				v.Release()
				if errors.Is(err, ErrStale) && !errors.Is(err, ErrDamaged) {
					// The documented outcome for a View of another Store
					// held across two commits: take a new one.
					stale.Add(1)
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				views.Add(1)
			}
		}()
	}
	// A check (the terminal's daily one) running meanwhile never takes a
	// file removed by a commit for a damaged one.
	var checks atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			bad, err := other.Check(ctx)
			if len(bad) > 0 || err != nil && !errors.Is(err, ErrStale) || errors.Is(err, ErrDamaged) {
				errs <- fmt.Errorf("Check during commits: %v %v", bad, err)
				return
			}
			checks.Add(1)
		}
	}()
	for n := 1; n <= ops; n++ {
		if err := s.Update(ctx, func(tx *Tx) error { return workOp(n, 10, tx, newModel()) }); err != nil {
			t.Fatal(err)
		}
		if n%3 == 0 {
			if err := s.Compact(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	compareStore(t, other, models[ops], []int64{0, 500, 1000})
	t.Logf("%d views checked, %d stale; %d checks", views.Load(), stale.Load(), checks.Load())
}

// TestWritersSerialised: Updates from two stores (two processes) and
// several goroutines all commit, none lost.
func TestWritersSerialised(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := []*Store{openStore(t, dir), openStore(t, dir)}
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				err := stores[i%2].Update(ctx, func(tx *Tx) error {
					return tx.Append(testKey(0), []Entry{{IDHash: hashN(i*100 + j), Status: 1, Since: 1}})
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	v, err := stores[1].View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if v.Count(testKey(0)) != 30 || v.Generation() != 30 {
		t.Fatalf("count %d generation %d, want 30 and 30", v.Count(testKey(0)), v.Generation())
	}
}

// TestRetiredFilesGo: a commit removes the files it retires at once unless
// a View of the process holds them; those go when the Store closes, so no
// second copy of the lists stays on disk until the next sync.
func TestRetiredFilesGo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(n int) {
		t.Helper()
		err := s.Update(ctx, func(tx *Tx) error {
			return tx.Replace(testKey(0), func(yield func(Entry, error) bool) {
				for i := range 1000 {
					if !yield(Entry{IDHash: hashN(n*1000 + i), Status: 1, Since: 1}, nil) {
						return
					}
				}
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	files := func() int {
		n := 0
		for _, name := range listDir(t, dir) {
			if _, ok := parseFileName(name); ok {
				n++
			}
		}
		return n
	}
	replace(1)
	replace(2) // nothing holds generation 1: its base file goes now
	if n := files(); n != 1 {
		t.Fatalf("%d data files after the second commit, want 1", n)
	}
	v, err := s.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replace(3) // v holds generation 2's file
	if n := files(); n != 2 {
		t.Fatalf("%d data files while a View holds the retired one, want 2", n)
	}
	if _, _, err := v.Lookup(testKey(0), hashN(2000), 5); err != nil {
		t.Fatalf("lookup in the held generation: %v", err)
	}
	v.Release()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := files(); n != 1 {
		t.Fatalf("%d data files after Close, want 1", n)
	}
	checkClean(t, dir)
}
