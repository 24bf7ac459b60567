package statusfile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"testing"
)

// model is the reference semantics (spec §5, Clarification 19): the
// entries applied since the last full list, in apply order.
type model struct {
	lists map[Key][]Entry
	meta  []byte
}

func newModel() *model { return &model{lists: map[Key][]Entry{}} }

func (m *model) clone() *model {
	c := &model{lists: make(map[Key][]Entry, len(m.lists)), meta: slices.Clone(m.meta)}
	for k, v := range m.lists {
		c.lists[k] = slices.Clone(v)
	}
	return c
}

func (m *model) replace(k Key, es []Entry) { m.lists[k] = append([]Entry{}, es...) }
func (m *model) append(k Key, es []Entry)  { m.lists[k] = append(m.lists[k], es...) }
func (m *model) drop(k Key)                { delete(m.lists, k) }

func (m *model) lookup(k Key, h [16]byte, at int64) (Entry, bool) {
	es := m.lists[k]
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].IDHash == h && es[i].Since <= at {
			if es[i].Status == 0 {
				return Entry{}, false
			}
			return es[i], true
		}
	}
	return Entry{}, false
}

func (m *model) count(k Key) int {
	last := map[[16]byte]uint8{}
	for _, e := range m.lists[k] {
		last[e.IDHash] = e.Status
	}
	n := 0
	for _, st := range last {
		if st != 0 {
			n++
		}
	}
	return n
}

func (m *model) keys() []Key { return slices.SortedFunc(maps.Keys(m.lists), compareKeys) }

// hashes lists every idHash the model has seen for k.
func (m *model) hashes(k Key) [][16]byte {
	seen := map[[16]byte]bool{}
	var out [][16]byte
	for _, e := range m.lists[k] {
		if !seen[e.IDHash] {
			seen[e.IDHash] = true
			out = append(out, e.IDHash)
		}
	}
	return out
}

func seqOf(es []Entry) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func testKey(i int) Key {
	var k Key
	k.CA[0] = byte(i / 3)
	k.CA[31] = 0xa5
	k.Issuer = []string{"110000", "440300", "510100"}[i%3]
	return k
}

// hashN is a deterministic pseudo-random idHash.
func hashN(i int) [16]byte {
	var h [16]byte
	binary.BigEndian.PutUint64(h[:8], splitmix(uint64(i)))
	binary.BigEndian.PutUint64(h[8:], splitmix(uint64(i)^0x5bd1e995))
	return h
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// compareStore checks every list, count and lookup of the store's current
// generation against the model, at the given times plus each entry's since
// and since-1. extra are hashes never stored.
func compareStore(t testing.TB, s *Store, m *model, times []int64) {
	t.Helper()
	v, err := s.View(context.Background())
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	defer v.Release()
	if err := compareView(v, m, times); err != nil {
		t.Fatal(err)
	}
}

func compareView(v *View, m *model, times []int64) error { return compareViewN(v, m, times, 1<<30) }

// compareViewN is compareView looking up at most maxHashes hashes a list.
func compareViewN(v *View, m *model, times []int64, maxHashes int) error {
	if got, want := v.Keys(), m.keys(); !slices.Equal(got, want) {
		return fmt.Errorf("keys = %v, want %v", got, want)
	}
	if meta, err := v.LoadMeta(); err != nil || !bytesEqual(meta, m.meta) {
		return fmt.Errorf("meta = %q, %v; want %q", meta, err, m.meta)
	}
	if size, err := v.MetaSize(); err != nil || size != int64(len(m.meta)) {
		return fmt.Errorf("MetaSize = %d, %v; want %d", size, err, len(m.meta))
	}
	if len(m.meta) > 2 {
		if part, err := v.ReadMeta(1, int64(len(m.meta)-2)); err != nil || !bytesEqual(part, m.meta[1:len(m.meta)-1]) {
			return fmt.Errorf("ReadMeta = %q, %v", part, err)
		}
	}
	for _, k := range m.keys() {
		if !v.Has(k) {
			return fmt.Errorf("Has(%v) = false", k)
		}
		if got, want := v.Count(k), m.count(k); got != want {
			return fmt.Errorf("Count(%v) = %d, want %d", k, got, want)
		}
		ts := slices.Clone(times)
		es := m.lists[k]
		for i := 0; i < len(es); i += 1 + len(es)/8 {
			ts = append(ts, es[i].Since, es[i].Since-1)
		}
		hs := m.hashes(k)
		if len(hs) > maxHashes {
			step := len(hs) / maxHashes
			for i := range maxHashes {
				hs[i] = hs[i*step]
			}
			hs = hs[:maxHashes]
		}
		hs = append(hs, hashN(-1), hashN(-2))
		byHash := map[[16]byte][]Entry{}
		for _, e := range es {
			byHash[e.IDHash] = append(byHash[e.IDHash], e)
		}
		for _, h := range hs {
			one := &model{lists: map[Key][]Entry{k: byHash[h]}}
			for _, at := range ts {
				got, gotOK, err := v.Lookup(k, h, at)
				if err != nil {
					return fmt.Errorf("Lookup(%v, %x, %d): %w", k, h[:4], at, err)
				}
				want, wantOK := one.lookup(k, h, at)
				if gotOK != wantOK || got != want {
					return fmt.Errorf("Lookup(%v, %x, %d) = %v %v, want %v %v", k, h[:4], at, got, gotOK, want, wantOK)
				}
			}
		}
	}
	return nil
}

func bytesEqual(a, b []byte) bool { return len(a) == len(b) && (len(a) == 0 || string(a) == string(b)) }

var errBoom = errors.New("boom")
