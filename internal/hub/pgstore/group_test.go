package pgstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/pgstore"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// enroll enrols device in s (a placeholder key).
func enroll(t *testing.T, s *pgstore.Store, device string, t0 time.Time) {
	t.Helper()
	ctx := context.Background()
	h := gm.SM3([]byte("token of " + device))
	if err := s.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enroll(ctx, h, hub.Device{ID: device, PublicKey: []byte{1}, Enrolled: t0, NextSeq: 1}, t0); err != nil {
		t.Fatal(err)
	}
}

// grouped runs first's ingestion alone, and while its function waits, the
// ingestions of rest, which then form one group (one round at a time); it
// returns their errors (first's, then rest's) and fails unless exactly
// two rounds ran. first's function must wait to receive from release.
func grouped(t *testing.T, s *pgstore.Store, release chan<- struct{}, first func() error, rest ...func() error) []error {
	t.Helper()
	pgstore.SetIngestRounds(s, 1)
	errs := make([]error, 1+len(rest))
	rounds := pgstore.IngestRounds(s)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = first() }()
	for pgstore.IngestRounds(s) == rounds {
		runtime.Gosched() // until first's round has started
	}
	for i, fn := range rest {
		wg.Add(1)
		go func() { defer wg.Done(); errs[1+i] = fn() }()
	}
	for pgstore.PendingIngests(s) < len(rest) {
		runtime.Gosched() // until the others wait for the next round
	}
	release <- struct{}{}
	wg.Wait()
	if n := pgstore.IngestRounds(s) - rounds; n != 2 {
		t.Fatalf("%d rounds, want 2 (one alone, one group)", n)
	}
	return errs
}

// TestGroupCommitNeighbourFails: ingestions of several devices committed
// together; the one whose function fails (after a flag was stored for it)
// loses its writes and gets its error, the others are stored.
func TestGroupCommitNeighbourFails(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	s, _ := openEnrolled(t, "T-G0", t0)
	for _, d := range []string{"T-G1", "T-G2", "T-G3"} {
		enroll(t, s, d, t0)
	}
	boom := errors.New("boom")
	release := make(chan struct{})
	ingest := func(device string, fail bool) func() error {
		return func() error {
			return s.Ingest(ctx, device, func(tx hub.IngestTx) error {
				if _, err := tx.PutFlag(hub.Flag{ID: [16]byte{byte(len(device)), device[3]}, Device: device, Kind: wire.FlagKindGap, At: t0}); err != nil {
					return err
				}
				if err := putAt(tx, device, 1, t0.Add(time.Duration(device[3])*time.Second), "VALID"); err != nil {
					return err
				}
				if device == "T-G0" {
					<-release
				}
				if fail {
					return boom
				}
				return tx.SetChain(2, [32]byte{1}, t0)
			})
		}
	}
	errs := grouped(t, s, release, ingest("T-G0", false), ingest("T-G1", false), ingest("T-G2", true), ingest("T-G3", false))
	for i, want := range []error{nil, nil, boom, nil} {
		if !errors.Is(errs[i], want) || (want == nil && errs[i] != nil) {
			t.Errorf("ingestion %d: %v, want %v", i, errs[i], want)
		}
	}
	for _, d := range []struct {
		id           string
		records, flg int
		next         uint64
	}{{"T-G0", 1, 1, 2}, {"T-G1", 1, 1, 2}, {"T-G2", 0, 0, 1}, {"T-G3", 1, 1, 2}} {
		n, err := s.CountRecords(ctx, d.id)
		if err != nil || n != d.records {
			t.Errorf("%s: %d records (%v), want %d", d.id, n, err, d.records)
		}
		fl, _, err := s.Flags(ctx, hub.FlagQuery{Device: d.id})
		if err != nil || len(fl) != d.flg {
			t.Errorf("%s: %d flags (%v), want %d", d.id, len(fl), err, d.flg)
		}
		dev, err := s.Device(ctx, d.id)
		if err != nil || dev.NextSeq != d.next {
			t.Errorf("%s: next %d (%v), want %d", d.id, dev.NextSeq, err, d.next)
		}
	}
}

