package hubcmd

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// ExitProblems is the exit code of `audit verify` when the log was
// tampered with (0: it verifies; 3: it could not be checked).
const ExitProblems = 1

// The security commands are added to the table of hubcmd.go (this file's
// init runs after that file's, which sets it).
func init() {
	commands = append(commands,
		command{name: "audit list", args: "--store URL|PATH [--from TIME] [--to TIME] [--who TEXT] [--limit N] [--json]",
			brief: "list the audit log: who did what, when, from where, with which filters, rows and personal fields", run: auditList},
		command{name: "audit verify", args: "--store URL|PATH [--pub FILE | --keyring FILE --kek-file FILE]",
			brief: "check the audit log's hash chain and signed checkpoints: exit 0 intact, 1 tampered (edited, deleted or reordered entries)", run: auditVerify},
		command{name: "audit rotate", args: "--store URL|PATH --keep DURATION",
			brief: "remove audit entries older than DURATION up to a signed checkpoint, which anchors the rest (never truncates)", run: auditRotate},
		command{name: "account create", args: "--store URL|PATH --role viewer|auditor|administrator --jurisdiction PREFIX|all --password-file FILE [KEK flags] NAME",
			brief: "create a supervisor account; prints its TOTP secret for an authenticator app (needs the hub's keys)", run: accountCreate.main},
		command{name: "account list", args: "--store URL|PATH [--json]", brief: "list supervisor accounts with role, jurisdiction and state", run: accountList.main},
		command{name: "account scope", args: "--store URL|PATH [--role ROLE] [--jurisdiction PREFIX|all] NAME", brief: "change an account's role or jurisdiction", run: accountScope.main},
		command{name: "account password", args: "--store URL|PATH --password-file FILE NAME", brief: "set an account's password (its sessions end)", run: accountPassword.main},
		command{name: "account totp", args: "--store URL|PATH [KEK flags] NAME", brief: "give an account a new TOTP secret (its sessions end; needs the hub's keys)", run: accountTOTP.main},
		command{name: "account disable", args: "--store URL|PATH NAME", brief: "disable an account: it cannot sign in, its sessions end", run: accountDisable.main},
		command{name: "account enable", args: "--store URL|PATH NAME", brief: "enable a disabled account", run: accountEnable.main},
		command{name: "account signout", args: "--store URL|PATH NAME", brief: "end every session of an account", run: accountSignout.main},
		command{name: "keys wrap", args: "--store PATH | --keyring FILE [--keys LEGACY] (--kek-file FILE | --kek-command CMD | $RCHUB_KEK) [--old-kek-file FILE]",
			brief: "wrap the hub's keyring under a key-encryption key kept off the database host (made from the legacy key file when needed)", run: keysWrap, local: true},
		command{name: "keys public", args: "--store PATH | --keyring FILE [KEK flags]",
			brief: "print the hub's public keys: the encryption key terminals seal to, the key that signs audit checkpoints, the key that signs check policies", run: keysPublic, local: true},
		command{name: "tls pin", args: "--cert FILE", brief: "print the SPKI pin of the hub's TLS certificate, for terminals to enrol with (rcctl enroll --ca PIN.pem)", run: tlsPin, local: true},
	)
}

// kekFlags are the flags naming a key-encryption key.
type kekFlags struct {
	file, command *string
	keyring, keys *string
}

func addKEKFlags(f *flags) *kekFlags {
	return addKEKFlagsWith(f, f.String("keys", "", "a legacy key `file` (data and index keys) to make the keyring from (default for bbolt: PATH.key)"))
}

// addKEKFlagsWith adds the KEK flags, with keys the command's --keys.
func addKEKFlagsWith(f *flags, keys *string) *kekFlags {
	return &kekFlags{
		file:    f.String("kek-file", "", "key-encryption key `file` (32 hex digits, mode 0600), on another mount or host than the database"),
		command: f.String("kek-command", "", "KMS hook: a `command` (run with sh -c) printing the key-encryption key (32 hex digits)"),
		keyring: f.String("keyring", "", "the hub's keyring `file` (default for bbolt: PATH.keyring)"),
		keys:    keys,
	}
}

