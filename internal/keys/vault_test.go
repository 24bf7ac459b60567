package keys

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/keys/keystest"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

var update = flag.Bool("update", false, "rewrite testdata seeds")

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func openDB(t testing.TB, path string) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openVault(t testing.TB, db *storage.DB, dev Device, clk clock.Clock) *Vault {
	t.Helper()
	v, err := OpenVault(context.Background(), db, dev, VaultOptions{Clock: clk, Iterations: 2})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func devices(t *testing.T) map[string]func(dir string) Device {
	spec := keystest.SWTPM(t)
	return map[string]func(string) Device{
		"tpm": func(string) Device {
			p, err := OpenTPM(spec)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			return p
		},
		"file": func(dir string) Device { return FileDevice(filepath.Join(dir, "terminal.db.device")) },
	}
}

func TestVaultLifecycle(t *testing.T) {
	ctx := context.Background()
	for name, mk := range devices(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			clk := clock.NewFake(t0)
			db := openDB(t, filepath.Join(dir, "terminal.db"))
			v := openVault(t, db, mk(dir), clk)
			if st := v.Status(); st.Bound != (name == "tpm") || (st.Warning == "") != st.Bound {
				t.Errorf("status %+v", st)
			}
			if _, err := v.Provision(ctx, Officer{ID: "1001", Name: "李明", Role: RoleInspector}, "246810", nil); !errors.Is(err, ErrOfficer) {
				t.Errorf("first officer not a supervisor: %v", err)
			}
			sup, err := v.Provision(ctx, Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, "246810", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				o    Officer
				pin  string
				want error
			}{
				{Officer{ID: "1001", Name: "李明", Role: RoleInspector}, "1234", ErrWeakPIN},
				{Officer{ID: "1001", Name: "李明", Role: RoleInspector}, "12345a", ErrWeakPIN},
				{Officer{ID: "10 1", Name: "李明", Role: RoleInspector}, "123456", ErrOfficer},
				{Officer{ID: "1001\x1b[31m", Name: "李明", Role: RoleInspector}, "123456", ErrOfficer},
				{Officer{ID: "1001", Name: "", Role: RoleInspector}, "123456", ErrOfficer},
				{Officer{ID: "1001", Name: "李明", Role: RoleInspector}, "135790", nil},
				{Officer{ID: "1001", Name: "李明", Role: RoleInspector}, "135790", ErrOfficer},
			} {
				if err := sup.AddOfficer(ctx, tt.o, tt.pin); !errors.Is(err, tt.want) {
					t.Errorf("AddOfficer(%+v, %q) = %v, want %v", tt.o, tt.pin, err, tt.want)
				}
			}
			insp, err := v.SignIn(ctx, "1001", "135790")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(insp.Keyring().PublicDER(), sup.Keyring().PublicDER()) || insp.Officer.Role != RoleInspector {
				t.Fatal("inspector unlocked another keyring")
			}
			if err := insp.AddOfficer(ctx, Officer{ID: "1002", Name: "x", Role: RoleInspector}, "123456"); !errors.Is(err, ErrNotSupervisor) {
				t.Errorf("inspector adds: %v", err)
			}
			// Wrong PINs lock the officer out, also after reopening.
			for i := 1; i <= MaxPINAttempts; i++ {
				_, err := v.SignIn(ctx, "1001", "000000")
				if i < MaxPINAttempts && !errors.Is(err, ErrSignIn) || i == MaxPINAttempts && !errors.Is(err, ErrLockedOut) {
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			v = openVault(t, db, mk(dir), clk)
			var lo *LockedOutError
			if _, err := v.SignIn(ctx, "1001", "135790"); !errors.As(err, &lo) || !lo.Until.Equal(t0.Add(Lockout)) {
				t.Fatalf("after reopen: %v", err)
			}
			if _, err := v.SignIn(ctx, "4242", "135790"); !errors.Is(err, ErrSignIn) {
				t.Errorf("unknown ID: %v", err)
			}
			// A supervisor clears the lock-out; forgotten PIN: re-wrapped.
			sup, err = v.SignIn(ctx, "9001", "246810")
			if err != nil {
				t.Fatal(err)
			}
			if err := sup.ResetPIN(ctx, "1001", "112233"); err != nil {
				t.Fatal(err)
			}
			if _, err := v.SignIn(ctx, "1001", "135790"); !errors.Is(err, ErrSignIn) {
				t.Errorf("old PIN after reset: %v", err)
			}
			if _, err := v.SignIn(ctx, "1001", "112233"); err != nil {
				t.Errorf("new PIN after reset: %v", err)
			}
			if err := sup.SetRole(ctx, "9001", RoleInspector); !errors.Is(err, ErrOfficer) {
				t.Errorf("demoting the last supervisor: %v", err)
			}
			if err := sup.SetRole(ctx, "1001", RoleStation); err != nil {
				t.Fatal(err)
			}
			if s, err := v.SignIn(ctx, "1001", "112233"); err != nil || s.Officer.Role != RoleStation {
				t.Errorf("after SetRole: %+v, %v", s, err)
			}
			if err := sup.Remove(ctx, "1001"); err != nil {
				t.Fatal(err)
			}
			if _, err := v.SignIn(ctx, "1001", "112233"); !errors.Is(err, ErrSignIn) {
				t.Errorf("removed officer: %v", err)
			}
		})
	}
}

// The TPM counts wrong PINs itself: even with the directory's own count
// reset (a restored copy), the TPM refuses after its limit.
func TestTPMCountsWrongPINs(t *testing.T) {
	ctx := context.Background()
	spec := keystest.SWTPM(t)
	p, err := OpenTPM(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "terminal.db"))
	clk := clock.NewFake(t0)
	v := openVault(t, db, p, clk)
	if _, err := v.Provision(ctx, Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, "246810", nil); err != nil {
		t.Fatal(err)
	}
	maxTries, interval, err := p.DAParameters()
	if err != nil || maxTries != DAMaxTries || interval != DARecoverySeconds {
		t.Fatalf("DA parameters %d/%d, %v", maxTries, interval, err)
	}
	saved := dirBytes(t, db)
	tries := 0
	for ; tries < 3*DAMaxTries; tries++ {
		putDir(t, db, saved) // the attacker resets the directory's count each time
		v = openVault(t, db, p, clk)
		_, err := v.SignIn(ctx, "9001", "000000")
		if errors.Is(err, ErrDeviceLockout) {
			break
		}
		if !errors.Is(err, ErrSignIn) {
			t.Fatalf("try %d: %v", tries, err)
		}
	}
	if tries != DAMaxTries {
		t.Fatalf("TPM locked after %d wrong PINs, want %d", tries, DAMaxTries)
	}
	putDir(t, db, saved)
	v = openVault(t, db, p, clk)
	if _, err := v.SignIn(ctx, "9001", "246810"); !errors.Is(err, ErrDeviceLockout) {
		t.Fatalf("right PIN while the TPM is locked out: %v", err)
	}
}

