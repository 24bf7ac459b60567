package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
)

func init() {
	register(command{name: "officer init", synopsis: "--id ID --name NAME [--pin-stdin]",
		summary: "create the terminal's first officer, a supervisor (--id ID --name NAME; PIN twice from the prompt or --pin-stdin)", run: cmdOfficerInit})
	register(command{name: "officer add", synopsis: "--as SUPERVISOR --id ID --name NAME [--role inspector|station|supervisor] [--pin-stdin]",
		summary: "a supervisor (--as ID, their PIN first) adds an officer (--id --name --role; the new PIN twice)", run: cmdOfficerAdd})
	register(command{name: "officer reset-pin", synopsis: "--as SUPERVISOR --id ID [--pin-stdin]",
		summary: "a supervisor (--as ID, their PIN first) gives an officer who forgot their PIN a new one (twice)", run: cmdOfficerResetPIN})
	register(command{name: "officer list", summary: "list the terminal's officers, roles and lock-outs", run: cmdOfficerList})
	register(command{name: "keys status", summary: "say what protects the terminal's keys (TPM or device file)", run: cmdKeysStatus})
}

// errNoPIN: a record command without a way to read the PIN.
var errNoPIN = errors.New("the officer's PIN is needed: run rcctl at a terminal to be asked, or give --pin-stdin and the PIN on standard input")

// pinReader reads PINs: the lines of standard input with --pin-stdin, or
// prompts on the controlling terminal (echo off) when standard input is
// one. The PIN is never a flag or an environment variable (both are
// visible to other processes).
type pinReader struct {
	env   *Env
	stdin bool
	sc    *bufio.Scanner
}

func newPINReader(env *Env, stdin bool) *pinReader {
	return &pinReader{env: env, stdin: stdin, sc: bufio.NewScanner(env.Stdin)}
}

