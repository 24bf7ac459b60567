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
	ep := c.ep.Load()
	body, err := searchBody(q) // security.go: the filters (a plate) never in a URL
	if err != nil {
		return nil, err
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, ep.base.String()+wire.PathRecordSearch, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+supervisorToken)
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
	case http.StatusUnauthorized, http.StatusForbidden:
		e := readError(resp)
		return nil, fmt.Errorf("%w: %s: %s", ErrForbidden, e.Code, e.Message)
	default:
		return nil, hubError(resp)
	}
	defer resp.Body.Close()
	var rr wire.RecordsResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRecordsBody)).Decode(&rr); err != nil {
		return nil, fmt.Errorf("%w: records answer: %v", ErrProtocol, err)
	}
	return &rr, nil
}