func (k *kekFlags) source() hub.KEKSource {
	return hub.KEKSource{File: *k.file, Command: *k.command, Env: os.Getenv(hub.EnvKEK)}
}

// paths returns the keyring and legacy key file of the store ref.
func (k *kekFlags) paths(ref string) (keyring, legacy string, err error) {
	keyring, legacy = *k.keyring, *k.keys
	if keyring == "" {
		if ref == "" || isPG(ref) {
			return "", "", fmt.Errorf("give --keyring FILE (the hub's keys; with PostgreSQL every replica uses the same)")
		}
		keyring = hub.KeyringPath(ref)
	}
	if legacy == "" && ref != "" && !isPG(ref) {
		legacy = hub.KeyFilePath(ref)
	}
	return keyring, legacy, nil
}

// loadKeyring opens the keyring of ref with the KEK the flags name (none:
// the keyring must be unwrapped).
func (k *kekFlags) loadKeyring(ctx context.Context, ref string, create bool) (*hub.Keyring, error) {
	keyring, legacy, err := k.paths(ref)
	if err != nil {
		return nil, err
	}
	var kek []byte
	if src := k.source(); src.Set() {
		if kek, _, err = hub.LoadKEK(ctx, src, ref); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(keyring); errors.Is(err, os.ErrNotExist) && legacy != "" && !create {
		// A hub still on its legacy key file.
		keys, err := hub.LoadKeys(legacy, false)
		if err != nil {
			return nil, err
		}
		return &hub.Keyring{Keys: keys}, nil
	}
	return hub.OpenKeyringAt(keyring, legacy, kek, create)
}

// serveKeys returns the keys `rchub serve` runs with. With a KEK (the
// flags, or $RCHUB_KEK) the keyring, wrapped under it — made from the
// legacy key file (then removed) or fresh when there is none. Without one:
// an existing unwrapped keyring, or the legacy key file (PATH.key, created
// for a new bbolt hub; --keys FILE for PostgreSQL) — allowed only on a
// loopback address or with --plain-keys.
func serveKeys(ctx context.Context, env *Env, o *opened, k *kekFlags, plain bool, listen string) (*hub.Keys, error) {
	src := k.source()
	if !src.Set() && !plain && !hub.IsLoopback(listen) {
		return nil, fmt.Errorf("the hub's keys must be wrapped by a key-encryption key kept off the database host: give --kek-file FILE, --kek-command CMD or $%s (or --plain-keys, WARNING: keys in the clear beside the database)", hub.EnvKEK)
	}
	keyring, legacy := *k.keyring, *k.keys
	if keyring == "" && o.pg == nil {
		keyring = hub.KeyringPath(o.ref)
	}
	if legacy == "" && o.pg == nil {
		legacy = hub.KeyFilePath(o.ref)
	}
	if !src.Set() {
		if _, err := os.Stat(keyring); keyring != "" && err == nil {
			kr, err := hub.OpenKeyringAt(keyring, "", nil, false)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(env.Stderr, "rchub: WARNING: the keyring %s is not wrapped: whoever copies the database host reads every personal field (rchub keys wrap)\n", keyring)
			return kr.Keys, nil
		}
		if legacy == "" {
			return nil, fmt.Errorf("--keys FILE is required with PostgreSQL (or --keyring FILE with a KEK): every hub on the database needs the same keys (create them once with `rchub keys create FILE`)")
		}
		return hub.LoadKeys(legacy, o.pg == nil)
	}
	if keyring == "" {
		return nil, fmt.Errorf("give --keyring FILE with PostgreSQL: the keyring every replica opens with the KEK (rchub keys wrap --keyring FILE --keys LEGACY makes it)")
	}
	kek, desc, err := hub.LoadKEK(ctx, src, o.ref)
	if err != nil {
		return nil, err
	}
	kr, err := hub.OpenKeyringAt(keyring, legacy, kek, o.pg == nil)
	if err != nil {
		return nil, err
	}
	switch {
	case kr.Migrated:
		fmt.Fprintf(env.Stderr, "rchub: moved the keys of %s into the keyring %s, wrapped, and removed it\n", legacy, keyring)
	case kr.Created:
		fmt.Fprintf(env.Stderr, "rchub: created the keyring %s\n", keyring)
	}
	fmt.Fprintf(env.Stderr, "rchub: hub keys wrapped by the %s\n", desc)
	return kr.Keys, nil
}

func keysWrap(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "keys wrap")
	ref := f.storeFlag()
	k := addKEKFlags(f)
	oldFile := f.String("old-kek-file", "", "the key-encryption key `file` the keyring is wrapped under now (to rewrap)")
	oldCmd := f.String("old-kek-command", "", "the KMS hook `command` of the key-encryption key the keyring is wrapped under now")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "keys wrap: no arguments expected")
	}
	src := k.source()
	if !src.Set() {
		return failf(env, "keys wrap: give the key-encryption key: --kek-file FILE, --kek-command CMD or $%s", hub.EnvKEK)
	}
	kek, desc, err := hub.LoadKEK(ctx, src, *ref)
	if err != nil {
		return failf(env, "%v", err)
	}
	keyring, legacy, err := k.paths(*ref)
	if err != nil {
		return failf(env, "keys wrap: %v", err)
	}
	var oldKEK []byte
	if *oldFile != "" || *oldCmd != "" {
		if oldKEK, _, err = hub.LoadKEK(ctx, hub.KEKSource{File: *oldFile, Command: *oldCmd}, ""); err != nil {
			return failf(env, "%v", err)
		}
	}
	if _, err := os.Stat(keyring); errors.Is(err, os.ErrNotExist) {
		kr, err := hub.OpenKeyringAt(keyring, legacy, kek, true)
		if err != nil {
			return failf(env, "%v", err)
		}
		if kr.Migrated {
			fmt.Fprintf(env.Stdout, "moved the keys of %s into %s and removed it\n", legacy, keyring)
		}
	} else if err := hub.Rewrap(keyring, oldKEK, kek); err != nil {
		return failf(env, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "%s is wrapped by the %s (KEK id %s): give the same KEK to rchub serve; back the keyring up, and keep the KEK apart from it\n",
		keyring, desc, hub.KEKID(kek))
	if err := recordAdmin(ctx, env, *ref, "keys.wrap", "keyring "+keyring+" wrapped under KEK "+hub.KEKID(kek)); err != nil {
		fmt.Fprintf(env.Stderr, "rchub: WARNING: not in the audit log: %v\n", err)
	}
	return ExitOK
}

