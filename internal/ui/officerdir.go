package ui

import (
	"bufio"
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	hexenc "encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
)

// Officer directory limits.
const (
	// OfficerIterations is the PBKDF2-HMAC-SM3 iteration count of new PIN
	// hashes (the same as the record store's passphrase slots).
	OfficerIterations = 200_000
	// MaxPINAttempts wrong PINs in a row lock an officer out for
	// PINLockout.
	MaxPINAttempts = 5
	// PINLockout is how long an officer stays locked out.
	PINLockout = 15 * time.Minute
	// OfficersFile is the directory's file name in the terminal's data
	// directory (next to terminal.db).
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

// OfficerDirectory is the terminal's own officer directory: a JSON file,
// mode 0600, under the terminal's data directory. It satisfies Officers and
// OfficerAdmin and is safe for concurrent use.
//
// A PIN is never stored: each officer has a 16-byte random salt and the
// PBKDF2-HMAC-SM3 (crypto/pbkdf2 over internal/gm's SM3, OfficerIterations
// iterations) of the PIN, compared in constant time. MaxPINAttempts wrong
// PINs in a row lock the officer out for PINLockout, measured with the
// injected clock and kept in the file, so restarting does not reset it.
//
// WARNING: a 6-digit PIN has a million values; someone who copies the file
// can try them all offline. The lock-out protects against guessing at the
// terminal, not against a stolen file.
type OfficerDirectory struct {
	path  string
	clk   clock.Clock
	iter  int
	mu    sync.Mutex
	file  officerFile
	dummy officerEntry // hashed for unknown IDs so they take as long as known ones
}

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

// OpenOfficerDirectory reads the directory at path (a missing file is an
// empty directory, created by the first Add). iterations ≤ 0 means
// OfficerIterations; clk nil means the real clock.
func OpenOfficerDirectory(path string, clk clock.Clock, iterations int) (*OfficerDirectory, error) {
	if clk == nil {
		clk = clock.Real{}
	}
	if iterations <= 0 {
		iterations = OfficerIterations
	}
	d := &OfficerDirectory{path: path, clk: clk, iter: iterations, file: officerFile{Version: 1}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("ui: officer directory: %w", err)
	default:
		if err := json.Unmarshal(data, &d.file); err != nil {
			return nil, fmt.Errorf("ui: officer directory %s: %w", path, err)
		}
		if d.file.Version != 1 {
			return nil, fmt.Errorf("ui: officer directory %s: version %d not supported", path, d.file.Version)
		}
		if err := d.file.check(); err != nil {
			return nil, fmt.Errorf("ui: officer directory %s: %w", path, err)
		}
	}
	d.dummy, err = newOfficerEntry(Officer{ID: "-", Name: "-", Role: RoleInspector}, "000000", iterations)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// maxOfficerIterations bounds the PBKDF2 cost a directory file may ask
// for, so a damaged or hostile file cannot hang sign-in.
const maxOfficerIterations = 10_000_000

// check refuses a directory file whose entries could not have been written
// by Add: unknown roles or KDFs, absurd iteration counts, salts or hashes of
// the wrong size, duplicate or invalid IDs.
func (f *officerFile) check() error {
	seen := map[string]bool{}
	for i, e := range f.Officers {
		salt, err1 := hexenc.DecodeString(e.Salt)
		hash, err2 := hexenc.DecodeString(e.Hash)
		_, errRole := ParseRole(e.Role)
		switch {
		case !validOfficerID(e.ID) || seen[e.ID]:
			return fmt.Errorf("entry %d: invalid or repeated officer ID %q", i, e.ID)
		case errRole != nil:
			return fmt.Errorf("entry %d: %w", i, errRole)
		case e.KDF != officerKDF || e.Iterations < 1 || e.Iterations > maxOfficerIterations:
			return fmt.Errorf("entry %d: unsupported PIN hash %s with %d iterations", i, e.KDF, e.Iterations)
		case err1 != nil || err2 != nil || len(salt) != 16 || len(hash) != 32:
			return fmt.Errorf("entry %d: damaged salt or PIN hash", i)
		case e.Failures < 0:
			return fmt.Errorf("entry %d: negative failure count", i)
		}
		seen[e.ID] = true
	}
	return nil
}

func newOfficerEntry(o Officer, pin string, iter int) (officerEntry, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return officerEntry{}, fmt.Errorf("ui: officer salt: %w", err)
	}
	h, err := pinKey(pin, salt, iter)
	if err != nil {
		return officerEntry{}, err
	}
	return officerEntry{ID: o.ID, Name: o.Name, Role: o.Role.String(), KDF: officerKDF, Iterations: iter,
		Salt: hexenc.EncodeToString(salt), Hash: hexenc.EncodeToString(h)}, nil
}

func pinKey(pin string, salt []byte, iter int) ([]byte, error) {
	k, err := pbkdf2.Key(gm.NewSM3, pin, salt, iter, 32)
	if err != nil {
		return nil, fmt.Errorf("ui: PIN hash: %w", err)
	}
	return k, nil
}

// matches reports whether pin is e's PIN (constant-time comparison).
func (e *officerEntry) matches(pin string) bool {
	salt, err1 := hexenc.DecodeString(e.Salt)
	want, err2 := hexenc.DecodeString(e.Hash)
	if err1 != nil || err2 != nil || e.KDF != officerKDF || e.Iterations <= 0 {
		return false
	}
	got, err := pinKey(pin, salt, e.Iterations)
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// ParseRole parses a role's code (inspector, station, supervisor).
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleInspector, RoleStation, RoleSupervisor} {
		if r.String() == strings.TrimSpace(s) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("ui: unknown role %q (inspector, station or supervisor)", s)
}

// Count is the number of officers.
func (d *OfficerDirectory) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.file.Officers), nil
}

