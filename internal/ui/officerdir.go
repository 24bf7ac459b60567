package ui

import (
	"bufio"
	"context"
	hexenc "encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// Officer directory limits: those of the key vault (package keys).
const (
	// OfficerIterations is the PBKDF2-HMAC-SM3 iteration count of new PINs.
	OfficerIterations = keys.DefaultIterations
	// MaxPINAttempts wrong PINs in a row lock an officer out for
	// PINLockout.
	MaxPINAttempts = keys.MaxPINAttempts
	// PINLockout is how long an officer stays locked out.
	PINLockout = keys.Lockout
	// OfficersFile is the file name of the officer directory of earlier
	// versions (JSON, beside terminal.db): ImportOfficersFile takes it into
	// the vault once and deletes it.
	OfficersFile = "officers.json"
)

// Officer directory errors. ErrSignIn is returned for a wrong ID or PIN.
var (
	// ErrLockedOut: too many wrong PINs; the UserError returned carries the
	// time the lock-out ends (user-visible).
	ErrLockedOut = errors.New("ui: officer locked out after too many wrong PINs")
	// ErrOfficerExists: the officer ID is taken (user-visible).
	ErrOfficerExists = &UserError{Key: "officers.exists", Msg: "ui: officer ID already exists"}
	// ErrWeakPIN: a new PIN must be 6–12 digits (user-visible).
	ErrWeakPIN = &UserError{Key: "officers.weakPIN", Msg: "ui: PIN must be 6–12 digits"}
	// ErrOfficerFields: ID (1–32 letters or digits), name and role are required (user-visible).
	ErrOfficerFields = &UserError{Key: "officers.fields", Msg: "ui: officer ID, name and role are required"}
	// ErrPINMismatch: the two PINs typed differ (user-visible).
	ErrPINMismatch = &UserError{Key: "officers.pinMismatch", Msg: "ui: the PINs differ"}
)

// OfficerDirectory is the terminal's officer directory: the key vault of
// its database (keys.Vault), whose entries are authenticated with a
// device-bound key, whose PIN attempts are counted (on a TPM by the TPM
// too), and whose PINs unlock the device data key. It satisfies Officers,
// OfficerAdmin and the officer management of the supervisors' screen, and
// is safe for concurrent use.
//
// A successful SignIn keeps that officer's vault session until EndSession
// or SignOut: Session hands it to the record store (its keyring, with no
// second PIN derivation), and the last supervisor who signed in
// authorises Add (after the first supervisor), ResetPIN and Remove — the
// vault wraps the data key for a new or reset PIN with that supervisor's
// session. End the session at lock and sign-out.
type OfficerDirectory struct {
	v   *keys.Vault
	clk clock.Clock
	// A standalone directory (OpenOfficerDirectory) owns its database and
	// device; the terminal's (NewOfficerDirectory) does not.
	db  *storage.DB
	dev keys.Device

	mu   sync.Mutex
	last *keys.Session // the officer who signed in last
	sup  *keys.Session // the supervisor who signed in last
}

// NewOfficerDirectory is the directory of the terminal's vault v (see
// terminal.Terminal.Vault). clk measures device lock-outs (nil: the real
// clock).
func NewOfficerDirectory(v *keys.Vault, clk clock.Clock) *OfficerDirectory {
	if clk == nil {
		clk = clock.Real{}
	}
	return &OfficerDirectory{v: v, clk: clk}
}

// OpenOfficerDirectory opens a standalone sealed directory: a vault in its
// own database file at path, bound to the device file path + ".device"
// (no TPM), both created when missing. Tools and tests use it; the
// terminal uses NewOfficerDirectory on the vault of terminal.db.
// iterations ≤ 0 means OfficerIterations (a lower count also lowers the
// floor entries are checked against: tests only); clk nil means the real
// clock. Close releases the database.
func OpenOfficerDirectory(path string, clk clock.Clock, iterations int) (*OfficerDirectory, error) {
	ctx := context.Background()
	if clk == nil {
		clk = clock.Real{}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ui: officer directory: %w", err)
	}
	db, err := storage.Open(ctx, path, storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("ui: officer directory: %w", err)
	}
	dev := keys.FileDevice(keys.DeviceFilePath(path))
	v, err := keys.OpenVault(ctx, db, dev, keys.VaultOptions{Clock: clk, Iterations: iterations})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ui: officer directory %s: %w", path, err)
	}
	d := NewOfficerDirectory(v, clk)
	d.db, d.dev = db, dev
	return d, nil
}

// Close forgets the sessions and, for a standalone directory, closes its
// database. The terminal's directory leaves the terminal's database open.
func (d *OfficerDirectory) Close() error {
	d.SignOut()
	if d.db == nil {
		return nil
	}
	d.dev.Close()
	return d.db.Close()
}

