package syncclient_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/issuer"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// BenchmarkSync100k pushes 100,000 pending records to a loopback hub (both
// databases with fsync on). Run with -bench Sync100k -benchtime 1x.
func BenchmarkSync100k(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		b.StopTimer()
		clk := clock.Real{}
		h := startHub(b, storage.Options{}, clk)
		tm := newTerminal(b, storage.Options{NoSync: true}, clk) // filling the outbox is not measured
		tm.enroll(b, h, h.http.URL)
		tm.appendN(b, n, nil)
		c := tm.client(b, func(cfg *syncclient.Config) { cfg.BatchSize = 1000 })
		b.StartTimer()
		start := time.Now()
		rep, err := c.Push(context.Background())
		if err != nil || rep.Accepted != n {
			b.Fatalf("%+v %v", rep, err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/100k-records")
	}
}

// BenchmarkPullTrustDelta10k pulls and applies a status-list delta of
// 10,000 entries published on the hub.
func BenchmarkPullTrustDelta10k(b *testing.B) {
	w := demoWorld(b)
	signer := w.Signers["shenzhen"]
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		clk := clock.NewFake(w.At)
		h := startHub(b, storage.Options{}, clk)
		tm := newTerminal(b, storage.Options{}, clk)
		tm.enroll(b, h, h.http.URL)
		c := tm.client(b, nil)
		if _, err := c.PullTrust(context.Background()); err != nil {
			b.Fatal(err)
		}
		s := demoSeq(b)
		l := &credential.StatusList{Issuer: "440300", Sequence: s + 2, Base: s + 1, ThisUpdate: w.At.Unix(), NextUpdate: w.At.Add(7 * 24 * time.Hour).Unix()}
		for j := range 10_000 {
			l.Entries = append(l.Entries, credential.StatusEntry{IDHash: credential.IDHash("bench-" + string(rune(j)) + time.Duration(j).String()), Status: credential.StatusRevoked, Since: w.At.Unix() - 60})
		}
		cose, err := signer.SignStatusList(nil, l)
		if err != nil {
			b.Fatal(err)
		}
		var bundle issuer.Bundle
		bundle.AddStatusList(cose)
		if _, err := hub.Publish(context.Background(), h.store, h.trust, bundle.PEM(), w.At); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		rep, err := c.PullTrust(context.Background())
		if err != nil || rep.Import == nil || rep.Import.Count(1) != 1 {
			b.Fatalf("%+v %v", rep, err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/pull")
	}
}

// BenchmarkPullOneDayBehind: a terminal holds RC_BENCH_LISTS status lists
// (default 1, at most 100: issuers 440300–440399) of RC_BENCH_ENTRIES
// entries in all (default 1,000,000) and is one day behind: the hub
// published for each list a delta changing 1 % of its entries. It reports
// the bytes transferred and the time of the pull (manifest, the deltas
// alone, import) over loopback. Run with -bench OneDayBehind -benchtime 1x.
func BenchmarkPullOneDayBehind(b *testing.B) {
	n, lists := 1_000_000, 1
	if v, err := strconv.Atoi(os.Getenv("RC_BENCH_ENTRIES")); err == nil && v > 0 {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("RC_BENCH_LISTS")); err == nil && v > 0 {
		lists = min(v, 100)
	}
	w := demoWorld(b)
	signer := w.Signers["shenzhen"]
	s := 2 * uint64(w.At.Unix())
	sign := func(l *credential.StatusList) []byte {
		cose, err := signer.SignStatusList(nil, l)
		if err != nil {
			b.Fatal(err)
		}
		return cose
	}
	var fulls, deltas [][]byte
	var fullBytes, deltaBytes int
	for k := range lists {
		issuer := fmt.Sprintf("4403%02d", k)
		full := &credential.StatusList{Issuer: issuer, Sequence: s + 2, ThisUpdate: w.At.Add(-25 * time.Hour).Unix(), NextUpdate: w.At.Add(6 * 24 * time.Hour).Unix()}
		delta := &credential.StatusList{Issuer: issuer, Sequence: s + 3, Base: s + 2, ThisUpdate: w.At.Add(-time.Hour).Unix(), NextUpdate: w.At.Add(7 * 24 * time.Hour).Unix()}
		for i := range n / lists {
			e := credential.StatusEntry{IDHash: credential.IDHash(fmt.Sprintf("bench %s/%d", issuer, i)), Status: credential.StatusSuspended, Since: w.At.Add(-48 * time.Hour).Unix()}
			full.Entries = append(full.Entries, e)
			if i%100 == 0 {
				e.Status, e.Since = credential.StatusRevoked, w.At.Add(-2*time.Hour).Unix()
				delta.Entries = append(delta.Entries, e)
			}
		}
		fulls, deltas = append(fulls, sign(full)), append(deltas, sign(delta))
		fullBytes += len(fulls[k])
		deltaBytes += len(deltas[k])
	}
	for range b.N {
		b.StopTimer()
		clk := clock.NewFake(w.At)
		h := startHub(b, storage.Options{NoSync: true}, clk)
		publish(b, h, fulls...)
		tm := newTerminal(b, storage.Options{}, clk)
		tm.enroll(b, h, h.http.URL)
		c := tm.client(b, nil)
		if _, err := c.PullTrust(context.Background()); err != nil {
			b.Fatal(err)
		}
		publish(b, h, deltas...)
		b.StartTimer()
		start := time.Now()
		rep, err := c.PullTrust(context.Background())
		elapsed := time.Since(start)
		if err != nil || rep.Fetched != lists || rep.Bytes != int64(deltaBytes) {
			b.Fatalf("%+v %v", rep, err)
		}
		b.ReportMetric(float64(rep.Bytes), "bytes-transferred")
		b.ReportMetric(float64(elapsed.Milliseconds()), "ms/pull")
		b.ReportMetric(float64(fullBytes), "bytes-full-lists")
	}
}