func pemKey(k *gm.PublicKey) (string, error) {
	der, err := k.MarshalPKIX()
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

func keysPublic(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "keys public")
	ref := f.storeFlag()
	k := addKEKFlags(f)
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "keys public: no arguments expected")
	}
	kr, err := k.loadKeyring(ctx, *ref, false)
	if err != nil {
		return failf(env, "%v", err)
	}
	enc, err := pemKey(kr.Keys.EncryptionKey())
	if err != nil {
		return failf(env, "%v", err)
	}
	sign, err := pemKey(kr.Keys.SigningKey())
	if err != nil {
		return failf(env, "%v", err)
	}
	pol, err := pemKey(kr.Keys.PolicyKey())
	if err != nil {
		return failf(env, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "# encryption key (terminals seal record pushes to it)\n%s# audit checkpoint key %s (rchub audit verify --pub FILE)\n%s# check policy key (terminals pin it at enrolment; rchub policy set signs with it)\n%s",
		enc, audit.KeyID(kr.Keys.SigningKey()), sign, pol)
	for _, old := range kr.Keys.SigningKeys()[1:] { // earlier key versions (rchub keys rotate)
		p, err := pemKey(old)
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "# earlier audit checkpoint key %s (its checkpoints still verify; give it to --pub too)\n%s", audit.KeyID(old), p)
	}
	return ExitOK
}

