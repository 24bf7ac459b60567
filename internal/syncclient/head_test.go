package syncclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/demo"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// TestHeadReport: every sync audits the chain and, after its push, reports
// the signed head to the hub over loopback; an intact chain the hub holds
// raises nothing, a failed audit is flagged once however often it is
// reported, and a hub without head reports (an earlier version) does not
// fail the sync.
func TestHeadReport(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(demo.ReferenceTime)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	ids := tm.appendN(t, 3, nil)
	c := tm.client(t, nil)

	rep, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Audit == nil || !rep.Audit.OK() || rep.Audit.Records != 3 {
		t.Fatalf("audit: %+v", rep.Audit)
	}
	if hd := rep.Head; hd == nil || hd.Seq != 3 || hd.Received != 3 || len(hd.Flags) != 0 || hd.Unsupported {
		t.Fatalf("head report: %+v", rep.Head)
	}
	checkHubHolds(t, h.store, tm.rec.DeviceID(), ids)

	// A head ahead of the hub (records not pushed yet) is normal.
	tm.appendN(t, 1, nil)
	if hd, err := c.ReportHead(ctx, nil); err != nil || hd.Seq != 4 || hd.Received != 3 || len(hd.Flags) != 0 {
		t.Fatalf("head ahead of the hub: %+v %v", hd, err)
	}

	// The terminal's audit found problems: the hub flags them, once.
	bad := &records.AuditReport{Records: 4, Head: 4, Problems: []records.Problem{{Seq: 2, Kind: records.ProblemSignature, Detail: "edited"}}}
	for range 2 {
		hd, err := c.ReportHead(ctx, bad)
		if err != nil || !slices.Equal(hd.Flags, []string{wire.FlagKindAudit}) {
			t.Fatalf("failed audit reported: %+v %v", hd, err)
		}
	}
	flags, _, err := h.store.Flags(ctx, hubFlagQuery(tm.rec.DeviceID(), wire.FlagKindAudit))
	if err != nil || len(flags) != 1 || flags[0].FromSeq != 2 || flags[0].ToSeq != 2 {
		t.Fatalf("audit flags: %+v %v", flags, err)
	}

	// An earlier hub answers 404 to head reports: the sync goes on.
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wire.PathHead {
			http.NotFound(w, r)
			return
		}
		h.srv.ServeHTTP(w, r)
	}))
	t.Cleanup(old.Close)
	c2 := tm.client(t, func(cfg *syncclient.Config) { cfg.HubURL = old.URL })
	rep, err = c2.Sync(ctx)
	if err != nil || rep.Head == nil || !rep.Head.Unsupported || rep.Push.Accepted != 1 {
		t.Fatalf("sync with an earlier hub: %+v %+v %v", rep.Head, rep.Push, err)
	}
}
