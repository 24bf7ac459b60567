package hub_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
)

// TestBatchSignaturesByRun: a batch's signatures are checked once per
// linked run (the newest record's signature covers the others through the
// hash chain), and whatever breaks a run is still caught record by record.
func TestBatchSignaturesByRun(t *testing.T) {
	mk := func(d *device, n int) []wire.PushRecord {
		out := make([]wire.PushRecord, n)
		for i := range out {
			out[i] = d.record(secT0.Add(time.Duration(i)*time.Second), records.ID{}, 0)
		}
		return out
	}
	forge := func(p wire.PushRecord) wire.PushRecord {
		sig := slices.Clone(p.Sig)
		sig[10] ^= 1
		return wire.PushRecord{Body: p.Body, Sig: sig}
	}
	edit := func(p wire.PushRecord) wire.PushRecord {
		r, err := records.DecodeCanonical(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		r.Plate = "粤B00000"
		body, err := r.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		return wire.PushRecord{Body: body, Sig: p.Sig}
	}
	tests := []struct {
		name   string
		change func([]wire.PushRecord)
		want   []string // status per record
		reason map[int]string
	}{
		{name: "intact", change: func([]wire.PushRecord) {},
			want: []string{wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted}},
		{name: "middle record edited after signing", change: func(b []wire.PushRecord) { b[2] = edit(b[2]) },
			want:   []string{wire.StatusAccepted, wire.StatusAccepted, wire.StatusRejected, wire.StatusAccepted, wire.StatusAccepted},
			reason: map[int]string{2: wire.ReasonSignature}},
		{name: "newest signature forged: the run is checked record by record", change: func(b []wire.PushRecord) { b[4] = forge(b[4]) },
			want:   []string{wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusRejected},
			reason: map[int]string{4: wire.ReasonSignature}},
		{name: "first and newest forged", change: func(b []wire.PushRecord) { b[0], b[4] = forge(b[0]), forge(b[4]) },
			want:   []string{wire.StatusRejected, wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusRejected},
			reason: map[int]string{0: wire.ReasonSignature, 4: wire.ReasonSignature}},
		{name: "newest edited after signing", change: func(b []wire.PushRecord) { b[4] = edit(b[4]) },
			want:   []string{wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusRejected},
			reason: map[int]string{4: wire.ReasonSignature}},
		// The documented cost of one check per run: a middle record's own
		// signature is not checked, its content is (by the newest's).
		{name: "middle signature alone forged, content intact", change: func(b []wire.PushRecord) { b[2] = forge(b[2]) },
			want: []string{wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted}},
		{name: "a malformed record splits the runs", change: func(b []wire.PushRecord) { b[1] = wire.PushRecord{Body: []byte{0xa1}, Sig: b[1].Sig} },
			want:   []string{wire.StatusAccepted, wire.StatusRejected, wire.StatusAccepted, wire.StatusAccepted, wire.StatusAccepted},
			reason: map[int]string{1: wire.ReasonMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newSecHub(t, hub.Security{})
			d := h.enroll("T-RUN", "440300")
			batch := mk(d, 5)
			tt.change(batch)
			code, res, _ := d.push(batch...)
			if code != http.StatusOK {
				t.Fatalf("push: %d", code)
			}
			for i, want := range tt.want {
				got := statusOf(t, res, i)
				if got.Status != want || got.Reason != tt.reason[i] {
					t.Errorf("record %d: %s %q, want %s %q", i, got.Status, got.Reason, want, tt.reason[i])
				}
			}
		})
	}
}
