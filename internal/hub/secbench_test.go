package hub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/hub/wire/envelope"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// BenchmarkIngestSecurity measures the hub's ingestion (batches of 250
// records, the sync client's default, through the hub's handler into a
// bbolt file) without and with the protections of issue 11 that cost per
// push: the audit entry of every device request, and opening the sealed
// (SM2 + SM4-GCM) envelope. Quotas and the authentication before the body
// are on in both. The two hubs take pushes in turn, so that a busy
// machine slows both alike; the terminal's sealing is done before the
// timer (it is the terminal's work); the files skip fsync so that the
// figures compare the hub's work, not the disk's. It reports records/s of
// each and the cost in per cent (goal: at most 10). Run with
// -bench IngestSecurity -benchtime 100x.
func BenchmarkIngestSecurity(b *testing.B) {
	type side struct {
		h    *secHub
		d    *device
		reqs []*http.Request
		took time.Duration
	}
	mk := func(quiet, seal bool) *side {
		h := &secHub{t: b, path: filepath.Join(b.TempDir(), "hub.db"), clk: clock.NewFake(time.Now())}
		benchHub(b, h, quiet)
		sd := &side{h: h, d: h.enroll("T-BENCH", "")}
		for range b.N {
			recs := make([]wire.PushRecord, 250)
			for j := range recs {
				recs[j] = sd.d.record(time.Now(), records.ID{}, 0)
			}
			body, _ := json.Marshal(wire.PushRequest{Records: recs})
			ct := "application/json"
			if seal {
				var err error
				if body, err = envelope.Marshal(h.keys.EncryptionKey(), envelope.TypePush, body); err != nil {
					b.Fatal(err)
				}
				ct = envelope.ContentType
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/records", bytes.NewReader(body))
			if err := wire.Sign(req, body, sd.d.id, h.clk.Now(), func(m []byte) ([]byte, error) { return sd.d.key.Sign(rand.Reader, m) }); err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", ct)
			sd.reqs = append(sd.reqs, req)
		}
		return sd
	}
	without, with := mk(true, false), mk(false, true)
	b.ResetTimer()
	for i := range b.N {
		for _, sd := range []*side{without, with} {
			start := time.Now()
			rec := httptest.NewRecorder()
			sd.h.srv.ServeHTTP(rec, sd.reqs[i])
			if rec.Code != http.StatusOK {
				b.Fatalf("push %d: %d %s", i, rec.Code, rec.Body)
			}
			sd.took += time.Since(start)
		}
	}
	start := time.Now()
	if err := with.h.srv.Audit().Flush(context.Background()); err != nil { // the audit log's writes count
		b.Fatal(err)
	}
	with.took += time.Since(start)
	b.StopTimer()
	n := float64(b.N * 250)
	b.ReportMetric(n/without.took.Seconds(), "records/s-without")
	b.ReportMetric(n/with.took.Seconds(), "records/s-with")
	b.ReportMetric(100*(with.took.Seconds()/without.took.Seconds()-1), "cost-%")
}

// benchHub starts h on a bbolt file (no fsync) with the real clock.
func benchHub(b *testing.B, h *secHub, quiet bool) {
	ctx := context.Background()
	kr, err := hub.OpenKeyring(h.path, nil, true)
	if err != nil {
		b.Fatal(err)
	}
	h.keys = kr.Keys
	if h.db, err = storage.Open(ctx, h.path, storage.Options{NoSync: true}); err != nil {
		b.Fatal(err)
	}
	if h.store, err = hub.NewBoltStore(ctx, h.db); err != nil {
		b.Fatal(err)
	}
	if h.ts, err = trust.New(ctx, h.db); err != nil {
		b.Fatal(err)
	}
	lims := limit.Default()
	lims.RecordBurst, lims.RequestBurst = 1<<30, 1<<30
	if h.srv, err = hub.New(hub.Config{Store: h.store, Trust: h.ts, Keys: h.keys, Security: hub.Security{Limits: &lims, QuietDevices: quiet}}); err != nil {
		b.Fatal(err)
	}
	h.http = httptest.NewServer(h.srv)
	b.Cleanup(h.stop)
}
