package records

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/storage"
)

// BenchmarkAppend measures one durable append: seal the personal fields,
// sign, chain, commit with fsync. It reports the median as p50-ms.
func BenchmarkAppend(b *testing.B) {
	f := newFixture(b, storage.Options{})
	ctx := context.Background()
	c := sampleCheck(1)
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := f.store.Append(ctx, c); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkAudit measures the chain audit (run at sign-in, before every
// sync and by record list) over 1,000 records: each is unsealed, its
// signature verified and its link checked. It reports per record.
func BenchmarkAudit(b *testing.B) {
	f := newFixture(b, storage.Options{NoSync: true})
	ctx := context.Background()
	for i := range 1000 {
		if _, err := f.store.Append(ctx, sampleCheck(i)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		a, err := f.store.Audit(ctx)
		if err != nil || !a.OK() {
			b.Fatal(a, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/record")
}
