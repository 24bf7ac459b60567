package ui

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	hexenc "encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/ui/terminal"
)

// closingStore is the unlocked store handed to the GUI; it counts Close and
// ends the officer's session, as app/roadcheck's does.
type closingStore struct {
	*records.Store
	closed *int
	end    func()
}

func (c closingStore) Close() error { *c.closed++; c.end(); return nil }

// writeOfficersFile writes the officer directory file of an earlier
// version (officers.json) with PBKDF2-HMAC-SM3 hashes of iter iterations.
func writeOfficersFile(t *testing.T, path string, iter int, accounts ...Account) {
	t.Helper()
	f := officerFile{Version: 1}
	for _, a := range accounts {
		salt := make([]byte, 16)
		rand.Read(salt)
		h, err := pbkdf2.Key(gm.NewSM3, a.PIN, salt, iter, 32)
		if err != nil {
			t.Fatal(err)
		}
		f.Officers = append(f.Officers, officerEntry{ID: a.Officer.ID, Name: a.Officer.Name, Role: a.Officer.Role.String(),
			KDF: officerKDF, Iterations: iter, Salt: hexenc.EncodeToString(salt), Hash: hexenc.EncodeToString(h)})
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The officer's PIN unlocks the device data key through the terminal's key
// vault. A terminal of an earlier version (data key under the key file,
// officers in officers.json) is migrated: the file is imported once and
// deleted, each officer moves to a sealed slot at their first sign-in,
// and once all have, the key file is gone and rcctl's old way in (the key
// file) no longer opens anything. Lock forgets the store and the session;
// a supervisor adds an officer who can then unlock.
func TestPINUnlocksRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e0 := newEnv(t) // for its fake clock only
	tm, err := terminal.Open(ctx, terminal.Options{Dir: dir, Clock: e0.clk, NoSync: true, Device: "none", Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tm.Close() })
	dbPath := filepath.Join(dir, terminal.DBFile)
	keyPath := records.KeyFilePath(dbPath)
	// A terminal from before the vault: the key file wraps the data key,
	// the officers are in officers.json.
	if _, err := records.Open(ctx, tm.DB, records.KeyFile(keyPath), records.Options{Clock: e0.clk}); err != nil {
		t.Fatal(err)
	}
	officersPath := filepath.Join(dir, OfficersFile)
	writeOfficersFile(t, officersPath, 1000,
		Account{Officer: Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, PIN: "900190"},
		Account{Officer: Officer{ID: "1001", Name: "李明", Role: RoleInspector}, PIN: "100110"},
		Account{Officer: Officer{ID: "4004", Name: "张三", Role: RoleSupervisor}, PIN: "400440"},
	)
	// A hand-edited entry: 1 iteration (below the floor): not imported.
	data, _ := os.ReadFile(officersPath)
	data = []byte(strings.Replace(string(data), `"id":"4004","name":"张三","role":"supervisor","kdf":"pbkdf2-hmac-sm3","iterations":1000`,
		`"id":"4004","name":"张三","role":"supervisor","kdf":"pbkdf2-hmac-sm3","iterations":1`, 1))
	if err := os.WriteFile(officersPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dirx := NewOfficerDirectory(tm.Vault, e0.clk)
	n, skipped, err := dirx.ImportOfficersFile(ctx, officersPath)
	if err != nil || n != 2 || len(skipped) != 1 || skipped[0].ID != "4004" {
		t.Fatalf("import: %d %+v %v", n, skipped, err)
	}
	if _, err := os.Stat(officersPath); !os.IsNotExist(err) {
		t.Fatalf("officers.json left after the import: %v", err)
	}
	closed := 0
	e := newEnv(t, func(d *Deps) {
		d.Records, d.Demo, d.Officers, d.OfficerKeys = nil, false, dirx, SealedSlots{}
		d.OpenRecords = func(ctx context.Context, id, pin string) (RecordStore, error) {
			s, ok := dirx.Session(id)
			if !ok {
				t.Fatalf("OpenRecords for %s without a session", id)
			}
			st, err := tm.OpenRecords(ctx, s.Keyring())
			if err != nil {
				return nil, err
			}
			return closingStore{Store: st, closed: &closed, end: func() { dirx.EndSession(s) }}, nil
		}
	})
	slots := func() string {
		d, err := records.PeekDevice(ctx, tm.DB)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(d.Slots, " ")
	}
	keyFileExists := func() bool { _, err := os.Stat(keyPath); return err == nil }

	steps := []struct {
		name, id, pin  string
		unlocked       bool
		slots          string
		keyFile        bool
		record, lockAt bool
	}{
		{name: "wrong PIN", id: "1001", pin: "100111", slots: "keyfile", keyFile: true},
		{name: "not imported", id: "4004", pin: "400440", slots: "keyfile", keyFile: true},
		{name: "inspector migrates", id: "1001", pin: "100110", unlocked: true, slots: "keyfile", keyFile: true, record: true, lockAt: true},
		{name: "inspector again", id: "1001", pin: "100110", unlocked: true, slots: "keyfile", keyFile: true, lockAt: true},
		{name: "supervisor: every officer is sealed", id: "9001", pin: "900190", unlocked: true},
	}
	for _, s := range steps {
		if e.app.officer != nil {
			e.app.signOut()
		}
		e.signIn(t, s.id, s.pin)
		if got := e.app.records != nil; got != s.unlocked {
			t.Fatalf("%s: unlocked = %v, want %v", s.name, got, s.unlocked)
		}
		if got := slots(); got != s.slots {
			t.Errorf("%s: slots %q, want %q", s.name, got, s.slots)
		}
		if got := keyFileExists(); got != s.keyFile {
			t.Errorf("%s: key file exists = %v, want %v", s.name, got, s.keyFile)
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
			if _, ok := dirx.Session(s.id); ok {
				t.Errorf("%s: the session outlives the lock", s.name)
			}
			if err := e.app.record(records.ActionRelease, ""); e.app.check != nil && !errors.Is(err, ErrLocked) {
				t.Errorf("%s: record while locked: %v", s.name, err)
			}
		}
	}
	if got := e.app.status.pending.Text; got != "待上传 1 条" {
		t.Errorf("status pending = %q", got)
	}
	// What rcctl of an earlier version did: open with the key file.
	if _, err := records.Open(ctx, tm.DB, records.KeyFile(keyPath), records.Options{}); !errors.Is(err, records.ErrWrongKey) {
		t.Errorf("the key file still opens the records: %v", err)
	}
	if a, err := tm.Audit(ctx); err != nil || a == nil || !a.OK() || a.Records != 1 {
		t.Errorf("audit at sign-in: %+v %v", a, err)
	}

	// The supervisor (signed in) adds an officer (roadcheck --add-officer
	// reads the lines; the signed-in session authorises it here).
	adds := []struct {
		name, id, input string
		wantErr         error
	}{
		{name: "PINs differ", id: "2001", input: "200120\n200121\n", wantErr: ErrPINMismatch},
		{name: "weak PIN", id: "2001", input: "2001\n2001\n", wantErr: ErrWeakPIN},
		{name: "supervisor adds station officer", id: "2001", input: "200120\n200120\n"},
	}
	for _, a := range adds {
		err := AddOfficerFromInput(ctx, dirx, a.id, "王芳", "station", strings.NewReader(a.input), nil)
		if !errors.Is(err, a.wantErr) {
			t.Fatalf("%s: err = %v, want %v", a.name, err, a.wantErr)
		}
	}
	e.app.signOut()
	if e.app.records != nil {
		t.Fatal("records kept after sign-out")
	}
	if err := dirx.Add(ctx, Officer{ID: "2002", Name: "赵敏", Role: RoleInspector}, "200220"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("add after sign-out: %v", err)
	}
	// --add-officer without a signed-in supervisor: the supervisor's lines first.
	for _, a := range []struct {
		name, input string
		wantErr     error
	}{
		{name: "inspector is not a supervisor", input: "1001\n100110\n200220\n200220\n", wantErr: ErrNeedSupervisor},
		{name: "wrong supervisor PIN", input: "9001\n900191\n200220\n200220\n", wantErr: ErrSignIn},
		{name: "no supervisor lines", input: "", wantErr: ErrNeedSupervisor},
		{name: "supervisor adds inspector", input: "9001\n900190\n200220\n200220\n"},
	} {
		dirx.SignOut()
		if err := AddOfficerFromInput(ctx, dirx, "2002", "赵敏", "inspector", strings.NewReader(a.input), nil); !errors.Is(err, a.wantErr) {
			t.Fatalf("%s: err = %v, want %v", a.name, err, a.wantErr)
		}
	}
	e.app.refreshStatus()
	for id, pin := range map[string]string{"2001": "200120", "2002": "200220"} {
		e.signIn(t, id, pin)
		if e.app.records == nil {
			t.Fatalf("the added officer %s cannot unlock the records", id)
		}
		if n, err := e.app.records.PendingCount(ctx); err != nil || n != 1 {
			t.Errorf("added officer %s: pending = %d, %v", id, n, err)
		}
		e.app.signOut()
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

// Demo mode keeps the lock-out: five wrong PINs lock a demo officer out,
// also with the right PIN, until PINLockout has passed.
func TestDemoSignInLockout(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := NewStaticOfficers(DemoAccounts()...).WithClock(e.clk)
	for i := 1; i <= MaxPINAttempts; i++ {
		_, err := s.SignIn(ctx, "9001", "0000")
		if i < MaxPINAttempts && !errors.Is(err, ErrSignIn) || i == MaxPINAttempts && !errors.Is(err, ErrLockedOut) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	var ue *UserError
	if _, err := s.SignIn(ctx, "9001", "9999"); !errors.Is(err, ErrLockedOut) || !errors.As(err, &ue) || ue.Args[0] != "10:15" {
		t.Fatalf("right PIN while locked out: %v", err)
	}
	if _, err := s.SignIn(ctx, "1001", "1234"); err != nil {
		t.Fatalf("another officer: %v", err)
	}
	e.clk.Advance(PINLockout)
	if o, err := s.SignIn(ctx, "9001", "9999"); err != nil || o.Role != RoleSupervisor {
		t.Fatalf("after the lock-out: %+v %v", o, err)
	}
}

// KeyStatus reaches the GUI through the directory: without a TPM it says
// what remains exposed.
func TestOfficerDirectoryKeyStatus(t *testing.T) {
	d, err := OpenOfficerDirectory(filepath.Join(t.TempDir(), "officers.db"), nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if ks := d.KeyStatus(); ks.Bound || ks.Kind != keys.KindFile || ks.Warning != keys.NoTPMWarning {
		t.Fatalf("key status: %+v", ks)
	}
}
