package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// HubCounters asks the hub for its record counters (GET /v1/counters: every
// record in the range, counted from the hub's rollups) with a supervisor's
// bearer token. The supervisor screen uses it when Deps.HubRecords
// implements it (*syncclient.Client and *terminal.SyncService do). Errors
// as HubRecords'.
type HubCounters interface {
	QueryCounters(ctx context.Context, supervisorToken string, q url.Values) (*wire.CountersResponse, error)
}

// HubExport streams the hub's export of every record the filters select
// (POST /v1/records/export) to w, as CSV or XLSX. The supervisor screen
// uses it when Deps.HubRecords implements it. Errors as HubRecords'.
type HubExport interface {
	ExportRecords(ctx context.Context, supervisorToken string, q url.Values, format string, w io.Writer) (int64, error)
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

// hubUnavailable reports whether err says the hub cannot be asked now (not
// enrolled, unreachable): the supervisor screen then shows the device's
// records and counts them instead.
func hubUnavailable(err error) bool {
	return errors.Is(err, syncclient.ErrNotEnrolled) || errors.Is(err, syncclient.ErrUnreachable)
}

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

// hubCounterSpan is the longest range of one counters request (the hub's
// limit); longer ranges are asked in parts and summed.
const hubCounterSpan = 400 * 24 * time.Hour

// hubFigures are the hub's counters for a filter: per officer and per day
// (China time), over every record the hub holds in the range.
type hubFigures struct {
	perOfficer, perDay []Count
	// recentDays > 0: no start date was given, the counters cover the
	// last recentDays days.
	recentDays int
	// datesOnly: the filter has conditions the hub's counters cannot
	// apply (officer, kind, plate, text); they cover the dates and the
	// verdicts only.
	datesOnly bool
}

// counterRange is the range of whole hours the hub counts for f: its dates
// (the last hubCounterSpan up to the next whole hour after now when open)
// and, when it had no start, the number of days it covers.
func counterRange(f Filter, now time.Time) (from, to time.Time, recentDays int) {
	to = f.To
	if to.IsZero() {
		to = now.Truncate(time.Hour).Add(time.Hour) // now included
	} else if t := to.Truncate(time.Hour); !t.Equal(to) {
		to = t.Add(time.Hour)
	}
	from = f.From.Truncate(time.Hour)
	if f.From.IsZero() {
		from, recentDays = to.Add(-hubCounterSpan), int(hubCounterSpan/(24*time.Hour))
	}
	return from, to, recentDays
}

// loadHubCounters asks the hub for the counters of f's range off fyne's
// goroutine — per officer and per hour, in parts of at most
// hubCounterSpan, the hours summed into China days — and hands them to
// done on fyne's goroutine. The verdicts f selects are applied to the
// counts; its other conditions cannot be (hubFigures.datesOnly).
func (a *App) loadHubCounters(hc HubCounters, token string, f Filter, done func(hubFigures, error)) {
	ctx, now := a.ctx, a.deps.Clock.Now()
	token = strings.TrimSpace(token)
	a.async(func() {
		from, to, recent := counterRange(f, now)
		fig := hubFigures{recentDays: recent,
			datesOnly: f.Officer != "" || f.Kind != 0 || plateKey(f.Plate) != "" || strings.TrimSpace(f.Text) != ""}
		officers, days := map[string]Count{}, map[string]Count{}
		add := func(m map[string]Count, key string, c wire.Count) {
			x := m[key]
			x.Key = key
			x.Valid += int(c.Valid)
			x.Limited += int(c.Limited)
			x.Invalid += int(c.Invalid)
			m[key] = x
		}
		var err error
	parts:
		for cur := from; cur.Before(to); {
			next := cur.Add(hubCounterSpan)
			if next.After(to) {
				next = to
			}
			for _, group := range []string{"officer", "hour"} {
				q := url.Values{"from": {cur.UTC().Format(time.RFC3339)}, "to": {next.UTC().Format(time.RFC3339)}, "group": {group}}
				var cr *wire.CountersResponse
				if cr, err = hc.QueryCounters(ctx, token, q); err != nil {
					err = hubError(err)
					break parts
				}
				for _, r := range cr.Rows {
					if group == "officer" {
						add(officers, r.Key, r.Count)
						continue
					}
					h, perr := time.Parse(time.RFC3339, r.Key)
					if perr != nil {
						err = hubError(fmt.Errorf("%w: counter hour %q", syncclient.ErrProtocol, r.Key))
						break parts
					}
					add(days, h.In(credential.CST()).Format("2006-01-02"), r.Count)
				}
			}
			cur = next
		}
		if err == nil {
			fig.perOfficer, fig.perDay = countsOf(officers, f.Verdicts), countsOf(days, f.Verdicts)
		}
		fyne.Do(func() { done(fig, err) })
	})
}

// countsOf is m's counts sorted by key, keeping the verdicts of vs (all
// when empty) and dropping keys left with none.
func countsOf(m map[string]Count, vs []verify.Verdict) []Count {
	out := make([]Count, 0, len(m))
	for _, c := range m {
		if len(vs) > 0 {
			if !slices.Contains(vs, verify.Valid) {
				c.Valid = 0
			}
			if !slices.Contains(vs, verify.Limited) {
				c.Limited = 0
			}
			if !slices.Contains(vs, verify.Invalid) {
				c.Invalid = 0
			}
		}
		if c.Total = c.Valid + c.Limited + c.Invalid; c.Total > 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(x, y Count) int { return strings.Compare(x.Key, y.Key) })
	return out
}
