package syncclient_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// TestQueryRecords: a supervisor's query reaches the hub over the
// enrolment's client and returns the pushed records; a bad token is
// ErrForbidden, a bad filter ErrHub, a hub gone ErrUnreachable.
func TestQueryRecords(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	ids := tm.appendN(t, 3, nil)
	c := tm.client(t, nil)
	syncUntilDone(t, c)
	sup := h.token(t, hub.RoleSupervisor)
	dev := h.token(t, hub.RoleDevice)

	for _, tt := range []struct {
		name    string
		token   string
		q       url.Values
		want    error
		records int
	}{
		{name: "all", token: sup, records: 3},
		{name: "officer and verdict", token: sup, q: url.Values{"officer": {"010203"}, "verdict": {"VALID"}}, records: 3},
		{name: "other officer", token: sup, q: url.Values{"officer": {"nobody"}}, records: 0},
		{name: "plate and kind", token: sup, q: url.Values{"plate": {"粤B12345"}, "kind": {"3"}}, records: 3},
		{name: "limit", token: sup, q: url.Values{"limit": {"2"}}, records: 2},
		{name: "bad filter", token: sup, q: url.Values{"kind": {"9"}}, want: syncclient.ErrHub},
		{name: "wrong token", token: "rcsup_wrong", want: syncclient.ErrForbidden},
		{name: "no token", token: "", want: syncclient.ErrForbidden},
		{name: "device token", token: dev, want: syncclient.ErrForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := c.QueryRecords(ctx, tt.token, tt.q)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			if len(rr.Records) != tt.records {
				t.Fatalf("%d records, want %d", len(rr.Records), tt.records)
			}
			for _, r := range rr.Records {
				if !slices.ContainsFunc(ids, func(id records.ID) bool { return id.String() == r.ID }) {
					t.Errorf("record %s was not pushed", r.ID)
				}
			}
		})
	}
	h.http.Close()
	if _, err := c.QueryRecords(ctx, sup, nil); !errors.Is(err, syncclient.ErrUnreachable) {
		t.Fatalf("hub gone: %v", err)
	}
}

// TestQueryCountersAndExport: a supervisor gets the hub's counters for a
// range (every record, from the rollups) and its streamed export with the
// filters in the body; a bad token is ErrForbidden, a bad range ErrHub, a
// hub gone ErrUnreachable.
func TestQueryCountersAndExport(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	ids := tm.appendN(t, 3, nil)
	c := tm.client(t, nil)
	syncUntilDone(t, c)
	sup := h.token(t, hub.RoleSupervisor)

	rng := url.Values{"from": {t0.Add(-24 * time.Hour).Format(time.RFC3339)}, "to": {t0.Add(time.Hour).Format(time.RFC3339)}}
	q := url.Values{"group": {"officer"}}
	for k, v := range rng {
		q[k] = v
	}
	cr, err := c.QueryCounters(ctx, sup, q)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Total.Total != 3 || len(cr.Rows) != 1 || cr.Rows[0].Key != "010203" || cr.Rows[0].Count.Total != 3 {
		t.Errorf("counters by officer: %+v", cr)
	}
	if _, err := c.QueryCounters(ctx, "rcsup_wrong", q); !errors.Is(err, syncclient.ErrForbidden) {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := c.QueryCounters(ctx, sup, url.Values{"group": {"officer"}}); !errors.Is(err, syncclient.ErrHub) {
		t.Errorf("no range: %v", err)
	}

	var buf bytes.Buffer
	n, err := c.ExportRecords(ctx, sup, url.Values{"plate": {"粤B12345"}, "limit": {"1"}}, "csv", &buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("export: %d bytes, %v", n, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\uFEFF")))).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("export: %d rows (all 3 records and the header, whatever the limit), %v", len(rows), err)
	}
	for _, id := range ids {
		if !slices.ContainsFunc(rows, func(r []string) bool { return r[0] == id.String() }) {
			t.Errorf("record %s not exported", id)
		}
	}
	buf.Reset()
	if _, err := c.ExportRecords(ctx, sup, url.Values{"plate": {"粤Z00000"}}, "xlsx", &buf); err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("PK")) {
		t.Errorf("xlsx export: %v, %.4q", err, buf.Bytes())
	}
	if _, err := c.ExportRecords(ctx, "rcsup_wrong", nil, "csv", io.Discard); !errors.Is(err, syncclient.ErrForbidden) {
		t.Errorf("export, wrong token: %v", err)
	}
	h.http.Close()
	if _, err := c.QueryCounters(ctx, sup, q); !errors.Is(err, syncclient.ErrUnreachable) {
		t.Errorf("counters, hub gone: %v", err)
	}
	if _, err := c.ExportRecords(ctx, sup, nil, "csv", io.Discard); !errors.Is(err, syncclient.ErrUnreachable) {
		t.Errorf("export, hub gone: %v", err)
	}
}