// TestGroupConflictRetriedAlone: two devices of one group store a record
// under the same id (each seeing it free): the group's commit fails, and
// each ingestion runs again alone — the second then finds the first's
// record and stores its own under another key, as it would have without
// the group.
func TestGroupConflictRetriedAlone(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	s, _ := openEnrolled(t, "T-C0", t0)
	enroll(t, s, "T-C1", t0)
	enroll(t, s, "T-C2", t0)
	id := [16]byte{0x01, 0x9a}
	alias := [16]byte{0x01, 0x9a, 0xff}
	var runs [3]atomic.Int32
	release := make(chan struct{})
	ingest := func(i int) func() error {
		device := "T-C" + string(rune('0'+i))
		return func() error {
			return s.IngestExpecting(ctx, device, [][16]byte{id}, nil, func(tx hub.IngestTx) error {
				runs[i].Add(1)
				if i == 0 {
					<-release
					return nil
				}
				key := id
				if r, found, err := tx.Record(id); err != nil {
					return err
				} else if found && r.Device != device {
					key = alias
				}
				if err := tx.PutRecord(hub.StoredRecord{ID: key, Device: device, Seq: 1, Wall: t0, Received: t0, Verdict: "VALID", Sealed: []byte{1}}); err != nil {
					return err
				}
				return tx.SetChain(2, [32]byte{1}, t0)
			})
		}
	}
	for i, err := range grouped(t, s, release, ingest(0), ingest(1), ingest(2)) {
		if err != nil {
			t.Fatalf("ingestion %d: %v", i, err)
		}
	}
	if r1, r2 := runs[1].Load(), runs[2].Load(); r1 != 2 || r2 != 2 {
		t.Errorf("functions ran %d and %d times, want 2 each (group, then alone)", r1, r2)
	}
	a, okA, errA := s.RecordByKey(ctx, id)
	b, okB, errB := s.RecordByKey(ctx, alias)
	if errA != nil || errB != nil || !okA || !okB || a.Device == b.Device || a.Device == "T-C0" || b.Device == "T-C0" {
		t.Fatalf("stored %v %+v %v, %v %+v %v", okA, a.Device, errA, okB, b.Device, errB)
	}
}

// TestNoncesAcrossReplicas: a nonce is fresh exactly once for every hub
// on the database, however many use it at once, until it expires.
func TestNoncesAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := newURL(t)
	var stores []*pgstore.Store
	for range 2 {
		s, err := pgstore.Open(ctx, url, pgstore.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		stores = append(stores, s)
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	exp := now.Add(5 * time.Minute)
	const keys, tries = 8, 6
	var fresh [keys]atomic.Int32
	var wg sync.WaitGroup
	for k := range keys {
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := stores[i%2].UseNonce(ctx, "T-N/"+string(rune('a'+k)), now, exp)
				if err != nil {
					t.Error(err)
				}
				if ok {
					fresh[k].Add(1)
				}
			}()
		}
	}
	wg.Wait()
	for k := range keys {
		if n := fresh[k].Load(); n != 1 {
			t.Errorf("nonce %d fresh %d times of %d, want once", k, n, tries)
		}
	}
	if ok, err := stores[1].UseNonce(ctx, "T-N/a", exp, exp.Add(5*time.Minute)); err != nil || ok {
		t.Errorf("nonce used again at its expiry: %v %v", ok, err)
	}
	if ok, err := stores[0].UseNonce(ctx, "T-N/a", exp.Add(time.Millisecond), exp.Add(5*time.Minute)); err != nil || !ok {
		t.Errorf("nonce after its expiry: %v %v, want fresh", ok, err)
	}
}