// Vault is the key vault the directory works on.
func (d *OfficerDirectory) Vault() *keys.Vault { return d.v }

// KeyStatus says what protects the terminal's keys (a TPM, or only the
// device file), for the status bar and the trust summary.
func (d *OfficerDirectory) KeyStatus() keys.Status { return d.v.Status() }

// ParseRole parses a role's code (inspector, station, supervisor).
func ParseRole(s string) (Role, error) {
	r, err := keys.ParseRole(s)
	if err != nil {
		return 0, fmt.Errorf("ui: unknown role %q (inspector, station or supervisor)", s)
	}
	return Role(r), nil
}

// ValidPIN reports whether pin is acceptable for a new officer: 6–12
// digits (keys.ValidPIN).
func ValidPIN(pin string) bool { return keys.ValidPIN(pin) }

func fromKeys(o keys.Officer) Officer { return Officer{ID: o.ID, Name: o.Name, Role: Role(o.Role)} }

// Count is the number of officers.
func (d *OfficerDirectory) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return d.v.Count(), nil
}

// List returns the officers, sorted by ID.
func (d *OfficerDirectory) List() []Officer {
	var out []Officer
	for _, o := range d.v.Officers() {
		out = append(out, fromKeys(o))
	}
	return out
}

// Officers lists the directory's officers with their lock-out, sorted by ID.
func (d *OfficerDirectory) Officers(ctx context.Context) ([]OfficerInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := d.clk.Now()
	var out []OfficerInfo
	for _, o := range d.v.Officers() {
		info := OfficerInfo{Officer: fromKeys(o)}
		if now.Before(o.LockedUntil) {
			info.LockedUntil = o.LockedUntil
		}
		out = append(out, info)
	}
	return out, nil
}

// find reports 0 when id is an officer, -1 when not.
func (d *OfficerDirectory) find(id string) int {
	if _, ok := d.v.Officer(strings.TrimSpace(id)); ok {
		return 0
	}
	return -1
}

// supervisor is the session that authorises a change; ErrNotAllowed when
// no supervisor signed in since the last SignOut.
func (d *OfficerDirectory) supervisor() (*keys.Session, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sup == nil {
		return nil, ErrNotAllowed
	}
	return d.sup, nil
}

// Add stores a new officer with pin. On a directory without officers it
// creates the first one, who must be a supervisor (the set-up screen); on
// the terminal of an earlier version this migrates its data key (see
// keys.Vault.Provision). Later officers need a supervisor signed in
// (ErrNotAllowed otherwise). ErrOfficerFields, ErrWeakPIN and
// ErrOfficerExists for what the form got wrong.
func (d *OfficerDirectory) Add(ctx context.Context, o Officer, pin string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.ID, o.Name = strings.TrimSpace(o.ID), strings.TrimSpace(o.Name)
	if !keys.ValidOfficerID(o.ID) || o.Name == "" || !keys.Role(o.Role).Valid() {
		return ErrOfficerFields
	}
	if !keys.ValidPIN(pin) {
		return ErrWeakPIN
	}
	if d.find(o.ID) >= 0 {
		return ErrOfficerExists
	}
	ko := keys.Officer{ID: o.ID, Name: o.Name, Role: keys.Role(o.Role)}
	if d.v.Count() == 0 {
		s, err := d.v.Provision(ctx, ko, pin, nil)
		if err != nil {
			return d.fromKeysErr(err)
		}
		_ = s // the first supervisor signs in next
		return nil
	}
	s, err := d.supervisor()
	if err != nil {
		return err
	}
	return d.fromKeysErr(s.AddOfficer(ctx, ko, pin))
}

// ResetPIN gives officer id a new PIN (6–12 digits) and ends their
// lock-out: the forgotten-PIN path. A supervisor must be signed in: the
// vault wraps the data key for the new PIN with their session.
func (d *OfficerDirectory) ResetPIN(ctx context.Context, id, pin string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !keys.ValidPIN(pin) {
		return ErrWeakPIN
	}
	id = strings.TrimSpace(id)
	if d.find(id) < 0 {
		return ErrNoOfficer
	}
	s, err := d.supervisor()
	if err != nil {
		return err
	}
	return d.fromKeysErr(s.ResetPIN(ctx, id, pin))
}

// Remove takes officer id out of the directory (停用) with their key slot:
// they can no longer sign in; their records stay theirs. by is the
// supervisor doing it, who must be the one signed in, may not remove
// themself, and the last supervisor stays.
func (d *OfficerDirectory) Remove(ctx context.Context, id, by string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id = strings.TrimSpace(id)
	if id == by {
		return ErrLastSupervisor
	}
	o, ok := d.v.Officer(id)
	if !ok {
		return ErrNoOfficer
	}
	if o.Role == keys.RoleSupervisor {
		n := 0
		for _, x := range d.v.Officers() {
			if x.Role == keys.RoleSupervisor {
				n++
			}
		}
		if n <= 1 {
			return ErrLastSupervisor
		}
	}
	s, err := d.supervisor()
	if err != nil {
		return err
	}
	if s.Officer.ID != by {
		return ErrNotAllowed
	}
	return d.fromKeysErr(s.Remove(ctx, id))
}

