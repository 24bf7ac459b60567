package national_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/demo/national"
)

// benchEntries is 10 M (the national world of issue 8) with
// RC_NATIONAL_FULL=1, else 1 M so a plain -bench run stays short.
func benchEntries() int {
	if os.Getenv("RC_NATIONAL_FULL") == "1" {
		return national.DefaultEntries
	}
	return 1_000_000
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's VmHWM in MiB (0 where /proc is missing).
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

func diskMiB(dir string) float64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return float64(n) / (1 << 20)
}

// BenchmarkGenerate generates the national world (32 provinces, 300
// issuers, 3,000 signers; 1 M entries, 10 M with RC_NATIONAL_FULL=1) and
// reports its peak RSS and size on disk. Run it alone:
//
//	RC_NATIONAL_FULL=1 go test ./internal/demo/national -run '^$' -bench Generate -benchtime 1x
func BenchmarkGenerate(b *testing.B) {
	ctx := context.Background()
	entries := benchEntries()
	for i := 0; b.Loop(); i++ {
		dir := filepath.Join(b.TempDir(), fmt.Sprintf("w%d", i))
		resetPeakRSS()
		w, err := national.Generate(ctx, national.Config{Seed: 1, Entries: entries, Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(peakRSS(), "peak-RSS-MiB")
		b.ReportMetric(diskMiB(w.Dir()), "disk-MiB")
		b.ReportMetric(float64(entries), "entries")
		os.RemoveAll(dir)
	}
}

// BenchmarkDelta publishes a 1 % delta on the national world, generated
// once into the cache directory CacheDir(os.TempDir(), 2, entries) and
// reused by later runs, each adding days (seed 2, so the seed-1 worlds
// other benchmarks cache keep their deltas).
func BenchmarkDelta(b *testing.B) {
	ctx := context.Background()
	entries := benchEntries()
	w, err := national.OpenOrGenerate(ctx, national.Config{Seed: 2, Entries: entries, Dir: national.CacheDir(os.TempDir(), 2, entries)})
	if err != nil {
		b.Fatal(err)
	}
	day := 1
	if ds := w.Deltas(); len(ds) > 0 {
		day = ds[len(ds)-1].Day + 1
	}
	resetPeakRSS()
	for b.Loop() {
		if _, err := w.Delta(ctx, day, 0.01); err != nil {
			b.Fatal(err)
		}
		day++
	}
	b.ReportMetric(peakRSS(), "peak-RSS-MiB")
}

// BenchmarkWriteBundle streams the whole cached world (seed 2, see
// BenchmarkDelta) into one PEM bundle file.
func BenchmarkWriteBundle(b *testing.B) {
	ctx := context.Background()
	entries := benchEntries()
	w, err := national.OpenOrGenerate(ctx, national.Config{Seed: 2, Entries: entries, Dir: national.CacheDir(os.TempDir(), 2, entries)})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bundle.pem")
	resetPeakRSS()
	for b.Loop() {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := w.WriteBundle(ctx, bw); err != nil {
			b.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(peakRSS(), "peak-RSS-MiB")
	b.ReportMetric(float64(fi.Size())/(1<<20), "bundle-MiB")
}
