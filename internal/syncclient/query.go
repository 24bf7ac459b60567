package syncclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// ErrForbidden: the hub refused the supervisor token of a query (missing,
// unknown, expired, revoked, or not a supervisor's).
var ErrForbidden = errors.New("syncclient: the hub refused the supervisor token")

// queryRetries bounds the retries of a supervisor query: a person waits
// for it, so it gives up sooner than a sync.
const queryRetries = 2

// maxRecordsBody bounds the answer to a record query (1000 records).
const maxRecordsBody = 32 << 20

// QueryRecords asks the hub for one page of its records as a supervisor
// (POST /v1/records/search with the bearer token), over the pinned TLS
// client.
// q holds the hub's filters: from, to (RFC 3339), device, officer,
// verdict, kind, plate, stop, flagged, page, limit. Errors: ErrForbidden
// for a refused token, ErrUnreachable when no answer came, ErrHub for
// other refusals, ErrProtocol for an unreadable answer.
func (c *Client) QueryRecords(ctx context.Context, supervisorToken string, q url.Values) (*wire.RecordsResponse, error) {
	body, err := searchBody(q) // security.go: the filters (a plate) never in a URL
	if err != nil {
		return nil, err
	}
	resp, err := c.supervisorDo(ctx, http.MethodPost, wire.PathRecordSearch, supervisorToken, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var rr wire.RecordsResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRecordsBody)).Decode(&rr); err != nil {
		return nil, fmt.Errorf("%w: records answer: %v", ErrProtocol, err)
	}
	return &rr, nil
}

// supervisorDo sends a supervisor request (bearer token; body, when not
// nil, as JSON) over the pinned TLS client with the query retries, and
// returns the 200 answer for the caller to read and close. Errors:
// ErrForbidden for a refused token, ErrUnreachable when no answer came,
// ErrHub for other refusals, ctx's error when it ended.
func (c *Client) supervisorDo(ctx context.Context, method, path, token string, body []byte) (*http.Response, error) {
	ep := c.ep.Load()
	var rb any // nil, or the bytes (retryablehttp resends them on a retry)
	if body != nil {
		rb = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, ep.base.String()+path, rb)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rc := retrying(ep.hc, max(0, min(c.cfg.RetryMax, queryRetries)), c.cfg.RetryWaitMin, min(c.cfg.RetryWaitMax, 5*time.Second),
		c.clk, c.cfg.Sleep, nil, c.cfg.OnRetry)
	resp, err := rc.Do(req)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, unreachable(err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		e := readError(resp)
		return nil, fmt.Errorf("%w: %s: %s", ErrForbidden, e.Code, e.Message)
	default:
		return nil, hubError(resp)
	}
}

// maxCountersBody bounds the answer to a counters query (a year of hours).
const maxCountersBody = 8 << 20

// QueryCounters asks the hub for its record counters as a supervisor (GET
// /v1/counters with the bearer token), over the pinned TLS client: the
// hub counts every record it holds in the range from its rollups, not a
// page of them. q holds from and to (RFC 3339 whole hours, to exclusive,
// at most 400 days apart), group (day, hour, officer, device, issuer,
// verdict, kind) and tz (group=day). Errors as QueryRecords: ErrForbidden,
// ErrUnreachable, ErrHub (a bad range), ErrProtocol.
func (c *Client) QueryCounters(ctx context.Context, supervisorToken string, q url.Values) (*wire.CountersResponse, error) {
	resp, err := c.supervisorDo(ctx, http.MethodGet, "/v1/counters?"+q.Encode(), supervisorToken, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var cr wire.CountersResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxCountersBody)).Decode(&cr); err != nil {
		return nil, fmt.Errorf("%w: counters answer: %v", ErrProtocol, err)
	}
	return &cr, nil
}

// ExportRecords streams the hub's export of every record q selects (POST
// /v1/records/export with the filters in the body, so a plate never
// travels in a URL) to w as it arrives: format "csv" (UTF-8 with a
// byte-order mark) or "xlsx". q holds the filters of QueryRecords (page
// and limit are not sent: the export holds every record). It returns the
// bytes written. A stream the hub cuts is an error wrapping
// ErrUnreachable, a failing w its own error; w then holds a partial file,
// which the caller discards. Errors before the stream as QueryRecords.
//
// The cells are the hub's, defused for spreadsheets there
// (records.DefuseCell); this client passes the bytes through unchanged.
func (c *Client) ExportRecords(ctx context.Context, supervisorToken string, q url.Values, format string, w io.Writer) (int64, error) {
	f := url.Values{"format": {format}}
	for k, v := range q {
		if k != "page" && k != "limit" && k != "format" {
			f[k] = v
		}
	}
	body, err := searchBody(f)
	if err != nil {
		return 0, err
	}
	resp, err := c.supervisorDo(ctx, http.MethodPost, wire.PathRecordExport, supervisorToken, body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	src := &readErr{r: resp.Body}
	n, err := io.Copy(w, src)
	switch {
	case err != nil && ctx.Err() != nil:
		return n, ctx.Err()
	case err != nil && src.err != nil:
		return n, fmt.Errorf("%w: export cut after %d bytes: %v", ErrUnreachable, n, err)
	case err != nil: // the writer's (a full disk): not the hub's
		return n, err
	}
	return n, nil
}

// readErr remembers the error of its reader (other than io.EOF), so that
// a copy can tell a cut stream from a failing writer.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
