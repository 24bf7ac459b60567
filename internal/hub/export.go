package hub

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/xuri/excelize/v2"
)

// maxCounterSpan bounds the time range of one counters request.
const maxCounterSpan = 400 * 24 * time.Hour

// CounterGroups are the groups GET /v1/counters accepts.
var CounterGroups = []string{"day", "hour", "officer", "device", "issuer", "verdict", "kind"}

// ParseCounterQuery reads GET /v1/counters parameters: from and to (RFC
// 3339, whole hours, to exclusive), group (CounterGroups) and, for
// group=day, tz (an IANA zone such as Asia/Shanghai, default UTC).
func ParseCounterQuery(v url.Values) (group string, from, to time.Time, loc *time.Location, err error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadInput}, args...)...)
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		s := v.Get(f.name)
		if s == "" {
			return "", from, to, nil, bad("%s is required (RFC 3339, a whole hour)", f.name)
		}
		t, perr := time.Parse(time.RFC3339, s)
		if perr != nil {
			return "", from, to, nil, bad("%s must be an RFC 3339 time", f.name)
		}
		if t.UnixMilli()%3_600_000 != 0 {
			return "", from, to, nil, bad("%s must be a whole hour (counters are kept per hour)", f.name)
		}
		*f.dst = t
	}
	if !to.After(from) || to.Sub(from) > maxCounterSpan {
		return "", from, to, nil, bad("to must be after from, at most %d days later", int(maxCounterSpan.Hours()/24))
	}
	group = v.Get("group")
	if group == "" {
		group = "day"
	}
	ok := false
	for _, g := range CounterGroups {
		ok = ok || g == group
	}
	if !ok {
		return "", from, to, nil, bad("group must be one of %s", strings.Join(CounterGroups, ", "))
	}
	loc = time.UTC
	if tz := v.Get("tz"); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return "", from, to, nil, bad("tz: unknown time zone %q", tz)
		}
	}
	return group, from, to, loc, nil
}

// Counters answers a counters query from the store's rollups.
func (s *Server) Counters(ctx context.Context, group string, from, to time.Time, loc *time.Location) (wire.CountersResponse, error) {
	resp := wire.CountersResponse{Group: group, From: from.UTC(), To: to.UTC(), Rows: []wire.CounterRow{}, HubTime: s.clk.Now().UTC()}
	q := CounterQuery{Dim: DimAll, From: from, To: to}
	switch group {
	case "day", "hour":
		q.ByHour = true
	case "officer":
		q.Dim = DimOfficer
	case "device":
		q.Dim = DimDevice
	case "issuer":
		q.Dim = DimIssuer
	case "kind":
		q.Dim = DimKind
	}
	rows, err := s.store.Counters(ctx, q)
	if err != nil {
		return resp, err
	}
	var total Count
	for _, r := range rows {
		total.Add(r.Count)
	}
	resp.Total = wireCount(total)
	switch group {
	case "day":
		resp.TZ = loc.String()
		byDay := map[string]Count{}
		var days []string
		for _, r := range rows {
			d := r.Hour.In(loc).Format(time.DateOnly)
			if _, ok := byDay[d]; !ok {
				days = append(days, d)
			}
			c := byDay[d]
			c.Add(r.Count)
			byDay[d] = c
		}
		for _, d := range days {
			resp.Rows = append(resp.Rows, wire.CounterRow{Key: d, Count: wireCount(byDay[d])})
		}
	case "hour":
		for _, r := range rows {
			resp.Rows = append(resp.Rows, wire.CounterRow{Key: r.Hour.UTC().Format(time.RFC3339), Count: wireCount(r.Count)})
		}
	case "verdict":
		for _, v := range []struct {
			name string
			n    int64
		}{{"VALID", total.Valid}, {"LIMITED", total.Limited}, {"INVALID", total.Invalid}} {
			c := wire.Count{Total: v.n}
			switch v.name {
			case "VALID":
				c.Valid = v.n
			case "LIMITED":
				c.Limited = v.n
			default:
				c.Invalid = v.n
			}
			resp.Rows = append(resp.Rows, wire.CounterRow{Key: v.name, Count: c})
		}
	default:
		for _, r := range rows {
			row := wire.CounterRow{Key: r.Key, Count: wireCount(r.Count)}
			if group == "issuer" {
				row.Label = s.issuerLabel(r.Key)
			}
			resp.Rows = append(resp.Rows, row)
		}
	}
	return resp, nil
}

func wireCount(c Count) wire.Count {
	return wire.Count{Total: c.Total, Valid: c.Valid, Limited: c.Limited, Invalid: c.Invalid, Flagged: c.Flagged}
}

// issuerLabel names the signer of a kid from the hub's trust store.
func (s *Server) issuerLabel(kid string) string {
	b, err := hex.DecodeString(kid)
	if err != nil || len(b) != 8 {
		return ""
	}
	if signers := s.trust.Signers(b); len(signers) > 0 {
		return signers[0].Label()
	}
	return ""
}