func dirBytes(t *testing.T, db *storage.DB) []byte {
	var out []byte
	if err := db.View(func(tx *bolt.Tx) error {
		out = bytes.Clone(tx.Bucket(storage.BucketKeys).Get(keyDirectory))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func putDir(t *testing.T, db *storage.DB, v []byte) {
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(storage.BucketKeys).Put(keyDirectory, v) }); err != nil {
		t.Fatal(err)
	}
}

// Hand-editing the directory is refused: a role, a lock-out, a weak
// entry. Even re-MACing it (someone who unsealed the device key) cannot
// change a role: the role MAC needs the data key.
func TestEditedDirectoryRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	db := openDB(t, filepath.Join(dir, "terminal.db"))
	dev := FileDevice(filepath.Join(dir, "terminal.db.device"))
	v := openVault(t, db, dev, clk)
	sup, err := v.Provision(ctx, Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, "246810", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.AddOfficer(ctx, Officer{ID: "1001", Name: "李明", Role: RoleInspector}, "135790"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.SignIn(ctx, "9001", "000000"); !errors.Is(err, ErrSignIn) {
		t.Fatal(err)
	}
	good := dirBytes(t, db)
	if *update {
		var env envelope
		if err := cbor.Unmarshal(good, &env); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join("testdata", "directory-two.cbor"), env.Body, 0o644)
	}
	edit := func(fn func(d *directory), remac bool) []byte {
		var env envelope
		if err := cbor.Unmarshal(good, &env); err != nil {
			t.Fatal(err)
		}
		d, err := parseDirectory(env.Body, 2)
		if err != nil {
			t.Fatal(err)
		}
		fn(&d)
		body, _ := cbor.Marshal(&d)
		mac := env.MAC
		if remac {
			mac = v.mac(body)
		}
		out, _ := cbor.Marshal(&envelope{Body: body, MAC: mac})
		return out
	}
	for _, tt := range []struct {
		name  string
		data  []byte
		open  error // from OpenVault
		login error // from SignIn of 1001
	}{
		{name: "untouched", data: good},
		{name: "inspector made supervisor", data: edit(func(d *directory) { d.Officers[1].Role = RoleSupervisor }, false), open: ErrDirectory},
		{name: "failure count cleared", data: edit(func(d *directory) { d.Officers[0].Failures = 0 }, false), open: ErrDirectory},
		{name: "1-iteration hash", data: edit(func(d *directory) { d.Officers[1].Iter = 1 }, true), open: ErrDirectory},
		{name: "4-digit PIN", data: edit(func(d *directory) { d.Officers[1].PINLen = 4 }, true), open: ErrDirectory},
		{name: "re-MACed role change", data: edit(func(d *directory) { d.Officers[1].Role = RoleSupervisor }, true), login: ErrDirectory},
		{name: "garbage", data: []byte{0xa1, 0x01}, open: ErrDirectory},
	} {
		t.Run(tt.name, func(t *testing.T) {
			putDir(t, db, tt.data)
			v, err := OpenVault(ctx, db, dev, VaultOptions{Clock: clk, Iterations: 2})
			if !errors.Is(err, tt.open) {
				t.Fatalf("OpenVault: %v, want %v", err, tt.open)
			}
			if err != nil {
				return
			}
			if _, err := v.SignIn(ctx, "1001", "135790"); !errors.Is(err, tt.login) {
				t.Fatalf("SignIn: %v, want %v", err, tt.login)
			}
		})
	}
	// Production floor: entries made with 2 iterations are refused.
	putDir(t, db, good)
	if _, err := OpenVault(ctx, db, dev, VaultOptions{Clock: clk}); !errors.Is(err, ErrDirectory) {
		t.Errorf("2-iteration entries with the production floor: %v", err)
	}
}

// A copy of terminal.db and all its key material in a fresh directory
// cannot be opened by searching PINs without the TPM: the officer seals
// load only in the TPM that made them.
func TestCopyCannotBeOpenedWithoutTheTPM(t *testing.T) {
	ctx := context.Background()
	spec := keystest.SWTPM(t)
	p, err := OpenTPM(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "terminal.db")
	db := openDB(t, path)
	v := openVault(t, db, p, clock.NewFake(t0))
	if _, err := v.Provision(ctx, Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, "000042", nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fresh := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(dir, "terminal.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(fresh, filepath.Base(f)), b, 0o600)
	}
	if !bytes.Contains(data, []byte("9001")) {
		t.Fatal("copy holds no directory")
	}
	copyDB := openDB(t, filepath.Join(fresh, "terminal.db"))
	// Without a TPM: the file device is refused, the seal is the TPM's.
	if _, err := OpenVault(ctx, copyDB, FileDevice(filepath.Join(fresh, "terminal.db.device")), VaultOptions{Iterations: 2}); !errors.Is(err, ErrDevice) {
		t.Fatalf("copy opened on a device file: %v", err)
	}
	// Another TPM (a fresh swtpm): nothing loads, whatever the PIN.
	other, err := OpenTPM(keystest.SWTPM(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := OpenVault(ctx, copyDB, other, VaultOptions{Iterations: 2}); !errors.Is(err, ErrDevice) {
		t.Fatalf("copy opened on another TPM: %v", err)
	}
	// Even bypassing the directory's MAC, an officer seal does not unseal
	// on another TPM, for the right PIN or any other.
	var env envelope
	cbor.Unmarshal(dirBytes(t, copyDB), &env)
	d, err := parseDirectory(env.Body, 2)
	if err != nil {
		t.Fatal(err)
	}
	e := d.Officers[0]
	for _, pin := range []string{"000041", "000042", "000043"} {
		auth, _ := pbkdfForTest(pin, e.Salt, e.Iter)
		if _, err := other.Unseal(ctx, e.Seal, auth); !errors.Is(err, ErrDevice) {
			t.Fatalf("PIN %s on another TPM: %v", pin, err)
		}
	}
	// The original TPM still opens the original.
	db2 := openDB(t, path)
	v2 := openVault(t, db2, p, clock.NewFake(t0))
	if _, err := v2.SignIn(ctx, "9001", "000042"); err != nil {
		t.Fatal(err)
	}
}

func pbkdfForTest(pin string, salt []byte, iter int) ([]byte, error) {
	return (&Vault{}).pinAuth(pin, salt, iter)
}

func BenchmarkSignInTPM(b *testing.B) {
	ctx := context.Background()
	p, err := OpenTPM(keystest.SWTPM(b))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	db := openDB(b, filepath.Join(b.TempDir(), "terminal.db"))
	v, err := OpenVault(ctx, db, p, VaultOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.Provision(ctx, Officer{ID: "9001", Name: "陈刚", Role: RoleSupervisor}, "246810", nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := v.SignIn(ctx, "9001", "246810"); err != nil {
			b.Fatal(err)
		}
	}
}
