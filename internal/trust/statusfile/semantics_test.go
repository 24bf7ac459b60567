package statusfile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

type op struct {
	kind    string // "full", "delta", "drop", "meta"
	key     int
	entries []Entry
	meta    string
}

type probe struct {
	key   int
	hash  int
	at    int64
	want  uint8 // 0 = not found
	since int64
}

var (
	h1 = hashN(1)
	h2 = hashN(2)
)

func e(h [16]byte, st uint8, since int64) Entry { return Entry{IDHash: h, Status: st, Since: since} }

func hashOf(i int) [16]byte { return hashN(i) }

// TestClarification19 runs each case with one Update per operation, with
// all operations in one Update, and again after Compact.
func TestClarification19(t *testing.T) {
	cases := []struct {
		name   string
		ops    []op
		probes []probe
		counts map[int]int
	}{
		{
			name: "entry takes effect at since",
			ops:  []op{{kind: "full", entries: []Entry{e(h1, 1, 100)}}},
			probes: []probe{
				{hash: 1, at: 99}, {hash: 1, at: 100, want: 1, since: 100}, {hash: 2, at: 1000},
			},
			counts: map[int]int{0: 1},
		},
		{
			name: "status 0 with a future since does not yet lift",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 1, 100)}},
				{kind: "delta", entries: []Entry{e(h1, 0, 200)}},
			},
			probes: []probe{
				{hash: 1, at: 150, want: 1, since: 100}, {hash: 1, at: 199, want: 1, since: 100},
				{hash: 1, at: 200}, {hash: 1, at: 5000}, {hash: 1, at: 50},
			},
			counts: map[int]int{0: 0}, // the latest applied entry is status 0
		},
		{
			name: "status 0 with an earlier since lifts from its since",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 1, 100)}},
				{kind: "delta", entries: []Entry{e(h1, 0, 50)}},
			},
			probes: []probe{{hash: 1, at: 40}, {hash: 1, at: 60}, {hash: 1, at: 150}},
			counts: map[int]int{0: 0},
		},
		{
			name: "suspended then revoked",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 2, 100), e(h2, 1, 10)}},
				{kind: "delta", entries: []Entry{e(h1, 1, 150)}},
			},
			probes: []probe{
				{hash: 1, at: 99}, {hash: 1, at: 120, want: 2, since: 100}, {hash: 1, at: 150, want: 1, since: 150},
				{hash: 2, at: 10, want: 1, since: 10},
			},
			counts: map[int]int{0: 2},
		},
		{
			name: "a later delta with an earlier since wins from its since on",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 1, 200)}},
				{kind: "delta", entries: []Entry{e(h1, 2, 100)}},
			},
			probes: []probe{
				{hash: 1, at: 99}, {hash: 1, at: 150, want: 2, since: 100}, {hash: 1, at: 250, want: 2, since: 100},
			},
			counts: map[int]int{0: 1},
		},
		{
			name: "a full list replaces everything before it",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 1, 100), e(h2, 1, 100)}},
				{kind: "delta", entries: []Entry{e(h1, 2, 50)}},
				{kind: "full", entries: []Entry{e(h2, 2, 10)}},
			},
			probes: []probe{{hash: 1, at: 1000}, {hash: 2, at: 50, want: 2, since: 10}, {hash: 2, at: 5}},
			counts: map[int]int{0: 1},
		},
		{
			name: "several deltas in order",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 1, 100)}},
				{kind: "delta", entries: []Entry{e(h1, 0, 300)}},
				{kind: "delta", entries: []Entry{e(h1, 2, 400)}},
				{kind: "delta", entries: []Entry{e(h1, 0, 500), e(h1, 1, 600)}},
			},
			probes: []probe{
				{hash: 1, at: 99}, {hash: 1, at: 100, want: 1, since: 100}, {hash: 1, at: 300},
				{hash: 1, at: 400, want: 2, since: 400}, {hash: 1, at: 500}, {hash: 1, at: 600, want: 1, since: 600},
			},
			counts: map[int]int{0: 1},
		},
		{
			name: "delta re-suspends after a lift",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 2, 100)}},
				{kind: "delta", entries: []Entry{e(h1, 0, 150)}},
				{kind: "delta", entries: []Entry{e(h1, 2, 180)}},
			},
			probes: []probe{{hash: 1, at: 120, want: 2, since: 100}, {hash: 1, at: 160}, {hash: 1, at: 180, want: 2, since: 180}},
			counts: map[int]int{0: 1},
		},
		{
			name: "status 0 in a full list is no status",
			ops:  []op{{kind: "full", entries: []Entry{e(h1, 0, 100), e(h2, 1, 100)}}},
			probes: []probe{
				{hash: 1, at: 200}, {hash: 2, at: 200, want: 1, since: 100},
			},
			counts: map[int]int{0: 1},
		},
		{
			name: "a delta for a list that has none yet",
			ops:  []op{{kind: "delta", key: 1, entries: []Entry{e(h1, 0, 10), e(h2, 1, 20)}}},
			probes: []probe{
				{key: 1, hash: 1, at: 100}, {key: 1, hash: 2, at: 100, want: 1, since: 20}, {key: 0, hash: 2, at: 100},
			},
			counts: map[int]int{1: 1},
		},
		{
			name: "lists are separate",
			ops: []op{
				{kind: "full", key: 0, entries: []Entry{e(h1, 1, 100)}},
				{kind: "full", key: 1, entries: []Entry{e(h2, 2, 100)}},
				{kind: "delta", key: 1, entries: []Entry{e(h1, 2, 100)}},
			},
			probes: []probe{
				{key: 0, hash: 1, at: 100, want: 1, since: 100}, {key: 0, hash: 2, at: 100},
				{key: 1, hash: 1, at: 100, want: 2, since: 100}, {key: 1, hash: 2, at: 100, want: 2, since: 100},
			},
			counts: map[int]int{0: 1, 1: 2},
		},
		{
			name: "drop",
			ops: []op{
				{kind: "full", key: 0, entries: []Entry{e(h1, 1, 100)}},
				{kind: "full", key: 1, entries: []Entry{e(h1, 1, 100)}},
				{kind: "delta", key: 0, entries: []Entry{e(h1, 1, 100)}},
				{kind: "drop", key: 0},
			},
			probes: []probe{{key: 0, hash: 1, at: 100}, {key: 1, hash: 1, at: 100, want: 1, since: 100}},
			counts: map[int]int{1: 1},
		},
		{
			name: "an empty full list keeps the list",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 1, 100)}},
				{kind: "full", entries: nil},
			},
			probes: []probe{{hash: 1, at: 100}},
			counts: map[int]int{0: 0},
		},
		{
			name: "extreme sinces",
			ops: []op{
				{kind: "full", entries: []Entry{e(h1, 1, math.MinInt64), e(h2, 2, math.MaxInt64)}},
			},
			probes: []probe{
				{hash: 1, at: math.MinInt64, want: 1, since: math.MinInt64}, {hash: 2, at: math.MaxInt64 - 1},
				{hash: 2, at: math.MaxInt64, want: 2, since: math.MaxInt64},
			},
			counts: map[int]int{0: 2},
		},
	}
	for _, tc := range cases {
		for _, mode := range []string{"separate", "together", "compacted"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				ctx := context.Background()
				s := openStore(t, t.TempDir())
				apply := func(tx *Tx, o op) error {
					k := testKey(o.key)
					switch o.kind {
					case "full":
						return tx.Replace(k, seqOf(o.entries))
					case "delta":
						return tx.Append(k, o.entries)
					case "drop":
						tx.Drop(k)
					}
					return nil
				}
				if mode == "together" {
					if err := s.Update(ctx, func(tx *Tx) error {
						for _, o := range tc.ops {
							if err := apply(tx, o); err != nil {
								return err
							}
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				} else {
					for _, o := range tc.ops {
						if err := s.Update(ctx, func(tx *Tx) error { return apply(tx, o) }); err != nil {
							t.Fatal(err)
						}
					}
				}
				if mode == "compacted" {
					if err := s.Compact(ctx); err != nil {
						t.Fatal(err)
					}
					if st := s.Stats(); st.Overlays != 0 {
						t.Fatalf("overlays after Compact: %+v", st)
					}
				}
				v, err := s.View(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer v.Release()
				for _, p := range tc.probes {
					got, ok, err := v.Lookup(testKey(p.key), hashOf(p.hash), p.at)
					if err != nil {
						t.Fatal(err)
					}
					want := Entry{IDHash: hashOf(p.hash), Status: p.want, Since: p.since}
					if ok != (p.want != 0) || (ok && got != want) {
						t.Errorf("key %d hash %d at %d: got %+v %v, want status %d since %d", p.key, p.hash, p.at, got, ok, p.want, p.since)
					}
				}
				for k, want := range tc.counts {
					if got := v.Count(testKey(k)); got != want {
						t.Errorf("Count(key %d) = %d, want %d", k, got, want)
					}
				}
			})
		}
	}
}

// TestRandomAgainstModel applies random fulls, deltas, drops and meta
// changes, compacting now and then, and compares every lookup with the
// model after each step, from this store and from a second one opened on
// the same directory (another process's view).
func TestRandomAgainstModel(t *testing.T) { randomAgainstModel(t, 5, 3, 60) }

// TestRandomAgainstModelManyKeys: the same with commits touching up to 16
// of 24 lists, whose deltas are planned by several workers.
func TestRandomAgainstModelManyKeys(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	randomAgainstModel(t, 24, 16, 20)
}

func randomAgainstModel(t *testing.T, keys, perUpdate, steps int) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	other := openStore(t, dir)
	m := newModel()
	r := rand.New(rand.NewPCG(1, 2))
	randEntries := func(n, hashes int) []Entry {
		es := make([]Entry, n)
		for i := range es {
			es[i] = Entry{IDHash: hashN(r.IntN(hashes)), Status: uint8(r.IntN(3)), Since: 1000 + int64(r.IntN(100))}
			if r.IntN(20) == 0 {
				es[i].Since = r.Int64() - math.MaxInt64/2
			}
		}
		return es
	}
	times := []int64{0, 1000, 1050, 1099, 1100, math.MaxInt64}
	for step := 0; step < steps; step++ {
		next := m.clone()
		err := s.Update(ctx, func(tx *Tx) error {
			for j := 0; j < 1+r.IntN(perUpdate); j++ {
				k := testKey(r.IntN(keys))
				switch x := r.IntN(10); {
				case x < 3:
					es := randEntries(r.IntN(400), 300)
					if err := tx.Replace(k, seqOf(es)); err != nil {
						return err
					}
					next.replace(k, es)
				case x < 8:
					es := randEntries(r.IntN(60), 300)
					if err := tx.Append(k, es); err != nil {
						return err
					}
					next.append(k, es)
				case x < 9:
					tx.Drop(k)
					next.drop(k)
				default:
					meta := []byte(fmt.Sprintf("meta %d", step))
					if r.IntN(4) == 0 {
						meta = nil
					}
					tx.SetMeta(meta)
					next.meta = meta
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		m = next
		if r.IntN(6) == 0 {
			if err := s.Compact(ctx); err != nil {
				t.Fatalf("step %d: Compact: %v", step, err)
			}
		}
		compareStore(t, s, m, times)
		compareStore(t, other, m, times)
	}
	damaged, err := s.Check(ctx)
	if err != nil || len(damaged) != 0 {
		t.Fatalf("Check: %v %v", damaged, err)
	}
}

// TestUpdateErrorLeavesNothing: an error from fn, from an entry sequence
// or a bad entry leaves the previous generation and no new files.
func TestUpdateErrorLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	m := newModel()
	base := []Entry{e(h1, 1, 100), e(h2, 2, 100)}
	if err := s.Update(ctx, func(tx *Tx) error {
		m.replace(testKey(0), base)
		m.meta = []byte("m1")
		tx.SetMeta(m.meta)
		return tx.Replace(testKey(0), seqOf(base))
	}); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, dir)
	failing := func(yield func(Entry, error) bool) {
		if yield(e(h1, 1, 1), nil) {
			yield(Entry{}, errBoom)
		}
	}
	tests := []struct {
		name    string
		fn      func(tx *Tx) error
		wantErr error
	}{
		{"fn error after writes", func(tx *Tx) error {
			tx.Replace(testKey(0), seqOf([]Entry{e(h1, 2, 5)}))
			tx.Append(testKey(1), []Entry{e(h1, 2, 5)})
			tx.SetMeta([]byte("m2"))
			return errBoom
		}, errBoom},
		{"sequence error", func(tx *Tx) error { return tx.Replace(testKey(0), failing) }, errBoom},
		{"bad status in full", func(tx *Tx) error { return tx.Replace(testKey(0), seqOf([]Entry{e(h1, 3, 5)})) }, ErrBadEntry},
		{"bad status in delta", func(tx *Tx) error { return tx.Append(testKey(0), []Entry{e(h1, 9, 5)}) }, ErrBadEntry},
		{"long issuer", func(tx *Tx) error {
			return tx.Append(Key{Issuer: string(make([]byte, MaxIssuerLen+1))}, nil)
		}, ErrBadKey},
		{"cancelled context", func(tx *Tx) error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			_ = c
			return context.Canceled
		}, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Update(ctx, tc.fn)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			compareStore(t, s, m, []int64{0, 100})
			if after := listDir(t, dir); !equalStrings(after, before) {
				t.Fatalf("files %v, before %v", after, before)
			}
		})
	}
	var kept *Tx
	s.Update(ctx, func(tx *Tx) error { kept = tx; return nil })
	if err := kept.Append(testKey(0), nil); !errors.Is(err, ErrTxDone) {
		t.Fatalf("Append after Update: %v", err)
	}
}

