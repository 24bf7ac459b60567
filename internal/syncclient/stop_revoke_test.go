package syncclient_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// TestStopCarriedToSupervisors: the three checks of one roadside stop,
// with the stop's cross-check warnings, reach the hub signed and chained,
// and a supervisor finds exactly them with the stop filter.
func TestStopCarriedToSupervisors(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	const stopID = "01KBZ7Q0X7R5N3D2VQ8W6HJ4MC"
	tm.appendN(t, 2, nil) // checks outside the stop
	warnings := []string{"OPERATOR_MISMATCH", "DRIVER_NOT_QUALIFIED"}
	var inStop []string
	for i, kind := range []credential.Kind{credential.KindVehicle, credential.KindPractitioner, credential.KindPermit} {
		c := check(100 + i)
		c.Kind, c.StopID = kind, stopID
		c.StopWarnings = warnings[:min(i, len(warnings))] // the findings grow as the slots fill
		r, err := tm.rec.Append(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		inStop = append(inStop, r.ID.String())
		clk.Advance(time.Second)
	}
	other := check(200)
	other.StopID = "another-stop"
	if _, err := tm.rec.Append(ctx, other); err != nil {
		t.Fatal(err)
	}
	if rep, err := tm.client(t, nil).Sync(ctx); err != nil || rep.Push.Accepted != 6 {
		t.Fatalf("sync: %+v %v", rep, err)
	}
	sup := h.token(t, hub.RoleSupervisor)
	var got wire.RecordsResponse
	getJSON(t, h.http.URL+"/v1/records?stop="+url.QueryEscape(stopID), sup, &got)
	var ids []string
	for _, r := range got.Records {
		ids = append(ids, r.ID)
		if r.StopID != stopID {
			t.Fatalf("record %s of stop %q", r.ID, r.StopID)
		}
	}
	if !slices.Equal(ids, inStop) {
		t.Fatalf("stop query gave %v, want %v", ids, inStop)
	}
	last := got.Records[2]
	if !slices.Equal(last.StopWarnings, warnings) || last.Kind != uint8(credential.KindPermit) {
		t.Fatalf("last record of the stop: kind %d warnings %v", last.Kind, last.StopWarnings)
	}
	// Paged, and combined with another filter.
	var page wire.RecordsResponse
	getJSON(t, h.http.URL+"/v1/records?limit=2&stop="+url.QueryEscape(stopID), sup, &page)
	if len(page.Records) != 2 || page.NextPage != inStop[1] {
		t.Fatalf("first page %d records, next %q", len(page.Records), page.NextPage)
	}
	next := page.NextPage
	page = wire.RecordsResponse{}
	getJSON(t, h.http.URL+"/v1/records?limit=2&stop="+url.QueryEscape(stopID)+"&page="+next, sup, &page)
	if len(page.Records) != 1 || page.Records[0].ID != inStop[2] || page.NextPage != "" {
		t.Fatalf("second page %+v", page)
	}
	page = wire.RecordsResponse{}
	getJSON(t, h.http.URL+"/v1/records?kind=1&stop="+url.QueryEscape(stopID), sup, &page)
	if len(page.Records) != 1 || page.Records[0].ID != inStop[1] {
		t.Fatalf("stop and kind: %+v", page.Records)
	}
	page = wire.RecordsResponse{}
	getJSON(t, h.http.URL+"/v1/records?stop=no-such-stop", sup, &page)
	if len(page.Records) != 0 {
		t.Fatalf("unknown stop: %d records", len(page.Records))
	}
}

// TestRevokedDevice: once revoked at the hub, a terminal can neither push
// nor pull, and says so clearly; its records stay pending on the terminal,
// and what the hub stored before stays.
func TestRevokedDevice(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	ids := tm.appendN(t, 2, nil)
	c := tm.client(t, nil)
	if _, err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.store.RevokeDevice(ctx, tm.rec.DeviceID(), clk.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.rec.Append(ctx, check(9)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{name: "push", call: func() error { _, err := c.Push(ctx); return err }},
		{name: "pull", call: func() error { _, err := c.PullTrust(ctx); return err }},
		{name: "status", call: func() error {
			_, err := c.CheckStatus(ctx, make([]byte, credential.KIDSize), "440300", [credential.IDHashSize]byte{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, syncclient.ErrRevoked) {
				t.Fatalf("err = %v, want ErrRevoked", err)
			}
		})
	}
	if n, _ := tm.rec.PendingCount(ctx); n != 1 {
		t.Fatalf("%d pending, want 1", n)
	}
	checkHubHolds(t, h.store, tm.rec.DeviceID(), ids)
	// The lost terminal cannot come back under its id with a fresh token.
	err := syncclient.Enroll(ctx, tm.rec, syncclient.EnrollOptions{HubURL: h.http.URL, Token: h.token(t, hub.RoleDevice), Clock: clk})
	if !errors.Is(err, syncclient.ErrRevoked) {
		t.Fatalf("re-enrolment of a revoked device: %v", err)
	}
	// Other terminals go on.
	other := newTerminal(t, storage.Options{NoSync: true}, clk)
	other.enroll(t, h, h.http.URL)
	other.appendN(t, 1, nil)
	if rep, err := other.client(t, nil).Sync(ctx); err != nil || rep.Push.Accepted != 1 {
		t.Fatalf("other terminal: %+v %v", rep, err)
	}
	var devs []wire.DeviceView
	getJSON(t, h.http.URL+"/v1/devices", h.token(t, hub.RoleSupervisor), &devs)
	revoked := 0
	for _, d := range devs {
		if d.Revoked != nil {
			revoked++
			if d.ID != tm.rec.DeviceID() || !d.Revoked.Equal(t0) {
				t.Fatalf("revoked device %+v", d)
			}
		}
	}
	if len(devs) != 2 || revoked != 1 {
		t.Fatalf("devices %+v", devs)
	}
}