func tlsPin(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "tls pin")
	certFile := f.String("cert", "", "the hub's TLS certificate `file` (PEM; the first certificate is the hub's)")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 || *certFile == "" {
		return failf(env, "tls pin: give --cert FILE")
	}
	data, err := env.readFile(*certFile)
	if err != nil {
		return failf(env, "%v", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return failf(env, "tls pin: %s holds no PEM certificate", *certFile)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return failf(env, "tls pin: %v", err)
	}
	env.Stdout.Write(wire.SPKIPinPEM(c))
	return ExitOK
}

// auditStoreOf is the audit log of an opened store.
func auditStoreOf(ctx context.Context, o *opened) (audit.Store, error) {
	if o.bolt != nil {
		return o.bolt.AuditStore(ctx)
	}
	if as, ok := o.store.(hub.AuditStore); ok {
		return as.AuditStore(ctx)
	}
	return nil, fmt.Errorf("this store keeps no audit log")
}

// accountStoreOf is the account store of an opened store.
func accountStoreOf(ctx context.Context, o *opened) (account.Store, error) {
	if o.bolt != nil {
		return o.bolt.AccountStore(ctx)
	}
	if as, ok := o.store.(hub.AccountStore); ok {
		return as.AccountStore(ctx)
	}
	return nil, fmt.Errorf("this store keeps no accounts")
}

// adminCommands are the commands whose runs go into the audit log.
var adminCommands = map[string]bool{
	"token create": true, "token revoke": true, "device revoke": true, "trust anchors": true, "trust publish": true,
	"retention": true, "backup": true, "restore": true, "keys create": true, "audit rotate": true,
	"account create": true, "account scope": true, "account password": true, "account totp": true, "account disable": true,
	"account enable": true, "account signout": true, "policy set": true,
}

// auditCommand logs a run of an administrative command (name, its
// arguments with tokens replaced by their ids, the exit code) in the
// store's audit log. A command forwarded to a serving hub is logged there.
func auditCommand(ctx context.Context, env *Env, name string, args []string, code int) int {
	if !adminCommands[name] || slicesContainsFunc(args, isHelp) {
		return code
	}
	ref := storeArg(args)
	if ref == "" {
		return code
	}
	detail := fmt.Sprintf("rchub %s %s: exit %d", name, strings.Join(scrubArgs(args), " "), code)
	if err := recordAdmin(ctx, env, ref, strings.ReplaceAll(name, " ", "."), detail); err != nil && !errors.Is(err, storage.ErrLocked) {
		fmt.Fprintf(env.Stderr, "rchub: WARNING: not in the audit log: %v\n", err)
	}
	return code
}

// recordAdmin appends an operator's entry to the audit log of ref (inside a
// serving hub: its store). The entry is not signed now: the hub's next
// checkpoint covers it.
func recordAdmin(ctx context.Context, env *Env, ref, action, detail string) error {
	if env.served != nil {
		return recordAdminIn(ctx, env, env.served, action, detail)
	}
	o, err := open(ctx, ref, "")
	if err != nil {
		return err
	}
	defer o.close()
	return recordAdminIn(ctx, env, o, action, detail)
}

// recordAdminIn is recordAdmin with the store opened.
func recordAdminIn(ctx context.Context, env *Env, o *opened, action, detail string) error {
	st, err := auditStoreOf(ctx, o)
	if err != nil {
		return err
	}
	l, err := audit.Open(ctx, audit.Options{Store: st, Clock: env.Clock})
	if err != nil {
		return err
	}
	who, source := "operator", "local"
	if u := os.Getenv("USER"); u != "" {
		who += " " + u
	}
	if env.served != nil {
		source = "admin socket"
	}
	err = l.Record(ctx, audit.Entry{Who: who, Role: audit.RoleOperator, Source: source, Action: action, Detail: detail})
	if cerr := l.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// storeArg finds --store/--db in a command's arguments.
func storeArg(args []string) string {
	for i, a := range args {
		for _, name := range []string{"--store", "-store", "--db", "-db"} {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v
			}
		}
	}
	return ""
}

