package ui

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// HubRecords queries the hub's records for the supervisor screen: one page
// of GET /v1/records with a supervisor's bearer token and the hub's filters
// (from, to, officer, verdict, kind, plate, page, limit). Its errors wrap
// syncclient.ErrForbidden, ErrUnreachable, ErrNotEnrolled or ErrHub.
// *syncclient.Client and *terminal.SyncService satisfy it.
type HubRecords interface {
	QueryRecords(ctx context.Context, supervisorToken string, q url.Values) (*wire.RecordsResponse, error)
}

// Hub query limits: records per page and pages per query.
const (
	hubPageSize = 1000
	hubMaxPages = 5
)

// Errors of a hub query, as the supervisor screen shows them.
var (
	errHubNoToken     = &UserError{Key: "supervisor.hubNoToken", Msg: "ui: no supervisor token for the hub"}
	errHubNotEnrolled = &UserError{Key: "supervisor.hubNotEnrolled", Msg: "ui: not enrolled with a hub", Err: syncclient.ErrNotEnrolled}
)

// hubError turns the error of a hub query into what the officer reads.
func hubError(err error) error {
	key := "supervisor.hubFailed"
	switch {
	case errors.Is(err, syncclient.ErrForbidden):
		key = "supervisor.hubForbidden"
	case errors.Is(err, syncclient.ErrNotEnrolled):
		return errHubNotEnrolled
	case errors.Is(err, syncclient.ErrUnreachable):
		key = "supervisor.hubOffline"
	case errors.Is(err, ErrLocked):
		return err
	}
	return &UserError{Key: key, Msg: "ui: hub query: " + err.Error(), Err: err}
}

// hubQuery maps f to the hub's query parameters. What the hub cannot
// express (several verdicts, the free text) is filtered on the device.
func hubQuery(f Filter) url.Values {
	q := url.Values{"limit": {strconv.Itoa(hubPageSize)}}
	if !f.From.IsZero() {
		q.Set("from", f.From.UTC().Format(time.RFC3339Nano))
	}
	if !f.To.IsZero() { // Filter.To is exclusive, the hub's to inclusive
		q.Set("to", f.To.Add(-time.Nanosecond).UTC().Format(time.RFC3339Nano))
	}
	if f.Officer != "" {
		q.Set("officer", f.Officer)
	}
	if len(f.Verdicts) == 1 {
		q.Set("verdict", f.Verdicts[0].String())
	}
	if f.Kind.Valid() {
		q.Set("kind", strconv.Itoa(int(f.Kind)))
	}
	if p := strings.TrimSpace(f.Plate); p != "" {
		q.Set("plate", p)
	}
	return q
}

// rowFromView flattens a record the hub sent: masked like a device row,
// State delivered (the hub holds it).
func rowFromView(v wire.RecordView) Row {
	r := Row{Seq: v.Seq, ID: v.ID, At: v.Wall, Officer: v.Officer, Device: v.Device, Kind: credential.Kind(v.Kind),
		Number: v.Number, Holder: v.Holder, HolderID: maskID(v.HolderID), Plate: v.Plate, ActionText: v.ActionText,
		Notes: v.Notes, Revealed: v.Revealed != nil, State: records.Delivered,
		StopID: v.StopID, StopWarnings: v.StopWarnings, Corrects: v.Corrects, Policy: v.Policy}
	if v.Number != "" && v.Number == v.HolderID {
		r.Number = maskID(v.Number)
	}
	if err := r.Verdict.UnmarshalText([]byte(v.Verdict)); err != nil {
		r.Verdict = verify.Invalid
	}
	for _, s := range v.Reasons {
		if x, err := verify.ParseReason(s); err == nil {
			r.Reasons = append(r.Reasons, x)
		}
	}
	if act, err := records.ParseAction(v.Action); err == nil {
		r.Action = act
	}
	if isUntreated(r.Action, r.ActionText) {
		r.Action, r.ActionText = 0, ""
	}
	return r
}

// loadHubRows queries the hub off fyne's goroutine (at most hubMaxPages
// pages) and hands the rows f selects, newest first, to done on fyne's
// goroutine; more reports rows left out.
func (a *App) loadHubRows(token string, f Filter, done func(rows []Row, more bool, err error)) {
	hr, ctx := a.deps.HubRecords, a.ctx
	token = strings.TrimSpace(token)
	switch {
	case hr == nil:
		done(nil, false, errHubNotEnrolled)
		return
	case token == "":
		done(nil, false, errHubNoToken)
		return
	}
	a.async(func() {
		q := hubQuery(f)
		var (
			rows []Row
			more bool
			err  error
		)
		for range hubMaxPages {
			var rr *wire.RecordsResponse
			if rr, err = hr.QueryRecords(ctx, token, q); err != nil {
				err = hubError(err)
				break
			}
			for _, v := range rr.Records {
				rows = append(rows, rowFromView(v))
			}
			if more = rr.NextPage != "" || rr.Truncated; rr.NextPage == "" {
				break
			}
			q.Set("page", rr.NextPage)
		}
		rows = filterRows(slices.Clip(rows), f)
		fyne.Do(func() { done(rows, more, err) })
	})
}
