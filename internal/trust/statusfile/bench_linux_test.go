//go:build linux

package statusfile

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The national world of the benchmarks: 300 lists of Zipf-like sizes, the
// largest 2.5 M, 10 M entries in all; idHashes random, 70 % revoked and
// 30 % suspended, sinces spread over four years.
const (
	natLists   = 300
	natTotal   = 10_000_000
	natLargest = 2_500_000
	natEpoch   = int64(1_640_966_400) // 2022-01-01T00:00:00+08:00
	natSpan    = 4 * 365 * 86400
	natNow     = natEpoch + natSpan
	deltaSize  = 100_000
)

var natSizes = func() []int {
	sum := func(a float64) float64 {
		s := 0.0
		for i := range natLists {
			s += math.Pow(float64(i+1), -a)
		}
		return s
	}
	lo, hi := 0.5, 3.0
	for range 60 {
		mid := (lo + hi) / 2
		if sum(mid)*natLargest > natTotal {
			lo = mid
		} else {
			hi = mid
		}
	}
	sizes := make([]int, natLists)
	total := 0
	for i := range sizes {
		sizes[i] = max(1, int(natLargest*math.Pow(float64(i+1), -lo)))
		total += sizes[i]
	}
	sizes[1] += natTotal - total // round to exactly 10 M
	return sizes
}()

func natKey(i int) Key {
	var k Key
	binary.BigEndian.PutUint64(k.CA[:], splitmix(uint64(i/10)+1))
	k.Issuer = fmt.Sprintf("%06d", 110000+i*100)
	return k
}

// natEntry is entry j of list i, computed (no storage needed).
func natEntry(i, j int) Entry {
	x := uint64(i)<<40 | uint64(j)
	var e Entry
	binary.BigEndian.PutUint64(e.IDHash[:8], splitmix(x))
	r := splitmix(x ^ 0xabcdef)
	binary.BigEndian.PutUint64(e.IDHash[8:], r)
	e.Status = 1
	if r%10 < 3 {
		e.Status = 2
	}
	e.Since = natEpoch + int64(splitmix(r)%natSpan)
	return e
}

func natList(i int) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for j := range natSizes[i] {
			if !yield(natEntry(i, j), nil) {
				return
			}
		}
	}
}

// natDelta is delta d: 100 k entries over the lists in proportion to their
// size: 50 % new revocations or suspensions, 30 % status changes of
// listed licences, 20 % lifts (status 0) of listed licences.
func natDelta(d int) map[int][]Entry {
	r := rand.New(rand.NewPCG(uint64(d), 1234))
	cum := make([]int, natLists)
	acc := 0
	for i, s := range natSizes {
		acc += s
		cum[i] = acc
	}
	out := map[int][]Entry{}
	since := natNow + int64(d)*86400
	for n := range deltaSize {
		i, _ := slices.BinarySearch(cum, r.IntN(acc)+1)
		var e Entry
		switch x := r.IntN(10); {
		case x < 5:
			e = natEntry(i, natSizes[i]+d*deltaSize+n)
			e.Since = since - int64(r.IntN(86400))
		case x < 8:
			e = natEntry(i, r.IntN(natSizes[i]))
			e.Status = 3 - e.Status
			e.Since = since
		default:
			e = natEntry(i, r.IntN(natSizes[i]))
			e.Status, e.Since = 0, since
		}
		out[i] = append(out[i], e)
	}
	return out
}

func applyDelta(ctx context.Context, s *Store, d int) error {
	return applyDeltaOf(ctx, s, d, natDelta(d))
}

func applyDeltaOf(ctx context.Context, s *Store, d int, delta map[int][]Entry) error {
	return s.Update(ctx, func(tx *Tx) error {
		for i := range natLists {
			if es := delta[i]; len(es) > 0 {
				if err := tx.Append(natKey(i), es); err != nil {
					return err
				}
			}
		}
		tx.SetMeta(append(slices.Clone(tx.Meta()[:len(tx.Meta())-8]), binary.BigEndian.AppendUint64(nil, uint64(d))...))
		return nil
	})
}

