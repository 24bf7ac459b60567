package syncclient_test

import (
	"context"
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
		l := &credential.StatusList{Issuer: "440300", Sequence: 43, Base: 42, ThisUpdate: w.At.Unix(), NextUpdate: w.At.Add(7 * 24 * time.Hour).Unix()}
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
