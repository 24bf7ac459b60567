package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
)

// ScanLimiter is implemented by stores whose query pages end at a scan
// limit; the suite lowers it to reach that case with few records.
type ScanLimiter interface {
	SetScanLimit(n int)
}

// put stores recs for dev in one transaction, moving the chain head.
func putRecords(t *testing.T, s hub.Store, dev string, recs []hub.StoredRecord) {
	t.Helper()
	err := s.Ingest(context.Background(), dev, func(tx hub.IngestTx) error {
		next := tx.Device().NextSeq
		for _, r := range recs {
			if err := tx.PutRecord(r); err != nil {
				return err
			}
			next = max(next, r.Seq+1)
		}
		return tx.SetChain(next, recs[len(recs)-1].Hash, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func record(dev string, seq uint64, at time.Time) hub.StoredRecord {
	r := hub.StoredRecord{ID: id(at.UnixMilli(), byte(seq)), Device: dev, Seq: seq, Wall: at, Received: t0, Verdict: "VALID",
		Officer: "O1", Kind: 1, Sealed: []byte{byte(seq)}}
	r.ID[14] = byte(seq >> 8)
	r.Hash = gm.SM3(r.ID[:])
	return r
}

// testScanCursor: a page that ends at the scan limit names the last record
// it examined, even when it holds no record, so paging always reaches the
// matches behind many that do not match (the back-dated junk case).
func testScanCursor(t *testing.T, s hub.Store) {
	ctx := context.Background()
	sl, ok := s.(ScanLimiter)
	if !ok {
		t.Fatal("the store does not implement storetest.ScanLimiter")
	}
	sl.SetScanLimit(50)
	enroll(t, s, "T-1")
	var recs []hub.StoredRecord
	for i := uint64(1); i <= 400; i++ {
		r := record("T-1", i, t0.Add(time.Duration(i)*time.Second))
		r.Officer = "O9"
		if i%130 == 0 { // 3 matches, far apart
			r.Kind = 2
		}
		recs = append(recs, r)
	}
	putRecords(t, s, "T-1", recs)
	tests := []struct {
		name string
		q    hub.RecordQuery
		want int
	}{
		{name: "officer and kind", q: hub.RecordQuery{Officer: "O9", Kind: 2}, want: 3},
		{name: "officer, kind and time", q: hub.RecordQuery{Officer: "O9", Kind: 2, From: t0.Add(200 * time.Second)}, want: 2},
		{name: "kind alone", q: hub.RecordQuery{Kind: 2, Limit: 1}, want: 3},
		{name: "no match", q: hub.RecordQuery{Officer: "O9", Kind: 3}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			got, empty := 0, 0
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("paging does not end")
				}
				p, err := s.QueryRecords(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Records {
					if r.Kind != q.Kind || r.Officer != "O9" && q.Officer != "" {
						t.Fatalf("record %+v does not match", r)
					}
				}
				got += len(p.Records)
				if !p.More {
					if p.Next != ([16]byte{}) {
						t.Fatal("a last page names a next one")
					}
					break
				}
				if string(p.Next[:]) <= string(q.After[:]) {
					t.Fatalf("page token did not move: %x after %x", p.Next, q.After)
				}
				if len(p.Records) == 0 {
					empty++
				}
				q.After = p.Next
			}
			if got != tt.want {
				t.Fatalf("got %d records, want %d", got, tt.want)
			}
			if tt.want > 0 && tt.want < 3 && empty == 0 {
				t.Log("no page ended empty at the scan limit")
			}
		})
	}
	// The old contract: Records never returns an empty page with more.
	recs2, more, err := s.Records(ctx, hub.RecordQuery{Officer: "O9", Kind: 2, Limit: 1})
	if err != nil || len(recs2) != 1 || !more {
		t.Fatalf("Records: %d records, more %v, %v", len(recs2), more, err)
	}
}

// testIssuer: records are found by the kid of the code's signer.
func testIssuer(t *testing.T, s hub.Store) {
	ctx := context.Background()
	enroll(t, s, "T-1")
	a, b := []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{0xff, 2, 3, 4, 5, 6, 7, 8}
	var recs []hub.StoredRecord
	for i := uint64(1); i <= 30; i++ {
		r := record("T-1", i, t0.Add(time.Duration(i)*time.Minute))
		switch i % 3 {
		case 0:
			r.Issuer = a
		case 1:
			r.Issuer = b
		}
		recs = append(recs, r)
	}
	putRecords(t, s, "T-1", recs)
	for _, tt := range []struct {
		name string
		q    hub.RecordQuery
		want int
	}{
		{"issuer a", hub.RecordQuery{Issuer: a}, 10},
		{"issuer b in pages of 3", hub.RecordQuery{Issuer: b, Limit: 3}, 10},
		{"issuer and verdict", hub.RecordQuery{Issuer: b, Verdict: "VALID", To: t0.Add(10 * time.Minute)}, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			q := tt.q
			for {
				p, err := s.QueryRecords(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Records {
					if string(r.Issuer) != string(q.Issuer) {
						t.Fatalf("issuer %x, want %x", r.Issuer, q.Issuer)
					}
				}
				n += len(p.Records)
				if !p.More {
					break
				}
				q.After = p.Next
			}
			if n != tt.want {
				t.Fatalf("got %d, want %d", n, tt.want)
			}
		})
	}
}

// testCounters: rollups kept at ingestion count every stored record once,
// by hour of its time, per dimension; a rolled-back ingestion counts
// nothing.
func testCounters(t *testing.T, s hub.Store) {
	ctx := context.Background()
	enroll(t, s, "T-1")
	enroll(t, s, "T-2")
	kid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	var r1, r2 []hub.StoredRecord
	for i := uint64(1); i <= 48; i++ { // T-1: one record every 15 minutes over 12 hours
		r := record("T-1", i, t0.Add(time.Duration(i-1)*15*time.Minute))
		r.Verdict = []string{"VALID", "LIMITED", "INVALID"}[i%3]
		r.Officer = fmt.Sprint("O", i%2)
		r.Kind = uint8(1 + i%3)
		r.Issuer = kid
		if i%8 == 0 {
			r.Flags = []string{"chain_gap"}
		}
		r1 = append(r1, r)
	}
	for i := uint64(1); i <= 10; i++ { // T-2: ten in the first hour
		r2 = append(r2, record("T-2", i, t0.Add(time.Duration(i)*time.Minute)))
	}
	putRecords(t, s, "T-1", r1[:20])
	putRecords(t, s, "T-1", r1[20:])
	putRecords(t, s, "T-2", r2)
	boom := errors.New("boom")
	if err := s.Ingest(ctx, "T-2", func(tx hub.IngestTx) error {
		if err := tx.PutRecord(record("T-2", 11, t0)); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	day := hub.CounterQuery{From: t0, To: t0.Add(24 * time.Hour)}
	get := func(q hub.CounterQuery) map[string]hub.Count {
		t.Helper()
		rows, err := s.Counters(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]hub.Count{}
		for i, r := range rows {
			k := r.Key
			if q.ByHour {
				k = r.Hour.UTC().Format("15") + "/" + r.Key
			}
			if i > 0 && !q.ByHour && rows[i-1].Key >= r.Key {
				t.Fatalf("rows out of key order: %q then %q", rows[i-1].Key, r.Key)
			}
			out[k] = r.Count
		}
		return out
	}
	q := day
	q.Dim = hub.DimAll
	if got := get(q); fmt.Sprint(got) != fmt.Sprint(map[string]hub.Count{"": {Total: 58, Valid: 26, Limited: 16, Invalid: 16, Flagged: 6}}) {
		t.Fatalf("all: %v", got)
	}
	q.Dim = hub.DimDevice
	if got := get(q); got["T-1"].Total != 48 || got["T-2"].Total != 10 || len(got) != 2 {
		t.Fatalf("by device: %v", got)
	}
	q.Dim = hub.DimOfficer
	if got := get(q); got["O0"].Total != 24 || got["O1"].Total != 34 {
		t.Fatalf("by officer: %v", got)
	}
	// Whole days come from the daily rollups, the edges from the hourly.
	days := hub.CounterQuery{Dim: hub.DimOfficer, From: t0.Add(-26 * time.Hour), To: t0.Add(30 * time.Hour)}
	if got := get(days); got["O0"].Total != 24 || got["O1"].Total != 34 {
		t.Fatalf("by officer over whole days: %v", got)
	}
	days.To = t0.Add(2 * time.Hour)
	if got := get(days); got["O0"].Total != 4 || got["O1"].Total != 14 {
		t.Fatalf("by officer, a day and two hours: %v", got)
	}
	q.Dim = hub.DimIssuer
	if got := get(q); got["0102030405060708"].Total != 48 || got[""].Total != 10 {
		t.Fatalf("by issuer: %v", got)
	}
	q.Dim = hub.DimKind
	if got := get(q); got["1"].Total != 26 || got["2"].Total != 16 || got["3"].Total != 16 {
		t.Fatalf("by kind: %v", got)
	}
	q = hub.CounterQuery{Dim: hub.DimAll, From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour), ByHour: true}
	if got := get(q); len(got) != 2 || got["03/"].Total != 4 || got["04/"].Total != 4 {
		t.Fatalf("by hour: %v", got)
	}
	q = hub.CounterQuery{Dim: hub.DimDevice, From: t0, To: t0.Add(time.Hour), ByHour: true}
	if got := get(q); got["02/T-1"].Total != 4 || got["02/T-2"].Total != 10 {
		t.Fatalf("devices in the first hour: %v", got)
	}
	if got := get(hub.CounterQuery{Dim: hub.DimAll, From: t0.Add(-48 * time.Hour), To: t0}); len(got) != 0 {
		t.Fatalf("before any record: %v", got)
	}
}

// testRetain: retention deletes the records, flags and rollups before the
// cutoff and nothing after it; records stored afterwards are found.
func testRetain(t *testing.T, s hub.Store) {
	ctx := context.Background()
	enroll(t, s, "T-1")
	var recs []hub.StoredRecord
	for i := uint64(1); i <= 40; i++ { // ten days, four a day
		at := t0.Add(time.Duration(i-1) * 6 * time.Hour)
		r := record("T-1", i, at)
		if i%4 == 1 {
			r.Stop = fmt.Sprint("stop-", i)
		}
		recs = append(recs, r)
	}
	putRecords(t, s, "T-1", recs)
	err := s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		for i := range 10 {
			at := t0.Add(time.Duration(i) * 24 * time.Hour)
			if _, err := tx.PutFlag(hub.Flag{ID: id(at.UnixMilli(), byte(i)), Key: gm.SM3([]byte{byte(i)}), Device: "T-1", Kind: "gap", At: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cut := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // t0 is 2026-11-27 02:00: the first 16 records are before
	rep, err := s.Retain(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 16 || rep.Flags != 4 {
		t.Fatalf("retain report %+v, want 16 records and 4 flags", rep)
	}
	if n, _ := s.CountRecords(ctx, "T-1"); n != 24 {
		t.Fatalf("%d records left, want 24", n)
	}
	if rep, err := s.Retain(ctx, cut); err != nil || rep.Records != 0 || rep.Flags != 0 {
		t.Fatalf("retain again: %+v %v", rep, err)
	}
	all, _, err := s.Records(ctx, hub.RecordQuery{Limit: 1000})
	if err != nil || len(all) != 24 || all[0].Wall.Before(cut) {
		t.Fatalf("records after retention: %d %v", len(all), err)
	}
	if p, err := s.QueryRecords(ctx, hub.RecordQuery{Stop: "stop-1"}); err != nil || len(p.Records) != 0 {
		t.Fatalf("stop of a deleted record: %d %v", len(p.Records), err)
	}
	if p, err := s.QueryRecords(ctx, hub.RecordQuery{Stop: "stop-21"}); err != nil || len(p.Records) != 1 {
		t.Fatalf("stop of a kept record: %d %v", len(p.Records), err)
	}
	rows, err := s.Counters(ctx, hub.CounterQuery{Dim: hub.DimAll, From: t0.Add(-24 * time.Hour), To: t0.Add(30 * 24 * time.Hour)})
	if err != nil || len(rows) != 1 || rows[0].Count.Total != 24 {
		t.Fatalf("counters after retention: %+v %v", rows, err)
	}
	flags, _, err := s.Flags(ctx, hub.FlagQuery{})
	if err != nil || len(flags) != 6 {
		t.Fatalf("%d flags left, want 6 (%v)", len(flags), err)
	}
	// The chain index of deleted records is gone, the rest stays.
	err = s.Ingest(ctx, "T-1", func(tx hub.IngestTx) error {
		if _, ok, err := tx.RecordAt(3); err != nil || ok {
			return fmt.Errorf("RecordAt(3) of a deleted record: %v %v", ok, err)
		}
		if got, ok, err := tx.RecordAt(30); err != nil || !ok || got != recs[29].ID {
			return fmt.Errorf("RecordAt(30): %v %v", ok, err)
		}
		// New records, old or new days, go in as before.
		if err := tx.PutRecord(record("T-1", 41, t0.Add(20*24*time.Hour))); err != nil {
			return err
		}
		return tx.PutRecord(record("T-1", 42, t0.Add(-40*24*time.Hour)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountRecords(ctx, ""); n != 26 {
		t.Fatalf("%d records, want 26", n)
	}
}
