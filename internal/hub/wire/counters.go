package wire

import "time"

// Count is how many records a counter holds, by verdict, and how many of
// them were flagged (a chain gap, a broken link, a doubtful clock…).
type Count struct {
	Total   int64 `json:"total"`
	Valid   int64 `json:"valid"`
	Limited int64 `json:"limited"`
	Invalid int64 `json:"invalid"`
	Flagged int64 `json:"flagged"`
}

// CounterRow is one group of GET /v1/counters: its key (a day
// YYYY-MM-DD, an hour in RFC 3339, an officer id, a device id, an
// issuer's kid in hex, a verdict or a licence kind 1–3) and its count.
type CounterRow struct {
	Key string `json:"key"`
	// Label names the key for people where the hub knows more (an
	// issuer's signer certificate); empty otherwise.
	Label string `json:"label,omitempty"`
	Count
}

// CountersResponse is GET /v1/counters (supervisors): the records whose
// time lies in [From, To) by group, from the rollups the hub keeps at
// ingestion (exact, never sampled), rows in key order.
type CountersResponse struct {
	Group   string       `json:"group"`
	From    time.Time    `json:"from"`
	To      time.Time    `json:"to"`
	TZ      string       `json:"tz,omitempty"` // group=day: the time zone of the days
	Rows    []CounterRow `json:"rows"`
	Total   Count        `json:"total"`
	HubTime time.Time    `json:"hub_time"`
}

// CodeUnavailable: the hub's database cannot take the request now (503,
// with Retry-After): retry later; nothing was stored.
const CodeUnavailable = "unavailable"