// SignIn returns the officer whose ID and PIN these are, and keeps their
// vault session (see OfficerDirectory). A wrong ID or PIN gives ErrSignIn;
// an officer with MaxPINAttempts wrong PINs in a row is locked out for
// PINLockout (a UserError wrapping ErrLockedOut that names the end of the
// lock-out), even with the right PIN; a TPM in dictionary-attack lock-out
// gives the same error, naming when it forgives the next attempt.
func (d *OfficerDirectory) SignIn(ctx context.Context, id, pin string) (Officer, error) {
	if err := ctx.Err(); err != nil {
		return Officer{}, err
	}
	s, err := d.v.SignIn(ctx, strings.TrimSpace(id), pin)
	if err != nil {
		return Officer{}, d.fromKeysErr(err)
	}
	d.mu.Lock()
	d.last = s
	if s.Officer.Role == keys.RoleSupervisor {
		d.sup = s
	}
	d.mu.Unlock()
	return fromKeys(s.Officer), nil
}

// SignOut forgets every session: changes need a supervisor to sign in
// again.
func (d *OfficerDirectory) SignOut() {
	d.mu.Lock()
	d.last, d.sup = nil, nil
	d.mu.Unlock()
}

// Session returns the session of the last SignIn when officerID is who
// signed in (the record store opens with its keyring), and false
// otherwise.
func (d *OfficerDirectory) Session(officerID string) (*keys.Session, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil || d.last.Officer.ID != officerID {
		return nil, false
	}
	return d.last, true
}

// EndSession forgets s (lock, sign-out: the record store it opened is
// closed); a later session stays.
func (d *OfficerDirectory) EndSession(s *keys.Session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == s {
		d.last = nil
	}
	if d.sup == s {
		d.sup = nil
	}
}

// fromKeysErr maps the vault's errors to what the GUI shows.
func (d *OfficerDirectory) fromKeysErr(err error) error {
	var lo *keys.LockedOutError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &lo):
		return lockedOut(lo.Until, err)
	case errors.Is(err, keys.ErrDeviceLockout):
		// The TPM forgives one wrong PIN every keys.DARecoverySeconds.
		return lockedOut(d.clk.Now().Add(keys.DARecoverySeconds*time.Second), err)
	case errors.Is(err, keys.ErrSignIn):
		return ErrSignIn
	case errors.Is(err, keys.ErrWeakPIN):
		return &UserError{Key: ErrWeakPIN.Key, Msg: err.Error(), Err: errors.Join(ErrWeakPIN, err)}
	case errors.Is(err, keys.ErrNotSupervisor):
		return ErrNotAllowed
	}
	return err
}

func lockedOut(until time.Time, cause error) error {
	return &UserError{Key: "signin.lockedOut", Msg: "ui: officer locked out until " + until.Format(time.RFC3339),
		Args: []any{until.In(credential.CST()).Format("15:04")}, Err: errors.Join(ErrLockedOut, cause)}
}

// SealedSlots is the OfficerKeys of a vault-backed directory: it does
// nothing, because the vault itself wraps the data key for every officer
// it adds or resets and drops the slot of one it removes. Give it as
// Deps.OfficerKeys with an OfficerDirectory: the record store's legacy PIN
// slots (records.OfficerPIN) must not come back — a copy of the database
// alone could be searched for their PINs.
type SealedSlots struct{}

// SetOfficerPIN does nothing (see SealedSlots).
func (SealedSlots) SetOfficerPIN(context.Context, RecordStore, string, string) error { return nil }

// RemoveOfficer does nothing (see SealedSlots).
func (SealedSlots) RemoveOfficer(context.Context, RecordStore, string) error { return nil }

// The directory file of earlier versions (officers.json).

type officerFile struct {
	Version  int            `json:"version"`
	Officers []officerEntry `json:"officers"`
}

type officerEntry struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	KDF         string    `json:"kdf"`
	Iterations  int       `json:"iterations"`
	Salt        string    `json:"salt"`
	Hash        string    `json:"hash"`
	Failures    int       `json:"failures,omitempty"`
	LockedUntil time.Time `json:"lockedUntil,omitzero"`
}

const officerKDF = "pbkdf2-hmac-sm3"

// maxOfficersFile bounds the directory file read.
const maxOfficersFile = 4 << 20