// scrubArgs replaces tokens in arguments by their ids.
func scrubArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "rcdev_") || strings.HasPrefix(a, "rcsup_") || strings.HasPrefix(a, account.SessionPrefix) {
			a = "token:" + hub.TokenID(gm.SM3([]byte(a)))
		}
		out[i] = audit.Escape(a)
	}
	return out
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

func auditList(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "audit list")
	ref := f.storeFlag()
	from := f.String("from", "", "entries at or after this `time` (RFC 3339)")
	to := f.String("to", "", "entries at or before this `time` (RFC 3339)")
	who := f.String("who", "", "entries whose actor contains this `text` (e.g. a supervisor's name or a device id)")
	limit := f.Int("limit", 0, "at most `N` entries (0: all)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "audit list: no arguments expected")
	}
	var q audit.Query
	var err error
	if q.From, err = parseTime(*from); err != nil {
		return failf(env, "--from: %v", err)
	}
	if q.To, err = parseTime(*to); err != nil {
		return failf(env, "--to: %v", err)
	}
	q.Who = *who
	return withStore(ctx, env, *ref, func(o *opened) int {
		st, err := auditStoreOf(ctx, o)
		if err != nil {
			return failf(env, "%v", err)
		}
		var out []wire.AuditEntry
		for {
			es, more, err := st.AuditEntries(ctx, q)
			if err != nil {
				return failf(env, "%v", err)
			}
			for i := range es {
				if *limit > 0 && len(out) == *limit {
					more = false
					break
				}
				out = append(out, hub.AuditView(&es[i]))
			}
			if !more || len(es) == 0 {
				break
			}
			q.After = es[len(es)-1].Seq
		}
		if *asJSON {
			if out == nil {
				out = []wire.AuditEntry{}
			}
			return printJSON(env, out)
		}
		for _, e := range out {
			line := fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s", e.Seq, e.At.Format(time.RFC3339), audit.Escape(e.Who), e.Role, audit.Escape(e.Source),
				audit.Escape(e.Action), e.Outcome)
			if e.Status != 0 {
				line += fmt.Sprintf(" %d", e.Status)
			}
			if e.Filters != "" {
				line += "\tfilters " + audit.Escape(e.Filters)
			}
			if e.Rows != 0 || len(e.Fields) > 0 {
				line += fmt.Sprintf("\trows %d", e.Rows)
			}
			if len(e.Fields) > 0 {
				line += " fields " + strings.Join(e.Fields, ",")
			}
			if e.Reason != "" {
				line += "\treason " + audit.Escape(e.Reason)
			}
			if e.Detail != "" {
				line += "\t" + audit.Escape(e.Detail)
			}
			fmt.Fprintln(env.Stdout, line)
		}
		return ExitOK
	})
}