// handleCounters answers GET /v1/counters (supervisors).
func (s *Server) handleCounters(w http.ResponseWriter, r *http.Request) {
	if !s.authSupervisor(w, r) {
		return
	}
	group, from, to, loc, err := ParseCounterQuery(r.URL.Query())
	if err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	resp, err := s.Counters(r.Context(), group, from, to, loc)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// ExportColumns are the columns of an export, in order.
var ExportColumns = []string{"id", "device", "seq", "time", "received", "officer", "kind", "number", "verdict", "reasons",
	"action", "action_text", "holder", "holder_id", "plate", "place", "lat", "lon", "stop_id", "stop_warnings", "flags", "notes", "corrects", "policy"}

// exportRow is the export's cells of v, each through records.DefuseCell
// (the one rule for rcctl, the GUI and the hub): a cell whose first
// visible character would start a spreadsheet formula gets an apostrophe.
func exportRow(v *wire.RecordView) []string {
	cells := exportCells(v)
	for i, c := range cells {
		cells[i] = records.DefuseCell(c)
	}
	return cells
}

func exportCells(v *wire.RecordView) []string {
	f := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', 6, 64)
	}
	return []string{v.ID, v.Device, strconv.FormatUint(v.Seq, 10), v.Wall.Format(time.RFC3339Nano), v.Received.Format(time.RFC3339Nano),
		v.Officer, strconv.Itoa(int(v.Kind)), v.Number, v.Verdict, strings.Join(v.Reasons, ";"), v.Action, v.ActionText,
		v.Holder, v.HolderID, v.Plate, v.Place, f(v.Lat), f(v.Lon), v.StopID, strings.Join(v.StopWarnings, ";"),
		strings.Join(v.Flags, ";"), v.Notes, v.Corrects, v.Policy}
}

// exportPage is the page size of the queries behind an export.
const exportPage = 1000

// ExportRecords writes every record q selects (q.After and q.Limit are
// ignored) to emit, in id order, page by page: the next page is read from
// the store while the records of the current one are unsealed (in
// parallel) and emitted, so at most two pages of records are in memory at
// a time.
func (s *Server) ExportRecords(ctx context.Context, q RecordQuery, emit func(v *wire.RecordView) error) (int, error) {
	q.After, q.Limit = [16]byte{}, exportPage
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		page RecordPage
		err  error
	}
	pages := make(chan result, 1)
	go func() {
		defer close(pages)
		for {
			page, err := s.store.QueryRecords(ctx, q)
			select {
			case pages <- result{page, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || !page.More {
				return
			}
			q.After = page.Next
		}
	}()
	n := 0
	pr := s.presenter(ctx) // mask.go: a supervisor's jurisdiction, masked
	for res := range pages {
		if res.err != nil {
			return n, res.err
		}
		page := res.page
		views := make([]wire.RecordView, len(page.Records))
		errs := make([]error, len(page.Records))
		parallel(len(page.Records), func(i int) { views[i], errs[i] = s.view(&page.Records[i]) })
		for i := range views {
			if errs[i] != nil {
				return n, errs[i]
			}
			if ok, err := pr.show(&views[i]); err != nil {
				return n, err
			} else if !ok {
				continue
			}
			if err := emit(&views[i]); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, ctx.Err()
}

// handleExport answers GET /v1/records/export (supervisors): the records of
// a query (the filters of GET /v1/records), all of them, streamed as CSV
// (UTF-8 with a byte-order mark, for spreadsheet programs) or, with
// format=xlsx, as an Excel workbook written through excelize's stream
// writer (rows go to a temporary file, not memory).
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	if !s.authSupervisor(w, r) {
		return
	}
	v := r.URL.Query()
	q, err := ParseRecordQuery(v, s.keys)
	if err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	format := v.Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "xlsx" {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "format must be csv or xlsx")
		return
	}
	// A large export takes longer than the server's write timeout.
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	name := "roadcheck-records-" + s.clk.Now().UTC().Format("20060102T150405Z")
	var n int
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "\ufeff")
		cw := csv.NewWriter(w)
		cw.Write(ExportColumns)
		n, err = s.ExportRecords(r.Context(), q, func(v *wire.RecordView) error { return cw.Write(exportRow(v)) })
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if err != nil {
			// The status is sent: the cut stream tells the client.
			s.log.Error("export failed", "format", format, "records", n, "err", err)
			panic(http.ErrAbortHandler)
		}
		s.metrics.exported.WithLabelValues(format).Add(float64(n))
		auditOf(r).set(func(ra *reqAudit) { ra.rows = n })
		return
	}
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		s.internal(w, err)
		return
	}
	row := 1
	put := func(cells []string) error {
		vals := make([]any, len(cells))
		for i, c := range cells {
			vals[i] = c
		}
		ref, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		row++
		return sw.SetRow(ref, vals)
	}
	if err := put(ExportColumns); err != nil {
		s.internal(w, err)
		return
	}
	n, err = s.ExportRecords(r.Context(), q, func(v *wire.RecordView) error { return put(exportRow(v)) })
	if err == nil {
		err = sw.Flush()
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
	w.WriteHeader(http.StatusOK)
	if _, err := f.WriteTo(w); err != nil {
		s.log.Error("export failed", "format", format, "records", n, "err", err)
		return
	}
	s.metrics.exported.WithLabelValues(format).Add(float64(n))
	auditOf(r).set(func(ra *reqAudit) { ra.rows = n })
}