// TestBuilderSort: the partition sort equals a stable sort by hash.
func TestBuilderSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var b builder
	for _, n := range []int{0, 1, 255, 256, 1000, 8000} {
		sc := make([]rec, n)
		for i := range sc {
			// Few distinct values in the radix bytes and the rest, so
			// that ties and equal hashes occur.
			sc[i] = rec{hi: uint64(r.IntN(3))<<56 | uint64(r.IntN(300))<<40 | uint64(r.IntN(4)), lo: uint64(r.IntN(3)),
				since: int64(i), ord: uint32(i)}
		}
		want := append([]rec(nil), sc...)
		slices.SortStableFunc(want, func(a, b rec) int { return cmpRec(rec{hi: a.hi, lo: a.lo}, rec{hi: b.hi, lo: b.lo}) })
		got := b.sort(sc)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: sort differs", n)
		}
	}
}

// TestLargeListAgainstModel: lists large enough for every code path
// (radix sort, directory select scans, window reads of prior entries).
func TestLargeListAgainstModel(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	m := newModel()
	r := rand.New(rand.NewPCG(9, 9))
	n := 300000
	if raceOn {
		n = 100000
	}
	full := make([]Entry, n)
	for i := range full {
		full[i] = Entry{IDHash: hashN(r.IntN(n * 14 / 15)), Status: uint8(1 + r.IntN(2)), Since: int64(r.IntN(1 << 20))}
	}
	delta := make([]Entry, n/8)
	for i := range delta {
		delta[i] = Entry{IDHash: hashN(r.IntN(n)), Status: uint8(r.IntN(3)), Since: int64(r.IntN(1 << 21))}
	}
	m.replace(testKey(0), full)
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Replace(testKey(0), seqOf(full)) }); err != nil {
		t.Fatal(err)
	}
	m.append(testKey(0), delta)
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Append(testKey(0), delta) }); err != nil {
		t.Fatal(err)
	}
	times := []int64{-1, 0, 1 << 19, 1 << 20, 1 << 21}
	v, _ := s.View(ctx)
	if err := compareViewN(v, m, times, 30000); err != nil {
		t.Fatal(err)
	}
	v.Release()
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ = s.View(ctx)
	defer v.Release()
	if err := compareViewN(v, m, times, 30000); err != nil {
		t.Fatal(err)
	}
}