func auditVerify(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "audit verify")
	ref := f.storeFlag()
	k := addKEKFlags(f)
	pubFile := f.String("pub", "", "the hub's checkpoint public key `file` (PEM, from rchub keys public; after rotations the earlier keys too): instead of the keyring")
	asJSON := f.Bool("json", false, "print the report as JSON")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return failf(env, "audit verify: no arguments expected")
	}
	var pubs []*gm.PublicKey
	if *pubFile != "" {
		data, err := env.readFile(*pubFile)
		if err != nil {
			return failf(env, "%v", err)
		}
		for { // every PUBLIC KEY block: the current checkpoint key first, then earlier versions
			var b *pem.Block
			if b, data = pem.Decode(data); b == nil {
				break
			}
			pub, err := gm.ParsePKIX(b.Bytes)
			if err != nil {
				return failf(env, "--pub: %v", err)
			}
			pubs = append(pubs, pub)
		}
		if len(pubs) == 0 {
			return failf(env, "--pub: %s holds no PEM block", *pubFile)
		}
	} else {
		kr, err := k.loadKeyring(ctx, *ref, false)
		if err != nil {
			return failf(env, "audit verify: the checkpoint key: %v (or give --pub FILE)", err)
		}
		pubs = kr.Keys.SigningKeys() // every key version: checkpoints name theirs
	}
	return withStore(ctx, env, *ref, func(o *opened) int {
		st, err := auditStoreOf(ctx, o)
		if err != nil {
			return failf(env, "%v", err)
		}
		r, err := audit.VerifyKeys(ctx, st, pubs)
		if err != nil {
			return failf(env, "%v", err)
		}
		if *asJSON {
			printJSON(env, r)
		} else {
			fmt.Fprintf(env.Stdout, "entries %d–%d (%d), %d signed checkpoints (key %s), the last at entry %d; %d entries after it rest on the hash chain alone\n",
				r.First, r.Last, r.Entries, r.Checkpoints, r.KeyID, r.LastCheckpoint, r.Tail)
			if r.Anchor != nil {
				fmt.Fprintf(env.Stdout, "rotated: the log starts after entry %d (signed %s)\n", r.Anchor.Seq, r.Anchor.At.UTC().Format(time.RFC3339))
			}
			for _, p := range r.Problems {
				fmt.Fprintf(env.Stdout, "PROBLEM %s at entry %d: %s\n", p.Kind, p.Seq, p.Detail)
			}
		}
		if !r.OK() {
			fmt.Fprintf(env.Stderr, "rchub: the audit log was tampered with: %d problem(s)\n", len(r.Problems))
			return ExitProblems
		}
		if !*asJSON {
			fmt.Fprintln(env.Stdout, "the audit log is intact")
		}
		return ExitOK
	})
}

func auditRotate(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "audit rotate")
	ref := f.storeFlag()
	keep := f.String("keep", "", "keep entries younger than `DURATION` (e.g. 180d; at least 180d is usual for MLPS level 3)")
	pos, code, done := f.parse(args)
	if done {
		return code
	}
	if len(pos) > 0 || *keep == "" {
		return failf(env, "audit rotate: give --keep DURATION")
	}
	d, err := parseKeep(*keep)
	if err != nil {
		return failf(env, "--keep: %v", err)
	}
	return withStore(ctx, env, *ref, func(o *opened) int {
		st, err := auditStoreOf(ctx, o)
		if err != nil {
			return failf(env, "%v", err)
		}
		l, err := audit.Open(ctx, audit.Options{Store: st, Clock: env.Clock})
		if err != nil {
			return failf(env, "%v", err)
		}
		defer l.Close(ctx)
		rep, err := l.Rotate(ctx, env.Clock.Now().Add(-d), "operator")
		if errors.Is(err, audit.ErrNoCheckpoint) {
			fmt.Fprintf(env.Stdout, "nothing to rotate: no signed checkpoint older than %s\n", *keep)
			return ExitOK
		}
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "removed %d entries up to entry %d; the log now starts from its signed checkpoint\n", rep.Removed, rep.Anchor.Seq)
		return ExitOK
	})
}

// noSealer stands for the hub's keys in commands that need none.
type noSealer struct{}

func (noSealer) Seal([]byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("this command needs the hub's keys (--keyring, KEK flags)")
}
func (noSealer) Open([]byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("this command needs the hub's keys (--keyring, KEK flags)")
}

// readPassword reads a password from a file ("-": standard input), first
// line.
func readPassword(env *Env, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("give --password-file FILE (or - for standard input): a password never goes on the command line")
	}
	var b []byte
	var err error
	if path == "-" && env.served == nil {
		b, err = readAllLimited(os.Stdin)
	} else {
		b, err = env.readFile(path)
	}
	if err != nil {
		return "", err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return strings.TrimRight(string(line), "\r"), nil
}

func readAllLimited(f *os.File) ([]byte, error) {
	buf := make([]byte, 4096)
	n, err := f.Read(buf)
	if n > 0 {
		return buf[:n], nil
	}
	return nil, err
}

