package syncclient_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

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
