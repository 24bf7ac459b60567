package syncclient_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/syncclient"
)

func TestBackoff(t *testing.T) {
	resp := func(code int, ra string) *http.Response {
		h := http.Header{}
		if ra != "" {
			h.Set("Retry-After", ra)
		}
		return &http.Response{StatusCode: code, Header: h}
	}
	tests := []struct {
		name    string
		attempt int
		resp    *http.Response
		lo, hi  time.Duration
	}{
		{name: "503 Retry-After seconds is honoured", resp: resp(503, "7"), lo: 7 * time.Second, hi: 7 * time.Second},
		{name: "429 Retry-After", resp: resp(429, "2"), lo: 2 * time.Second, hi: 2 * time.Second},
		{name: "huge Retry-After capped", resp: resp(503, "86400"), lo: syncclient.MaxRetryAfter, hi: syncclient.MaxRetryAfter},
		{name: "HTTP date in the past", resp: resp(503, "Fri, 31 Dec 1999 23:59:59 GMT"), lo: 0, hi: 0},
		{name: "HTTP date read against the given now", resp: resp(503, t0.Add(3*time.Second).Format(http.TimeFormat)), lo: 3 * time.Second, hi: 3 * time.Second},
		{name: "first attempt jittered", attempt: 0, lo: 50 * time.Millisecond, hi: 100 * time.Millisecond},
		{name: "third attempt doubles twice", attempt: 2, resp: resp(500, ""), lo: 200 * time.Millisecond, hi: 400 * time.Millisecond},
		{name: "capped at max", attempt: 20, lo: 500 * time.Millisecond, hi: time.Second},
		{name: "garbage Retry-After ignored", attempt: 0, resp: resp(503, "soon"), lo: 50 * time.Millisecond, hi: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 {
				d := syncclient.Backoff(100*time.Millisecond, time.Second, tt.attempt, tt.resp, t0)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("Backoff = %v, want in [%v, %v]", d, tt.lo, tt.hi)
				}
			}
		})
	}
}