func (p *pinReader) read(prompt string) (string, error) {
	if p.stdin {
		if !p.sc.Scan() {
			return "", fmt.Errorf("%s: no line on standard input (--pin-stdin)", prompt)
		}
		return strings.TrimRight(p.sc.Text(), "\r"), nil
	}
	f, ok := p.env.Stdin.(*os.File)
	if !ok {
		return "", errNoPIN
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", errNoPIN // not a terminal
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprintf(p.env.Stderr, "%s: ", prompt)
	line, err := bufio.NewReader(f).ReadString('\n')
	fmt.Fprintln(p.env.Stderr)
	if err != nil && line == "" {
		return "", fmt.Errorf("%s: %w", prompt, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// openVault opens the key vault of the open database db on the device
// named by $RC_TPM (keys.OpenDevice: "" finds /dev/tpmrm0, else the
// device file). The returned function closes the device.
func openVault(ctx context.Context, env *Env, db *storage.DB) (*keys.Vault, func(), error) {
	dev, err := keys.OpenDevice(env.Getenv(keys.DeviceEnv), env.DBPath)
	if err != nil {
		return nil, nil, err
	}
	v, err := keys.OpenVault(ctx, db, dev, keys.VaultOptions{Clock: env.Clock, Iterations: env.PINIterations, LegacyKeyFile: keys.KeyFilePath(env.DBPath)})
	if err != nil {
		dev.Close()
		return nil, nil, err
	}
	return v, func() { dev.Close() }, nil
}

// officerFlag is the officer a record command acts for: --officer, else
// $RC_OFFICER, checked by keys.ValidOfficerID (the GUI's rule).
func officerID(env *Env, flag string) (string, error) {
	id := strings.TrimSpace(flag)
	if id == "" {
		id = strings.TrimSpace(env.Getenv("RC_OFFICER"))
	}
	if id == "" {
		return "", errors.New("the officer is needed: --officer ID (or $RC_OFFICER)")
	}
	if !keys.ValidOfficerID(id) {
		return "", fmt.Errorf("officer id %q: 1–%d letters, digits or '-'", id, keys.MaxOfficerIDLength)
	}
	return id, nil
}

// signIn signs officer in on the vault of db with a PIN from pins.
func signIn(ctx context.Context, v *keys.Vault, officer string, pins *pinReader) (*keys.Session, error) {
	pin, err := pins.read("PIN of officer " + officer)
	if err != nil {
		return nil, err
	}
	s, err := v.SignIn(ctx, officer, pin)
	if errors.Is(err, keys.ErrSignIn) && v.Count() == 0 {
		return nil, fmt.Errorf("%w (this terminal has no officers yet: rcctl officer init)", err)
	}
	return s, err
}

// unlockRecords opens the record store of db for an officer who types
// their PIN: the vault unseals the keyring (on a TPM, inside the TPM).
func unlockRecords(ctx context.Context, env *Env, db *storage.DB, officer string, pins *pinReader) (*records.Store, *keys.Session, error) {
	v, done, err := openVault(ctx, env, db)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	s, err := signIn(ctx, v, officer, pins)
	if err != nil {
		return nil, nil, err
	}
	rs, err := records.Open(ctx, db, records.Unlocked(s.Keyring()), records.Options{Clock: env.Clock})
	if err != nil {
		return nil, nil, err
	}
	return rs, s, nil
}

func newPIN(pins *pinReader, who string) (string, error) {
	a, err := pins.read("new PIN (6–12 digits) of " + who)
	if err != nil {
		return "", err
	}
	b, err := pins.read("the same PIN again")
	if err != nil {
		return "", err
	}
	if a != b {
		return "", errors.New("the two PINs differ")
	}
	return a, nil
}

func cmdOfficerInit(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "officer init")
	id := fs.String("id", "", "the supervisor's officer `ID`")
	name := fs.String("name", "", "the supervisor's `name`")
	pinStdin := fs.Bool("pin-stdin", false, "read the PIN (twice) from standard input, one per line")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	db, err := storage.Open(ctx, env.DBPath, storage.Options{})
	if err != nil {
		return failf(env, "%v", err)
	}
	defer db.Close()
	v, done, err := openVault(ctx, env, db)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer done()
	pins := newPINReader(env, *pinStdin)
	pin, err := newPIN(pins, *id)
	if err != nil {
		return failf(env, "officer init: %v", err)
	}
	s, err := v.Provision(ctx, keys.Officer{ID: *id, Name: *name, Role: keys.RoleSupervisor}, pin, nil)
	if err != nil {
		return failf(env, "officer init: %v", err)
	}
	if _, err := records.Open(ctx, db, records.Unlocked(s.Keyring()), records.Options{Clock: env.Clock}); err != nil {
		return failf(env, "officer init: %v", err)
	}
	st := v.Status()
	fmt.Fprintf(env.Stdout, "supervisor %s created; keys: %s\n", s.Officer.ID, st.Text)
	if st.Warning != "" {
		fmt.Fprintf(env.Stderr, "rcctl: WARNING: %s\n", st.Warning)
	}
	return ExitOK
}

// supervisorSession signs in the supervisor --as with the first PIN line.
func supervisorSession(ctx context.Context, env *Env, as string, pins *pinReader) (*storage.DB, *keys.Session, func(), error) {
	db, err := storage.Open(ctx, env.DBPath, storage.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	v, done, err := openVault(ctx, env, db)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	s, err := signIn(ctx, v, as, pins)
	if err == nil && s.Officer.Role != keys.RoleSupervisor {
		err = keys.ErrNotSupervisor
	}
	if err != nil {
		done()
		db.Close()
		return nil, nil, nil, err
	}
	return db, s, func() { done(); db.Close() }, nil
}

func cmdOfficerAdd(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "officer add")
	as := fs.String("as", "", "the supervisor's officer `ID` (their PIN is read first)")
	id := fs.String("id", "", "the new officer's `ID`")
	name := fs.String("name", "", "the new officer's `name`")
	role := fs.String("role", "inspector", "inspector, station or supervisor")
	pinStdin := fs.Bool("pin-stdin", false, "read the PINs from standard input, one per line: the supervisor's, then the new one twice")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	r, err := keys.ParseRole(*role)
	if err != nil {
		return failf(env, "%v", err)
	}
	pins := newPINReader(env, *pinStdin)
	_, s, done, err := supervisorSession(ctx, env, *as, pins)
	if err != nil {
		return failf(env, "officer add: %v", err)
	}
	defer done()
	pin, err := newPIN(pins, *id)
	if err != nil {
		return failf(env, "officer add: %v", err)
	}
	if err := s.AddOfficer(ctx, keys.Officer{ID: *id, Name: *name, Role: r}, pin); err != nil {
		return failf(env, "officer add: %v", err)
	}
	fmt.Fprintf(env.Stdout, "officer %s added (%s)\n", *id, r)
	return ExitOK
}

func cmdOfficerResetPIN(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "officer reset-pin")
	as := fs.String("as", "", "the supervisor's officer `ID` (their PIN is read first)")
	id := fs.String("id", "", "the officer who forgot their PIN")
	pinStdin := fs.Bool("pin-stdin", false, "read the PINs from standard input: the supervisor's, then the new one twice")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	pins := newPINReader(env, *pinStdin)
	_, s, done, err := supervisorSession(ctx, env, *as, pins)
	if err != nil {
		return failf(env, "officer reset-pin: %v", err)
	}
	defer done()
	pin, err := newPIN(pins, *id)
	if err != nil {
		return failf(env, "officer reset-pin: %v", err)
	}
	if err := s.ResetPIN(ctx, *id, pin); err != nil {
		return failf(env, "officer reset-pin: %v", err)
	}
	fmt.Fprintf(env.Stdout, "officer %s has a new PIN\n", *id)
	return ExitOK
}

func cmdOfficerList(ctx context.Context, env *Env, args []string) int {
	if code, done := noArgs(env, "officer list", args); done {
		return code
	}
	db, err := storage.Open(ctx, env.DBPath, storage.Options{ReadOnly: true})
	if err != nil {
		return failf(env, "%v", err)
	}
	defer db.Close()
	v, done, err := openVault(ctx, env, db)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer done()
	for _, o := range v.Officers() {
		line := fmt.Sprintf("%s\t%s\t%s", o.ID, o.Name, o.Role)
		if !o.LockedUntil.IsZero() && env.Clock.Now().Before(o.LockedUntil) {
			line += "\tlocked until " + o.LockedUntil.Format("2006-01-02T15:04:05Z07:00")
		}
		fmt.Fprintln(env.Stdout, line)
	}
	return ExitOK
}

func cmdKeysStatus(ctx context.Context, env *Env, args []string) int {
	if code, done := noArgs(env, "keys status", args); done {
		return code
	}
	db, err := storage.Open(ctx, env.DBPath, storage.Options{})
	if err != nil {
		return failf(env, "%v", err)
	}
	defer db.Close()
	v, done, err := openVault(ctx, env, db)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer done()
	st := v.Status()
	fmt.Fprintln(env.Stdout, st.Text)
	if st.Warning != "" {
		fmt.Fprintln(env.Stdout, "WARNING: "+st.Warning)
	}
	return ExitOK
}

// keyProtection is one line saying what protects the terminal's keys, read
// without unlocking (for trust status): a TPM, only the device file (with
// the warning), or nothing set up yet. A database another process holds
// for longer than a moment gives "unknown".
func keyProtection(ctx context.Context, env *Env) string {
	if _, err := os.Stat(env.DBPath); err != nil {
		return "not set up (no terminal database)"
	}
	db, err := storage.Open(ctx, env.DBPath, storage.Options{ReadOnly: true})
	if err != nil {
		return fmt.Sprintf("unknown (%v)", err)
	}
	defer db.Close()
	kind, err := keys.PeekKind(ctx, db)
	switch {
	case err != nil:
		return fmt.Sprintf("unknown (%v)", err)
	case kind == keys.KindTPM:
		return "sealed to the TPM: the data and device keys open only on this device, with an officer's PIN (attempts counted by the TPM)"
	case kind == keys.KindFile:
		return "device file only, no TPM — WARNING: " + keys.NoTPMWarning
	}
	return "not set up (rcctl officer init)"
}