// parseOfficersFile reads the directory file of an earlier version. It
// refuses what is not such a file (JSON, version 1, the PBKDF2-HMAC-SM3
// hash in hex, known roles); the vault's import then checks each entry
// against the floor.
func parseOfficersFile(data []byte) ([]keys.LegacyOfficer, error) {
	if len(data) > maxOfficersFile {
		return nil, fmt.Errorf("ui: officer directory file of %d bytes", len(data))
	}
	var f officerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("ui: officer directory file: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("ui: officer directory file: version %d not supported", f.Version)
	}
	out := make([]keys.LegacyOfficer, 0, len(f.Officers))
	for i, e := range f.Officers {
		salt, err1 := hexenc.DecodeString(e.Salt)
		hash, err2 := hexenc.DecodeString(e.Hash)
		r, errRole := ParseRole(e.Role)
		switch {
		case errRole != nil:
			return nil, fmt.Errorf("ui: officer directory file: entry %d: %w", i, errRole)
		case e.KDF != officerKDF:
			return nil, fmt.Errorf("ui: officer directory file: entry %d: unsupported PIN hash %q", i, e.KDF)
		case err1 != nil || err2 != nil:
			return nil, fmt.Errorf("ui: officer directory file: entry %d: salt or hash not hex", i)
		}
		out = append(out, keys.LegacyOfficer{ID: e.ID, Name: e.Name, Role: keys.Role(r), Iterations: e.Iterations,
			Salt: salt, Hash: hash, Failures: e.Failures, LockedUntil: e.LockedUntil})
	}
	return out, nil
}

// ImportOfficersFile takes the directory file of an earlier version at
// path (OfficersFile in the data directory) into the vault, once: on a
// vault without officers, each entry the vault accepts becomes an
// imported officer whose first sign-in moves them to a sealed slot, and
// the file is deleted (it holds PIN hashes). Entries below the floor are
// skipped and returned; a missing file imports nothing. A vault that
// already has officers leaves the file and reports keys.ErrOfficer: the
// file is not trusted over the sealed directory.
func (d *OfficerDirectory) ImportOfficersFile(ctx context.Context, path string) (imported int, skipped []keys.Skipped, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("ui: officer directory file: %w", err)
	}
	if d.v.Count() > 0 {
		return 0, nil, fmt.Errorf("%w: %s not imported (the sealed directory is in force; delete the file)", keys.ErrOfficer, path)
	}
	legacy, err := parseOfficersFile(data)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	if imported, skipped, err = d.v.ImportLegacy(ctx, legacy); err != nil {
		return 0, skipped, err
	}
	if err := os.Remove(path); err != nil {
		return imported, skipped, fmt.Errorf("ui: officer directory file imported but not deleted: %w", err)
	}
	return imported, skipped, nil
}

// UnlockForAdd was the function of earlier versions that gave a new
// officer a records key slot. The vault wraps the data key itself now:
// AddOfficerFromInput ignores it.
//
// Deprecated: pass nil.
type UnlockForAdd func(ctx context.Context, supervisorID, supervisorPIN string) (addKey func(ctx context.Context, officerID, pin string) error, err error)

// ErrNeedSupervisor: adding an officer to a terminal that has officers
// needs a supervisor's ID and PIN (the PIN unlocks the device data key).
var ErrNeedSupervisor = errors.New("ui: a supervisor's ID and PIN are needed to add an officer")

// AddOfficerFromInput adds an officer for `roadcheck --add-officer`. When
// the directory already has officers and no supervisor is signed in on
// d, the first two lines of in are a supervisor's ID and PIN: they sign
// in, and the vault wraps the data key for the new officer with their
// session. The new officer's PIN and its confirmation are the next two
// lines (not echoed when in is a terminal the caller has put in no-echo
// mode). The first officer of a terminal must be a supervisor. Errors are
// plain text for the command line.
func AddOfficerFromInput(ctx context.Context, d *OfficerDirectory, id, name, role string, in io.Reader, _ UnlockForAdd) error {
	r, err := ParseRole(role)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	line := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		return strings.TrimRight(sc.Text(), "\r"), true
	}
	if n, err := d.Count(ctx); err != nil {
		return err
	} else if _, noSup := d.supervisor(); n > 0 && noSup != nil {
		supID, ok1 := line()
		supPIN, ok2 := line()
		if !ok1 || !ok2 {
			return ErrNeedSupervisor
		}
		sup, err := d.SignIn(ctx, supID, supPIN)
		if err != nil {
			return err
		}
		if sup.Role != RoleSupervisor {
			d.SignOut()
			return fmt.Errorf("%w: %s is not a supervisor", ErrNeedSupervisor, sup.ID)
		}
	}
	pin, ok1 := line()
	pin2, ok2 := line()
	if !ok1 || !ok2 {
		return errors.New("ui: give the PIN twice, one per line, on standard input")
	}
	if pin != pin2 {
		return ErrPINMismatch
	}
	return d.Add(ctx, Officer{ID: id, Name: name, Role: r}, pin)
}