// natMeta stands for the lead's certificates, CRLs and list headers.
func natMeta(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(splitmix(uint64(i)))
	}
	return b
}

const natMetaSize = 2 << 20

func importNational(ctx context.Context, s *Store) error {
	return s.Update(ctx, func(tx *Tx) error {
		tx.SetMeta(natMeta(natMetaSize))
		for i := range natLists {
			if err := tx.Replace(natKey(i), natList(i)); err != nil {
				return err
			}
		}
		return nil
	})
}

var (
	goldenOnce sync.Once
	goldenDir  string
	goldenErr  error
	benchRoot  string
)

// golden returns a directory holding the imported national world (built
// once per process); copy it with cloneStore before changing it.
func golden(b *testing.B) string {
	goldenOnce.Do(func() {
		benchRoot, goldenErr = os.MkdirTemp("", "statusfile-bench-")
		if goldenErr != nil {
			return
		}
		goldenDir = filepath.Join(benchRoot, "golden")
		var s *Store
		if s, goldenErr = Open(context.Background(), goldenDir); goldenErr != nil {
			return
		}
		defer s.Close()
		goldenErr = importNational(context.Background(), s)
	})
	if goldenErr != nil {
		b.Fatal(goldenErr)
	}
	return goldenDir
}

// cloneStore hard-links a store's files into a new directory: files never
// change after they are written, and MANIFEST is replaced by rename.
func cloneStore(b *testing.B, src string) string {
	dst := b.TempDir()
	for _, name := range listDir(b, src) {
		if err := os.Link(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			b.Fatal(err)
		}
	}
	return dst
}

