package syncclient

import (
	"context"
	"net/http"
)

// Get sends a signed GET of pathQuery (e.g. "/v1/trust/manifest") to the
// hub, with the client's retries, and returns the answer whatever its
// status; the caller closes its body. It is for tools and tests that read a
// device endpoint directly; syncing goes through Sync.
func (c *Client) Get(ctx context.Context, pathQuery string) (*http.Response, error) {
	return c.do(ctx, http.MethodGet, pathQuery, nil, nil)
}
