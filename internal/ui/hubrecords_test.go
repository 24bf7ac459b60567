package ui

import (
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// The supervisor's filters map to the hub's query, and the device compares
// plates as the hub does.
func TestHubQueryAndPlates(t *testing.T) {
	day := credential.Date{Year: 2026, Month: 11, Day: 27}
	for _, tt := range []struct {
		name string
		f    Filter
		want map[string]string
	}{
		{name: "empty", want: map[string]string{"limit": "1000"}},
		{name: "all fields", f: Filter{From: day.Start(), To: day.End(), Officer: "9001", Verdicts: []verify.Verdict{verify.Limited},
			Kind: credential.Kind(2), Plate: " 粤B·12345 "},
			want: map[string]string{"limit": "1000", "from": "2026-11-26T16:00:00Z", "to": "2026-11-27T15:59:59.999999999Z",
				"officer": "9001", "verdict": "LIMITED", "kind": "2", "plate": "粤B·12345"}},
		{name: "two verdicts stay on the device", f: Filter{Verdicts: []verify.Verdict{verify.Valid, verify.Invalid}},
			want: map[string]string{"limit": "1000"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := hubQuery(tt.f)
			if len(q) != len(tt.want) {
				t.Errorf("query %v, want %v", q, tt.want)
			}
			for k, v := range tt.want {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			if to := q.Get("to"); to != "" {
				if _, err := time.Parse(time.RFC3339, to); err != nil {
					t.Errorf("to %q: %v", to, err)
				}
			}
		})
	}
	for _, p := range []string{"粤B12345", "粤b-123 45", "粤B·1.2•345", "", "  "} {
		if got, want := plateKey(p), hub.NormalisePlate(p); got != want {
			t.Errorf("plateKey(%q) = %q, hub %q", p, got, want)
		}
		if (Filter{Plate: p}).Match(Row{Plate: "粤B12345"}) != (plateKey(p) == "" || plateKey(p) == "粤B12345") {
			t.Errorf("Filter{Plate: %q}.Match", p)
		}
	}
}