// resetPeakRSS returns free heap to the OS and restarts VmHWM from the
// current resident set.
func resetPeakRSS() {
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is the process's peak resident set (VmHWM) in MiB.
func peakRSS() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// diskBytes is what the directory's files occupy (allocated blocks).
func diskBytes(b *testing.B, dir string) int64 {
	var n int64
	for _, name := range listDir(b, dir) {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

// BenchmarkReplace10M imports the national world (300 full lists, 10 M
// entries, 2 MiB of meta) in one Update. Run with -benchtime 1x.
func BenchmarkReplace10M(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		s, err := Open(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		resetPeakRSS()
		cpu := cpuTime()
		b.StartTimer()
		if err := importNational(ctx, s); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu-s")
		b.ReportMetric(peakRSS(), "peakRSS-MiB")
		st := s.Stats()
		b.ReportMetric(float64(st.Bytes)/1e6, "disk-MB")
		b.ReportMetric(float64(st.Bytes)/float64(st.Entries), "B/entry")
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkDelta100k applies one 100 k-entry delta over the 300 lists of
// the national world per iteration (overlays accumulate; no Compact).
func BenchmarkDelta100k(b *testing.B) {
	ctx := context.Background()
	dir := cloneStore(b, golden(b))
	s, err := Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d, peak := 0, 0.0
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		delta := natDelta(d) // the lead's parsing, not measured
		resetPeakRSS()
		c0 := cpuTime()
		b.StartTimer()
		if err := applyDeltaOf(ctx, s, d, delta); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		peak = max(peak, peakRSS())
		d++
		b.StartTimer()
	}
	b.ReportMetric(peak, "peakRSS-MiB")
	b.ReportMetric(cpu.Seconds()*1000/float64(d), "cpu-ms/op")
}

// BenchmarkCompact merges three 100 k deltas into the national world.
func BenchmarkCompact(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		dir := cloneStore(b, golden(b))
		s, err := Open(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		for d := range 3 {
			if err := applyDelta(ctx, s, d); err != nil {
				b.Fatal(err)
			}
		}
		resetPeakRSS()
		cpu := cpuTime()
		b.StartTimer()
		if err := s.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric((cpuTime() - cpu).Seconds(), "cpu-s")
		b.ReportMetric(peakRSS(), "peakRSS-MiB")
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkDiskAfter10Deltas reports the bytes on disk of the national
// world after ten 100 k deltas: with overlays only, after one Compact at
// the end, and compacting whenever NeedsCompaction says so.
func BenchmarkDiskAfter10Deltas(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		for _, mode := range []string{"overlays", "compacted", "policy"} {
			dir := cloneStore(b, golden(b))
			s, err := Open(ctx, dir)
			if err != nil {
				b.Fatal(err)
			}
			compactions := 0
			for d := range 10 {
				if err := applyDelta(ctx, s, d); err != nil {
					b.Fatal(err)
				}
				if mode == "policy" && s.NeedsCompaction() {
					if err := s.Compact(ctx); err != nil {
						b.Fatal(err)
					}
					compactions++
				}
			}
			if mode == "compacted" {
				if err := s.Compact(ctx); err != nil {
					b.Fatal(err)
				}
			}
			// One more (empty meta) commit lets the files the last
			// Compact retired go, as the next sync would.
			if err := s.Update(ctx, func(tx *Tx) error { tx.SetMeta(append(tx.Meta(), 0)); return nil }); err != nil {
				b.Fatal(err)
			}
			st := s.Stats()
			b.ReportMetric(float64(diskBytes(b, dir))/1e6, "MB-"+mode)
			b.ReportMetric(float64(st.Bytes-natMetaSize)/float64(st.Entries), "B/entry-"+mode)
			if mode == "policy" {
				b.ReportMetric(float64(compactions), "compactions-policy")
			}
			s.Close()
		}
		b.StartTimer()
	}
}

// primeAll verifies every leaf of every file of v (the "warm" state).
func primeAll(b *testing.B, v *View) {
	for k, gk := range v.g.keys {
		for _, rh := range gk.runs {
			_, vf, err := rh.open(v.s.dir, k)
			if err != nil {
				b.Fatal(err)
			}
			if err := vf.verifyAll(nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// lookupProbe picks a lookup: half listed idHashes, half absent ones,
// over the lists in proportion to their size.
func lookupProbe(r *rand.Rand, cum []int) (Key, [16]byte) {
	i, _ := slices.BinarySearch(cum, r.IntN(cum[len(cum)-1])+1)
	j := r.IntN(natSizes[i])
	if r.IntN(2) == 0 {
		j += 1 << 30
	}
	return natKey(i), natEntry(i, j).IDHash
}

func cumSizes() []int {
	cum := make([]int, natLists)
	acc := 0
	for i, s := range natSizes {
		acc += s
		cum[i] = acc
	}
	return cum
}

func benchLookupWarm(b *testing.B, deltas int) {
	ctx := context.Background()
	dir := golden(b)
	if deltas > 0 {
		dir = cloneStore(b, dir)
	}
	s, err := Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for d := range deltas {
		if err := applyDelta(ctx, s, d); err != nil {
			b.Fatal(err)
		}
	}
	v, err := s.View(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Release()
	primeAll(b, v)
	r := rand.New(rand.NewPCG(1, 1))
	cum := cumSizes()
	const probes = 1 << 16
	keys := make([]Key, probes)
	hs := make([][16]byte, probes)
	for i := range probes {
		keys[i], hs[i] = lookupProbe(r, cum)
	}
	lat := make([]time.Duration, 0, 1<<20)
	found, i := 0, 0
	cpu := cpuTime()
	for b.Loop() {
		t0 := time.Now()
		_, ok, err := v.Lookup(keys[i%probes], hs[i%probes], natNow)
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			found++
		}
		if len(lat) < cap(lat) {
			lat = append(lat, d)
		}
		i++
	}
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(i), "cpu-ns/op")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(found)/float64(i), "found/op")
}

// BenchmarkLookupWarm: random lookups in the national world, every file
// verified already; p50/p99 include ~40 ns of clock reading.
func BenchmarkLookupWarm(b *testing.B) { benchLookupWarm(b, 0) }

// BenchmarkLookupWarm3Deltas: the same with three delta overlays.
func BenchmarkLookupWarm3Deltas(b *testing.B) { benchLookupWarm(b, 3) }

// BenchmarkLookupFirst: Open, ViewLazy and one lookup with a new Store
// each time (nothing mapped or verified yet; files in the page cache); reports
// the first lookup alone and the whole.
func BenchmarkLookupFirst(b *testing.B) {
	ctx := context.Background()
	dir := golden(b)
	r := rand.New(rand.NewPCG(2, 2))
	cum := cumSizes()
	var first, open []time.Duration
	var firstCPU time.Duration
	for b.Loop() {
		k, h := lookupProbe(r, cum)
		t0 := time.Now()
		s, err := Open(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		v, err := s.ViewLazy(ctx)
		if err != nil {
			b.Fatal(err)
		}
		c1 := cpuTime()
		t1 := time.Now()
		if _, _, err := v.Lookup(k, h, natNow); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		firstCPU += cpuTime() - c1
		first = append(first, t2.Sub(t1))
		open = append(open, t1.Sub(t0))
		v.Release()
		s.Close()
	}
	slices.Sort(first)
	slices.Sort(open)
	b.ReportMetric(float64(first[len(first)/2].Microseconds()), "first-p50-µs")
	b.ReportMetric(float64(first[len(first)*99/100].Microseconds()), "first-p99-µs")
	b.ReportMetric(float64(open[len(open)/2].Microseconds()), "open+view-p50-µs")
	b.ReportMetric(float64(firstCPU.Microseconds())/float64(len(first)), "first-cpu-µs")
}

const (
	envFreshChild = "STATUSFILE_FRESH_CHILD"
	envFreshLazy  = "STATUSFILE_FRESH_LAZY" // take the View with ViewLazy
)

// freshChild opens the store, takes a View, looks one idHash up and
// prints the time each took (run in a new process).
func freshChild(dir string) int {
	ctx := context.Background()
	t0 := time.Now()
	s, err := Open(ctx, dir)
	if err != nil {
		return 3
	}
	t1 := time.Now()
	view := s.View
	if os.Getenv(envFreshLazy) != "" {
		view = s.ViewLazy
	}
	v, err := view(ctx)
	if err != nil {
		return 3
	}
	t2 := time.Now()
	r := rand.New(rand.NewPCG(uint64(t0.UnixNano()), 3))
	k, h := lookupProbe(r, cumSizes())
	if _, _, err := v.Lookup(k, h, natNow); err != nil {
		return 3
	}
	t3 := time.Now()
	fmt.Printf("%d %d %d\n", t1.Sub(t0).Microseconds(), t2.Sub(t1).Microseconds(), t3.Sub(t2).Microseconds())
	return 0
}

// BenchmarkOpenFreshProcess: Open + View + one lookup in a new process,
// as `rcctl verify` does: View verifies the 2 MiB meta blob, ViewLazy
// does not.
func BenchmarkOpenFreshProcess(b *testing.B) {
	b.Run("View", func(b *testing.B) { benchFresh(b, false) })
	b.Run("ViewLazy", func(b *testing.B) { benchFresh(b, true) })
}

func benchFresh(b *testing.B, lazy bool) {
	dir := golden(b)
	var open, view, look []float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envFreshChild+"="+dir)
		if lazy {
			cmd.Env = append(cmd.Env, envFreshLazy+"=1")
		}
		out, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		var o, v, l float64
		fmt.Sscan(string(out), &o, &v, &l)
		open, view, look = append(open, o), append(view, v), append(look, l)
	}
	med := func(x []float64) float64 { slices.Sort(x); return x[len(x)/2] }
	b.ReportMetric(med(open), "open-µs")
	b.ReportMetric(med(view), "view-µs")
	b.ReportMetric(med(look), "lookup-µs")
}

// BenchmarkCheck10M verifies every file of the national world.
func BenchmarkCheck10M(b *testing.B) {
	s, err := Open(context.Background(), golden(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if bad, err := s.Check(context.Background()); err != nil || len(bad) > 0 {
			b.Fatal(bad, err)
		}
	}
}
