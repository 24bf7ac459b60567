package syncclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// TestTamperingRejectedAndFlagged: a record edited in the database file, a
// record that vanished from the terminal, and a record with a forged device
// signature are refused or flagged by the hub with clear reasons, and
// supervisors see them as flags.
func TestTamperingRejectedAndFlagged(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{}, clk)
	tm.enroll(t, h, h.http.URL)
	// The officer is stored in the clear (notes and personal fields are
	// sealed at rest): a field a hex editor can change.
	var ids []records.ID
	for i := range 8 {
		c := check(i)
		c.Officer = fmt.Sprintf("9876543200%02d", i+1)
		r, err := tm.rec.Append(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}

	// 1. Record 3 is edited with a hex editor: its officer changes.
	tm.db.Close()
	raw, err := os.ReadFile(tm.path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(raw, []byte("987654320003")) == 0 {
		t.Fatal("officer of record 3 not found in the file")
	}
	raw = bytes.ReplaceAll(raw, []byte("987654320003"), []byte("987654320099"))
	if err := os.WriteFile(tm.path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	tm2 := reopenTerminal(t, tm)
	// 2. Record 6 vanishes from the outbox without ever reaching the hub.
	if err := tm2.rec.MarkDelivered(ctx, time.Time{}, []records.Outcome{{Seq: 6}}); err != nil {
		t.Fatal(err)
	}
	rep, err := tm2.client(t, nil).Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Push.Rejected != 1 || rep.Push.Rejections[0].Seq != 3 || rep.Push.Rejections[0].Reason != wire.ReasonSignature {
		t.Fatalf("rejections %+v", rep.Push.Rejections)
	}
	e, _ := tm2.rec.Get(ctx, ids[2])
	if e.State != records.Rejected || e.HubReason != wire.ReasonSignature {
		t.Fatalf("terminal state of the edited record: %v %q", e.State, e.HubReason)
	}

	// 3. A record signed by another key, sent in a request the device signed.
	forger := newTerminalWithID(t, clk, tm2.rec.DeviceID())
	forger.appendN(t, 1, nil)
	out, _ := forger.rec.Outbox(ctx, 1)
	res := pushAs(t, h, tm2.rec, out[0].Signed)
	if res.Status != wire.StatusRejected || res.Reason != wire.ReasonSignature {
		t.Fatalf("forged record: %+v", res)
	}

	// Supervisors see every problem.
	sup := h.token(t, hub.RoleSupervisor)
	var flags wire.FlagsResponse
	getJSON(t, h.http.URL+"/v1/flags?device="+tm2.rec.DeviceID(), sup, &flags)
	kinds := map[string]int{}
	for _, f := range flags.Flags {
		kinds[f.Kind+"/"+f.Reason]++
		t.Logf("flag %s %s seq %d–%d: %s", f.Kind, f.Reason, f.FromSeq, f.ToSeq, f.Detail)
	}
	if kinds["rejected/bad_signature"] != 2 || kinds["gap/"] != 2 {
		t.Fatalf("flags %v", kinds)
	}
	var recs wire.RecordsResponse
	getJSON(t, h.http.URL+"/v1/records?flagged=true", sup, &recs)
	// Same millisecond (fake clock): id order is random, so sort by seq.
	slices.SortFunc(recs.Records, func(a, b wire.RecordView) int { return int(a.Seq) - int(b.Seq) })
	if len(recs.Records) != 2 || recs.Records[0].Seq != 4 || recs.Records[1].Seq != 7 {
		t.Fatalf("flagged records %+v", recs.Records)
	}
	for _, r := range recs.Records {
		if len(r.Flags) != 1 || r.Flags[0] != wire.FlagChainGap || r.Plate != "粤B***45" { // masked for supervisors
			t.Fatalf("record %d: flags %v plate %q", r.Seq, r.Flags, r.Plate)
		}
	}
	byPlate, err := tm2.client(t, nil).QueryRecords(ctx, sup, url.Values{"plate": {"粤b·12345"}}) // POST /v1/records/search
	if err != nil || len(byPlate.Records) != 6 {
		t.Fatalf("records by plate: %d", len(byPlate.Records))
	}
	// A device cannot read records, an unknown token cannot either.
	resp, err := http.Get(h.http.URL + "/v1/records")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated query: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func reopenTerminal(t *testing.T, tm *terminal) *terminal {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, tm.path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rs, err := records.Open(ctx, db, records.KeyFile(records.KeyFilePath(tm.path)), records.Options{Clock: tm.clk})
	if err != nil {
		t.Fatal(err)
	}
	return &terminal{path: tm.path, db: db, rec: rs, clk: tm.clk}
}

func newTerminalWithID(t *testing.T, clk clock.Clock, id string) *terminal {
	t.Helper()
	ctx := context.Background()
	tm := &terminal{path: t.TempDir() + "/forger.db", clk: clk}
	var err error
	if tm.db, err = storage.Open(ctx, tm.path, storage.Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.db.Close() })
	if tm.rec, err = records.Open(ctx, tm.db, records.KeyFile(records.KeyFilePath(tm.path)), records.Options{Clock: clk, DeviceID: id}); err != nil {
		t.Fatal(err)
	}
	return tm
}

// pushAs sends one record in a push request signed by dev.
func pushAs(t *testing.T, h *hubEnv, dev *records.Store, s records.Signed) wire.PushResult {
	t.Helper()
	body, _ := json.Marshal(wire.PushRequest{Records: []wire.PushRecord{{Body: s.Body, Sig: s.Sig}}})
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+"/v1/records", bytes.NewReader(body))
	if err := wire.Sign(req, body, dev.DeviceID(), h.clk.Now(), dev.SignRequest); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pr wire.PushResponse
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil || len(pr.Results) != 1 {
		t.Fatalf("push answer %d: %v", resp.StatusCode, err)
	}
	return pr.Results[0]
}

func getJSON(t *testing.T, url, bearer string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