// accountService is the account service of the opened store (keys: the
// hub's, for commands that seal TOTP secrets; nil otherwise).
func accountService(ctx context.Context, env *Env, o *opened, keys *hub.Keys) (*account.Service, error) {
	st, err := accountStoreOf(ctx, o)
	if err != nil {
		return nil, err
	}
	var sealer account.Sealer = noSealer{}
	if keys != nil {
		sealer = keys.SecretSealer()
	}
	return account.New(account.Options{Store: st, Sealer: sealer, Clock: env.Clock})
}

// accountCmd is an account command taking one name.
func accountCmd(name string, run func(ctx context.Context, s *account.Service, env *Env, acct string) int) dbCmd {
	return accountCmdWith(dbCmd{name: name}, func(ctx context.Context, s *account.Service, env *Env, c *dbCall) int {
		return run(ctx, s, env, c.args[0])
	})
}

// accountCmdWith is an account command taking one name, with d's own
// flags; with d.kek the service seals under the hub's keys.
func accountCmdWith(d dbCmd, run func(ctx context.Context, s *account.Service, env *Env, c *dbCall) int) dbCmd {
	d.nargs, d.argsErr = 1, d.name+": give one account name"
	d.run = func(ctx context.Context, env *Env, c *dbCall) int {
		var keys *hub.Keys
		if d.kek {
			kr, err := c.keyring(ctx)
			if err != nil {
				return failf(env, "%s: the hub's keys seal TOTP secrets: %v", d.name, err)
			}
			keys = kr.Keys
		}
		s, err := accountService(ctx, env, c.opened, keys)
		if err != nil {
			return failf(env, "%v", err)
		}
		return run(ctx, s, env, c)
	}
	return d
}

func passwordFlag(what string) func(f *flags) {
	return func(f *flags) {
		f.String("password-file", "", "`file` holding the "+what+" password (first line; - for standard input)")
	}
}

var (
	accountCreate = accountCmdWith(dbCmd{name: "account create", kek: true, flags: func(f *flags) {
		f.String("role", "viewer", "viewer (queries, reveals), auditor (queries, the audit log) or administrator")
		f.String("jurisdiction", "", "region-code `prefix` the account sees (44, 4403, 440305) or all")
		passwordFlag("initial")(f)
	}}, func(ctx context.Context, s *account.Service, env *Env, c *dbCall) int {
		pw, err := readPassword(env, c.flag("password-file"))
		if err != nil {
			return failf(env, "account create: %v", err)
		}
		name, role, jur := c.args[0], c.flag("role"), c.flag("jurisdiction")
		enr, err := s.CreateAccount(ctx, name, account.Role(role), jur, pw)
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "created %s (%s of %s)\nTOTP secret (enter it in an authenticator app, or make a QR code of the URL; shown once):\n%s\n%s\n",
			name, role, jur, enr.Secret, enr.URL)
		return ExitOK
	})
	accountTOTP = accountCmdWith(dbCmd{name: "account totp", kek: true}, func(ctx context.Context, s *account.Service, env *Env, c *dbCall) int {
		enr, err := s.ResetTOTP(ctx, c.args[0])
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "new TOTP secret of %s (its sessions ended; shown once):\n%s\n%s\n", c.args[0], enr.Secret, enr.URL)
		return ExitOK
	})
	accountPassword = accountCmdWith(dbCmd{name: "account password", flags: passwordFlag("new")},
		func(ctx context.Context, s *account.Service, env *Env, c *dbCall) int {
			pw, err := readPassword(env, c.flag("password-file"))
			if err != nil {
				return failf(env, "account password: %v", err)
			}
			if err := s.SetPassword(ctx, c.args[0], pw); err != nil {
				return failf(env, "%v", err)
			}
			fmt.Fprintf(env.Stdout, "password of %s set; its sessions ended\n", c.args[0])
			return ExitOK
		})
	accountScope = accountCmdWith(dbCmd{name: "account scope", flags: func(f *flags) {
		f.String("role", "", "new role: viewer, auditor or administrator")
		f.String("jurisdiction", "", "new jurisdiction: a region-code `prefix` or all")
	}}, func(ctx context.Context, s *account.Service, env *Env, c *dbCall) int {
		role, jur := c.flag("role"), c.flag("jurisdiction")
		if role == "" && jur == "" {
			return failf(env, "account scope: give one account name and --role or --jurisdiction")
		}
		if err := s.SetScope(ctx, c.args[0], account.Role(role), jur); err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "scope of %s changed (its sessions see it at their next request)\n", c.args[0])
		return ExitOK
	})
)