// TestReplayAcrossReplicas: a push captured at one hub and replayed at
// another hub on the same database is refused as a replay.
func TestReplayAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := newURL(t)
	key, pub := deviceKey(t)
	var hubs []*httptest.Server
	for i := range 2 {
		s, err := pgstore.Open(ctx, url, pgstore.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		if i == 0 {
			h := gm.SM3([]byte("token of T-R"))
			if err := s.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := s.Enroll(ctx, h, hub.Device{ID: "T-R", PublicKey: pub, Enrolled: time.Now(), NextSeq: 1}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		ts, err := trust.Open(ctx, t.TempDir(), trust.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ts.Close() })
		keys, err := hub.NewKeys(bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 16))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := hub.New(hub.Config{Store: s, Trust: ts, Keys: keys, Clock: clock.Real{}, Security: hub.Security{SharedLimits: s}})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		hubs = append(hubs, hs)
	}
	r := benchRecord("T-R", 1, [gm.SM3Size]byte{}, time.Now())
	body, _ := json.Marshal(wire.PushRequest{Records: []wire.PushRecord{signRecord(t, key, r)}})
	req, _ := http.NewRequest(http.MethodPost, hubs[0].URL+"/v1/records", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := wire.Sign(req, body, "T-R", time.Now(), func(m []byte) ([]byte, error) { return key.Sign(rand.Reader, m) }); err != nil {
		t.Fatal(err)
	}
	send := func(h *httptest.Server) (int, wire.Error) {
		t.Helper()
		again, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/records", bytes.NewReader(body))
		again.Header = req.Header.Clone()
		resp, err := http.DefaultClient.Do(again)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e wire.Error
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	if code, e := send(hubs[0]); code != http.StatusOK {
		t.Fatalf("push: %d %+v", code, e)
	}
	if code, e := send(hubs[1]); code != http.StatusUnauthorized || e.Code != wire.CodeReplay {
		t.Fatalf("replay at the other replica: %d %+v, want 401 %s", code, e, wire.CodeReplay)
	}
}

// TestLookAtWindow: a charge of 0 (a look at a budget) answers as the
// memory store does — within the quota, or refused once charges after the
// fact put the window over it.
func TestLookAtWindow(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		name      string
		n, max    int
		wantOK    bool
		wantTotal int
	}{
		{name: "look at an empty window", n: 0, max: 10, wantOK: true, wantTotal: 0},
		{name: "charge", n: 10, max: 10, wantOK: true, wantTotal: 10},
		{name: "look at a full window", n: 0, max: 10, wantOK: true, wantTotal: 10},
		{name: "charge after the fact", n: 5, max: 1 << 30, wantOK: true, wantTotal: 15},
		{name: "look at a window over its quota", n: 0, max: 10, wantOK: false, wantTotal: 15},
	}
	for name, s := range map[string]limit.Store{"memory": limit.NewMemoryStore(), "postgres": open(t)} {
		t.Run(name, func(t *testing.T) {
			for _, st := range steps {
				ok, total, err := takeOne(ctx, s, "flags/T-L", t0, st.n, st.max)
				if err != nil || ok != st.wantOK || total != st.wantTotal {
					t.Fatalf("%s: ok %v total %d err %v; want %v %d", st.name, ok, total, err, st.wantOK, st.wantTotal)
				}
			}
			if ok, total, err := takeOne(ctx, s, "flags/T-L0", t0, 0, 10); err != nil || !ok || total != 0 {
				t.Fatalf("look at an unknown window: %v %d %v", ok, total, err)
			}
		})
	}
}

func takeOne(ctx context.Context, s limit.Store, key string, start time.Time, n, max int) (bool, int, error) {
	taken, err := s.TakeWindows(ctx, []limit.Take{{Key: key, Start: start, N: n, Max: max}})
	if err != nil || len(taken) != 1 {
		return false, 0, fmt.Errorf("%d outcomes: %w", len(taken), err)
	}
	return taken[0].OK, taken[0].Total, nil
}

// TestLookupAfterPartitionDropped: a hub's ingestion looks its records up
// in the day partitions it has listed; one dropped since by another hub's
// retention is listed again, and the ingestion goes through — alone and
// in a group.
func TestLookupAfterPartitionDropped(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) // a day with a partition
	a, url := openEnrolled(t, "T-P0", day)
	enroll(t, a, "T-P1", day)
	b, err := pgstore.Open(ctx, url, pgstore.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	idAt := func(at time.Time, seq uint64) (id [16]byte) {
		binary.BigEndian.PutUint64(id[:8], uint64(at.UnixMilli())<<16)
		id[15] = byte(seq)
		return id
	}
	put := func(device string, seq uint64) func() error {
		return func() error {
			at := day.Add(time.Duration(seq) * time.Hour)
			id := idAt(at, seq)
			return a.IngestExpecting(ctx, device, [][16]byte{id}, nil, func(tx hub.IngestTx) error {
				if _, found, err := tx.Record(id); err != nil || found {
					return fmt.Errorf("record %x found %v: %v", id, found, err)
				}
				if err := putAt(tx, device, seq, at, "VALID"); err != nil {
					return err
				}
				return tx.SetChain(seq+1, [32]byte{byte(seq)}, at)
			})
		}
	}
	if err := put("T-P0", 1)(); err != nil { // lists the partitions
		t.Fatal(err)
	}
	if rep, err := b.Retain(ctx, day.AddDate(0, 0, 1)); err != nil || rep.Partitions == 0 {
		t.Fatalf("retention at the other hub: %+v %v", rep, err)
	}
	if err := put("T-P0", 2)(); err != nil {
		t.Fatalf("alone, after the drop: %v", err)
	}
	if _, err := b.Retain(ctx, day.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if n, err := a.EnsurePartitions(ctx, day, day); err != nil || n != 1 {
		t.Fatalf("partition made again: %d %v", n, err)
	}
	look := a.IngestExpecting(ctx, "T-P1", [][16]byte{idAt(day, 99)}, nil, func(hub.IngestTx) error { return nil })
	if look != nil { // listed again, with the day's partition
		t.Fatal(look)
	}
	if rep, err := b.Retain(ctx, day.AddDate(0, 0, 1)); err != nil || rep.Partitions == 0 {
		t.Fatalf("retention at the other hub: %+v %v", rep, err)
	}
	release := make(chan struct{})
	first := func() error {
		return a.Ingest(ctx, "T-P0", func(tx hub.IngestTx) error { <-release; return nil })
	}
	for i, err := range grouped(t, a, release, first, put("T-P0", 3), put("T-P1", 1)) {
		if i > 0 && err != nil {
			t.Fatalf("in a group, after the drop: %v", err)
		}
	}
	for device, want := range map[string]int{"T-P0": 1, "T-P1": 1} {
		if n, err := a.CountRecords(ctx, device); err != nil || n != want {
			t.Errorf("%s: %d records (%v), want %d", device, n, err, want)
		}
	}
}

// TestAdmit: a push's admission uses its nonce and takes its charges in one
// statement: a replayed nonce charges nothing, one nonce raced by eight
// admissions is fresh for exactly one, and an expired nonce is fresh
// again.
func TestAdmit(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	req := []limit.Take{{Key: "requests/T-A", Start: t0, N: 1, Max: 5}}
	exp := t0.Add(5 * time.Minute)
	if fresh, taken, err := s.Admit(ctx, "T-A/n1", t0, exp, req); err != nil || !fresh || len(taken) != 1 || taken[0] != (limit.Taken{OK: true, Total: 1}) {
		t.Fatalf("first: %v %v %v", fresh, taken, err)
	}
	if fresh, taken, err := s.Admit(ctx, "T-A/n1", t0.Add(time.Second), exp, req); err != nil || fresh || taken != nil {
		t.Fatalf("replay: %v %v %v", fresh, taken, err)
	}
	if ok, total, err := takeOne(ctx, s, "requests/T-A", t0, 0, 5); err != nil || !ok || total != 1 {
		t.Fatalf("after the replay: %v %d %v, want the one charge", ok, total, err)
	}
	var wg sync.WaitGroup
	var freshes atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fresh, _, err := s.Admit(ctx, "T-A/n2", t0, exp, []limit.Take{{Key: "records/T-A", Start: t0, N: 1, Max: 100}})
			if err != nil {
				t.Error(err)
			}
			if fresh {
				freshes.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok, total, err := takeOne(ctx, s, "records/T-A", t0, 0, 100); freshes.Load() != 1 || err != nil || !ok || total != 1 {
		t.Fatalf("raced nonce: %d fresh, records %d (%v)", freshes.Load(), total, err)
	}
	if fresh, taken, err := s.Admit(ctx, "T-A/n1", exp.Add(time.Second), exp.Add(time.Hour), req); err != nil || !fresh || taken[0].Total != 2 {
		t.Fatalf("expired nonce: %v %v %v", fresh, taken, err)
	}
}

// TestAdmitRaced: another hub charges a window between the snapshot an
// admission's statement reads and its write of that window: the
// admission's take of it is refused on the row as written, and a later
// take the statement charged meanwhile is given back — the takes still
// stop at the first refused.
func TestAdmitRaced(t *testing.T) {
	ctx := context.Background()
	url := newURL(t)
	s, err := pgstore.Open(ctx, url, pgstore.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	req := limit.Take{Key: "requests/T-R", Start: t0, N: 1, Max: 5}
	recs := limit.Take{Key: "records/T-R", Start: t0, N: 3, Max: 50}
	if ok, total, err := takeOne(ctx, s, req.Key, t0, 4, 5); err != nil || !ok || total != 4 {
		t.Fatalf("setup: %v %d %v", ok, total, err)
	}
	// The other hub: its charge of the request window, not yet committed.
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, "UPDATE rate_windows SET total = total + 1 WHERE key = $1", req.Key); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		fresh bool
		taken []limit.Taken
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		fresh, taken, err := s.Admit(ctx, "T-R/n1", t0, t0.Add(5*time.Minute), []limit.Take{req, recs})
		done <- outcome{fresh, taken, err}
	}()
	// Once the admission waits for the request window's row lock (it has
	// read its snapshot, and written the records window, first in key
	// order), the other hub commits.
	for waiting := 0; waiting == 0; {
		if err := other.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	o := <-done
	if o.err != nil || !o.fresh || len(o.taken) != 2 || o.taken[0].OK || o.taken[1] != (limit.Taken{}) {
		t.Fatalf("raced admission: %+v", o)
	}
	if ok, total, err := takeOne(ctx, s, recs.Key, t0, 0, 50); err != nil || !ok || total != 0 {
		t.Fatalf("records window after the give-back: %d (%v), want 0", total, err)
	}
	if ok, total, err := takeOne(ctx, s, req.Key, t0, 0, 5); err != nil || !ok || total != 5 {
		t.Fatalf("request window: %d (%v), want the other hub's 5", total, err)
	}
}