// List returns the officers, sorted by ID.
func (d *OfficerDirectory) List() []Officer {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Officer, 0, len(d.file.Officers))
	for _, e := range d.file.Officers {
		r, _ := ParseRole(e.Role)
		out = append(out, Officer{ID: e.ID, Name: e.Name, Role: r})
	}
	slices.SortFunc(out, func(a, b Officer) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func validOfficerID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-') {
			return false
		}
	}
	return true
}

// ValidPIN reports whether pin is acceptable for a new officer: 6–12 digits.
func ValidPIN(pin string) bool {
	if len(pin) < 6 || len(pin) > 12 {
		return false
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Add stores a new officer and writes the file (atomically: a temporary
// file renamed over the old one).
func (d *OfficerDirectory) Add(ctx context.Context, o Officer, pin string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.ID, o.Name = strings.TrimSpace(o.ID), strings.TrimSpace(o.Name)
	if !validOfficerID(o.ID) || o.Name == "" || (o.Role != RoleInspector && o.Role != RoleStation && o.Role != RoleSupervisor) {
		return ErrOfficerFields
	}
	if !ValidPIN(pin) {
		return ErrWeakPIN
	}
	e, err := newOfficerEntry(o, pin, d.iter)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.find(o.ID) >= 0 {
		return ErrOfficerExists
	}
	next := d.file
	next.Officers = append(slices.Clone(d.file.Officers), e)
	if err := d.write(next); err != nil {
		return err
	}
	d.file = next
	return nil
}

func (d *OfficerDirectory) find(id string) int {
	return slices.IndexFunc(d.file.Officers, func(e officerEntry) bool { return e.ID == id })
}

// SignIn returns the officer whose ID and PIN these are. A wrong ID or PIN
// gives ErrSignIn; an officer with MaxPINAttempts wrong PINs in a row is
// locked out for PINLockout (a UserError wrapping ErrLockedOut that names
// the end of the lock-out), even with the right PIN.
func (d *OfficerDirectory) SignIn(ctx context.Context, id, pin string) (Officer, error) {
	if err := ctx.Err(); err != nil {
		return Officer{}, err
	}
	id = strings.TrimSpace(id)
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.find(id)
	if i < 0 {
		d.dummy.matches(pin) // as slow as a known ID
		return Officer{}, ErrSignIn
	}
	e := d.file.Officers[i]
	now := d.clk.Now()
	if now.Before(e.LockedUntil) {
		return Officer{}, lockedOut(e.LockedUntil)
	}
	ok := e.matches(pin)
	before := e
	if ok {
		e.Failures, e.LockedUntil = 0, time.Time{}
	} else {
		e.Failures++
		if e.Failures >= MaxPINAttempts {
			e.Failures, e.LockedUntil = 0, now.Add(PINLockout)
		}
	}
	if e != before {
		next := d.file
		next.Officers = slices.Clone(d.file.Officers)
		next.Officers[i] = e
		if err := d.write(next); err != nil {
			return Officer{}, err
		}
		d.file = next
	}
	switch {
	case ok:
		r, err := ParseRole(e.Role)
		if err != nil {
			return Officer{}, err
		}
		return Officer{ID: e.ID, Name: e.Name, Role: r}, nil
	case !e.LockedUntil.IsZero():
		return Officer{}, lockedOut(e.LockedUntil)
	}
	return Officer{}, ErrSignIn
}

func lockedOut(until time.Time) error {
	return &UserError{Key: "signin.lockedOut", Msg: "ui: officer locked out until " + until.Format(time.RFC3339),
		Args: []any{until.In(credential.CST()).Format("15:04")}, Err: ErrLockedOut}
}

// write replaces the file with f.
func (d *OfficerDirectory) write(f officerFile) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("ui: officer directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
		return fmt.Errorf("ui: officer directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.path), ".officers-*")
	if err != nil {
		return fmt.Errorf("ui: officer directory: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.path)
	}
	if err != nil {
		return fmt.Errorf("ui: officer directory: %w", err)
	}
	return nil
}

// UnlockForAdd unlocks the record store for `roadcheck --add-officer` with
// the ID and PIN of a supervisor the officer directory has accepted, and
// returns the function that gives the new officer's PIN a records key slot.
type UnlockForAdd func(ctx context.Context, supervisorID, supervisorPIN string) (addKey func(ctx context.Context, officerID, pin string) error, err error)

// ErrNeedSupervisor: adding an officer to a terminal that has officers
// needs a supervisor's ID and PIN (the PIN unlocks the device data key).
var ErrNeedSupervisor = errors.New("ui: a supervisor's ID and PIN are needed to add an officer")

// AddOfficerFromInput adds an officer for `roadcheck --add-officer`. When
// the directory already has officers and unlock is not nil, the first two
// lines of in are a supervisor's ID and PIN: they must sign in as a
// supervisor, and unlock opens the record store with them so that the new
// officer gets a key slot. The new officer's PIN and its confirmation are
// the next two lines (not echoed when in is a terminal the caller has put in
// no-echo mode). The first officer of a terminal gets a slot at their first
// sign-in. Errors are plain text for the command line.
func AddOfficerFromInput(ctx context.Context, d *OfficerDirectory, id, name, role string, in io.Reader, unlock UnlockForAdd) error {
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
	var addKey func(ctx context.Context, officerID, pin string) error
	if n, err := d.Count(ctx); err != nil {
		return err
	} else if n > 0 && unlock != nil {
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
			return fmt.Errorf("%w: %s is not a supervisor", ErrNeedSupervisor, sup.ID)
		}
		if addKey, err = unlock(ctx, sup.ID, supPIN); err != nil {
			return err
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
	o := Officer{ID: id, Name: name, Role: r}
	if err := d.Add(ctx, o, pin); err != nil {
		return err
	}
	if addKey != nil {
		if err := addKey(ctx, strings.TrimSpace(id), pin); err != nil {
			return fmt.Errorf("ui: officer %s added, but their records key slot was not: %w", id, err)
		}
	}
	return nil
}
