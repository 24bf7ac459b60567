package hub_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
)

// BenchmarkQueryAudit measures a supervisor's page of records (POST
// /v1/records/search, 100 rows of one day) through the hub with every
// protection on — session/token check, jurisdiction scope, masking, and
// the audit entry each query writes — against the store's own query of
// the same page, on a bbolt hub of 40 devices × 500 records over a day.
// It reports the p95 of each and the difference, the cost of the HTTP
// layer and the audit per page (issue 11: a query with audit stays within
// the query goals, p95 ≤ 50 ms a page).
func BenchmarkQueryAudit(b *testing.B) {
	ctx := context.Background()
	day := time.Now().Add(-26 * time.Hour).Truncate(time.Hour)
	h := &secHub{t: b, path: filepath.Join(b.TempDir(), "hub.db"), clk: clock.NewFake(time.Now())}
	benchHub(b, h, false)
	for d := range 40 {
		dev := h.enroll(fmt.Sprintf("T-Q%03d", d), "")
		for batch := range 2 {
			var recs []wire.PushRecord
			for i := range 250 {
				recs = append(recs, dev.record(day.Add(time.Duration((batch*250+i)*170+d)*time.Second), records.ID{}, 0))
			}
			code, res, _ := dev.push(recs...)
			if code != http.StatusOK || len(res.Results) == 0 || res.Results[0].Status != wire.StatusAccepted {
				b.Fatalf("push: %d %+v", code, res.Results)
			}
		}
	}
	sup := h.token(hub.RoleSupervisor, account.Scope{Role: account.Viewer, Jurisdiction: "all"})
	p95 := func(lat []time.Duration) float64 {
		slices.Sort(lat)
		return float64(lat[len(lat)*95/100].Microseconds()) / 1000
	}
	b.ResetTimer()
	for range b.N {
		var web, store []time.Duration
		for q := range 200 {
			from := day.Add(time.Duration(q%20) * time.Hour)
			to := from.Add(4 * time.Hour)
			s := time.Now()
			var rr wire.RecordsResponse
			if code := h.supPost(sup, "/v1/records/search", wire.RecordSearch{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), Limit: "100"}, &rr); code != http.StatusOK || len(rr.Records) == 0 {
				b.Fatalf("search: %d, %d rows", code, len(rr.Records))
			}
			web = append(web, time.Since(s))
			s = time.Now()
			if _, err := h.store.QueryRecords(ctx, hub.RecordQuery{From: from, To: to, Limit: 100}); err != nil {
				b.Fatal(err)
			}
			store = append(store, time.Since(s))
		}
		w, st := p95(web), p95(store)
		b.ReportMetric(w, "ms-p95/page-hub")
		b.ReportMetric(st, "ms-p95/page-store")
		b.ReportMetric(w-st, "ms-http+audit")
	}
}
