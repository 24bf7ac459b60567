package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/ui/terminal"
)

// closingStore is the unlocked store handed to the GUI; it counts Close.
type closingStore struct {
	*records.Store
	closed *int
}

func (c closingStore) Close() error { *c.closed++; return nil }

// The officer's PIN unlocks the device data key: a terminal set up with a
// key file (and an officer directory) migrates to per-officer PIN slots,
// lock forgets the store, a supervisor adds an officer who can then unlock,
// and the key file is gone once every officer has a slot.
func TestPINUnlocksRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e0 := newEnv(t) // for its fake clock only
	tm, err := terminal.Open(ctx, terminal.Options{Dir: dir, Clock: e0.clk, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	dbPath := filepath.Join(dir, terminal.DBFile)
	keyPath := records.KeyFilePath(dbPath)
	// A terminal from before PIN slots: the key file wraps the data key.
	if _, err := records.Open(ctx, tm.DB, records.KeyFile(keyPath), records.Options{Clock: e0.clk}); err != nil {
		t.Fatal(err)
	}
	dirx, err := OpenOfficerDirectory(filepath.Join(dir, OfficersFile), e0.clk, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range []Account{
		{Officer: Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, PIN: "900190"},
		{Officer: Officer{ID: "1001", Name: "李明", Role: RoleInspector}, PIN: "100110"},
	} {
		if err := dirx.Add(ctx, acc.Officer, acc.PIN); err != nil {
			t.Fatal(err)
		}
	}
	ids := func() []string {
		var out []string
		for _, o := range dirx.List() {
			out = append(out, o.ID)
		}
		return out
	}
	closed := 0
	e := newEnv(t, func(d *Deps) {
		d.Records, d.Demo, d.Officers = nil, false, dirx
		d.OpenRecords = func(ctx context.Context, id, pin string) (RecordStore, error) {
			st, err := tm.Unlock(ctx, id, pin, ids())
			if err != nil {
				return nil, err
			}
			return closingStore{Store: st, closed: &closed}, nil
		}
	})
	slots := func() []string {
		d, err := records.PeekDevice(ctx, tm.DB)
		if err != nil {
			t.Fatal(err)
		}
		return d.Slots
	}
	keyFileExists := func() bool { _, err := os.Stat(keyPath); return err == nil }

	steps := []struct {
		name, id, pin  string
		unlocked       bool
		slots          string
		keyFile        bool
		rcctlOpens     bool
		record, lockAt bool
	}{
		{name: "wrong PIN", id: "1001", pin: "100111", slots: "keyfile", keyFile: true, rcctlOpens: true},
		{name: "inspector migrates", id: "1001", pin: "100110", unlocked: true, slots: "keyfile officer/1001", keyFile: true, rcctlOpens: true, record: true, lockAt: true},
		{name: "inspector again", id: "1001", pin: "100110", unlocked: true, slots: "keyfile officer/1001", keyFile: true, rcctlOpens: true, lockAt: true},
		{name: "supervisor: every officer has a slot", id: "9001", pin: "900190", unlocked: true, slots: "officer/1001 officer/9001"},
	}
	for _, s := range steps {
		if e.app.officer != nil {
			e.app.signOut()
		}
		e.signIn(t, s.id, s.pin)
		if got := e.app.records != nil; got != s.unlocked {
			t.Fatalf("%s: unlocked = %v, want %v", s.name, got, s.unlocked)
		}
		if got := strings.Join(slots(), " "); got != s.slots {
			t.Errorf("%s: slots %q, want %q", s.name, got, s.slots)
		}
		if got := keyFileExists(); got != s.keyFile {
			t.Errorf("%s: key file exists = %v, want %v", s.name, got, s.keyFile)
		}
		// What rcctl does: open with the key file.
		_, err := records.Open(ctx, tm.DB, records.KeyFile(keyPath), records.Options{})
		if got := err == nil; got != s.rcctlOpens {
			t.Errorf("%s: key file opens = %v (%v), want %v", s.name, got, err, s.rcctlOpens)
		}
		if s.record {
			e.tapSample(t, "valid-permit")
			test.Tap(e.app.check.shown.actions[records.ActionRelease])
			if n, err := e.app.records.PendingCount(ctx); err != nil || n != 1 {
				t.Fatalf("%s: pending = %d, %v", s.name, n, err)
			}
		}
		if s.lockAt {
			before := closed
			e.app.lock()
			if e.app.records != nil || closed != before+1 {
				t.Errorf("%s: after lock records %v, closed %d times", s.name, e.app.records, closed-before)
			}
			if err := e.app.record(records.ActionRelease, ""); e.app.check != nil && !errors.Is(err, ErrLocked) {
				t.Errorf("%s: record while locked: %v", s.name, err)
			}
		}
	}
	if got := e.app.status.pending.Text; got != "待上传 1 条" {
		t.Errorf("status pending = %q", got)
	}

	// The supervisor adds an officer (roadcheck --add-officer): their PIN
	// unlocks the store, the new officer gets a slot.
	unlock := func(ctx context.Context, supID, supPIN string) (func(context.Context, string, string) error, error) {
		st, err := tm.Unlock(ctx, supID, supPIN, ids())
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, id, pin string) error { return terminal.AddOfficerKey(ctx, st, id, pin) }, nil
	}
	adds := []struct {
		name, id, input string
		wantErr         error
	}{
		{name: "inspector is not a supervisor", id: "2001", input: "1001\n100110\n200120\n200120\n", wantErr: ErrNeedSupervisor},
		{name: "wrong supervisor PIN", id: "2001", input: "9001\n900191\n200120\n200120\n", wantErr: ErrSignIn},
		{name: "no supervisor lines", id: "2001", input: "", wantErr: ErrNeedSupervisor},
		{name: "supervisor adds station officer", id: "2001", input: "9001\n900190\n200120\n200120\n"},
	}
	for _, a := range adds {
		err := AddOfficerFromInput(ctx, dirx, a.id, "王芳", "station", strings.NewReader(a.input), unlock)
		if !errors.Is(err, a.wantErr) {
			t.Fatalf("%s: err = %v, want %v", a.name, err, a.wantErr)
		}
	}
	e.app.signOut()
	if e.app.records != nil {
		t.Fatal("records kept after sign-out")
	}
	e.app.refreshStatus()
	e.signIn(t, "2001", "200120")
	if e.app.records == nil {
		t.Fatal("the added officer cannot unlock the records")
	}
	if n, err := e.app.records.PendingCount(ctx); err != nil || n != 1 {
		t.Errorf("added officer: pending = %d, %v", n, err)
	}
}

// Before any sign-in the GUI has no record store: pending shows "—".
func TestPendingLockedShowsDash(t *testing.T) {
	e := newEnv(t)
	st := gatherStatus(context.Background(), e.app.deps, nil, e.app.set.Policy)
	if !st.PendingLocked {
		t.Fatal("PendingLocked not set without a record store")
	}
	e.signIn(t, "1001", "1234")
	e.app.status.update(e.app.cat, st)
	if got := e.app.status.pending.Text; got != "待上传：—" {
		t.Errorf("pending = %q", got)
	}
}