var (
	accountDisable = accountCmd("account disable", func(ctx context.Context, s *account.Service, env *Env, name string) int {
		if err := s.Disable(ctx, name); err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "disabled %s; its sessions ended\n", name)
		return ExitOK
	})
	accountEnable = accountCmd("account enable", func(ctx context.Context, s *account.Service, env *Env, name string) int {
		if err := s.Enable(ctx, name); err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "enabled %s\n", name)
		return ExitOK
	})
	accountSignout = accountCmd("account signout", func(ctx context.Context, s *account.Service, env *Env, name string) int {
		n, err := s.RevokeSessions(ctx, name)
		if err != nil {
			return failf(env, "%v", err)
		}
		fmt.Fprintf(env.Stdout, "ended %d session(s) of %s\n", n, name)
		return ExitOK
	})
	accountList = dbCmd{name: "account list", json: true, argsErr: "account list: no arguments expected", run: runAccountList}
)

type accountJSON struct {
	Name         string     `json:"name"`
	Role         string     `json:"role"`
	Jurisdiction string     `json:"jurisdiction"`
	State        string     `json:"state"` // active, locked, disabled
	Created      time.Time  `json:"created"`
	Disabled     *time.Time `json:"disabled,omitempty"`
}

func runAccountList(ctx context.Context, env *Env, c *dbCall) int {
	st, err := accountStoreOf(ctx, c.opened)
	if err != nil {
		return failf(env, "%v", err)
	}
	all, err := st.Accounts(ctx)
	if err != nil {
		return failf(env, "%v", err)
	}
	now := env.Clock.Now()
	out := []accountJSON{}
	for _, a := range all {
		state := "active"
		switch {
		case !a.Disabled.IsZero():
			state = "disabled"
		case now.Before(a.LockedUntil):
			state = "locked until " + stamp(a.LockedUntil)
		}
		out = append(out, accountJSON{Name: a.Name, Role: string(a.Role), Jurisdiction: a.Jurisdiction, State: state, Created: a.Created.UTC(), Disabled: ptr(a.Disabled)})
	}
	if c.json {
		return printJSON(env, out)
	}
	for _, a := range out {
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\t%s\tcreated %s\n", audit.Escape(a.Name), a.Role, a.Jurisdiction, a.State, stamp(a.Created))
	}
	return ExitOK
}

func slicesContainsFunc(s []string, f func(string) bool) bool {
	for _, v := range s {
		if f(v) {
			return true
		}
	}
	return false
}

// sharedLimits is where the hubs on one database count their quotas
// together (PostgreSQL), nil for a bbolt hub (one process: memory).
func sharedLimits(o *opened) limit.Store {
	if o.pg != nil {
		return o.pg
	}
	return nil
}

// auditRetention logs the daily retention of a serving hub (--keep) in its
// audit log.
func auditRetention(ctx context.Context, env *Env, log *slog.Logger, o *opened, keep time.Duration, rep hub.RetainReport) {
	st, err := auditStoreOf(ctx, o)
	if err == nil {
		var l *audit.Log
		if l, err = audit.Open(ctx, audit.Options{Store: st, Clock: env.Clock}); err == nil {
			err = l.Record(ctx, audit.Entry{Who: "hub", Role: audit.RoleHub, Action: "retention", Rows: int(rep.Records),
				Detail: fmt.Sprintf("--keep %s: %d records, %d flags, %d partitions deleted", keep, rep.Records, rep.Flags, rep.Partitions)})
			if cerr := l.Close(ctx); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		log.Warn("retention not in the audit log", "err", err)
	}
}
