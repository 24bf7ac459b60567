package keys

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// PIN derivation parameters.
const (
	// DefaultIterations is the PBKDF2-HMAC-SM3 iteration count of new PINs.
	DefaultIterations = 200_000
	// MinIterations is the floor: a directory entry with fewer iterations
	// is refused on load (unless VaultOptions.Iterations asks for fewer,
	// which only tests do).
	MinIterations = 100_000
	// maxIterations bounds the cost a directory may ask for, so a damaged
	// or hostile entry cannot hang sign-in.
	maxIterations = 10_000_000
	secretSize    = 32
	maxOfficers   = 1000
)

var (
	keyDeviceSeal = []byte("device")
	keyDirectory  = []byte("dir")
)

// VaultOptions configure OpenVault.
type VaultOptions struct {
	// Clock measures lock-outs (nil: the real clock).
	Clock clock.Clock
	// Iterations is the PBKDF2 count of new PINs (0: DefaultIterations).
	// The load floor is the lower of it and MinIterations.
	Iterations int
	// Rand is the randomness for new keys (nil: crypto/rand).
	Rand io.Reader
	// LegacyKeyFile is the key file of a terminal set up before the vault
	// (KeyFilePath of the database): it unlocks the data key once to
	// migrate, then is deleted. "" : none.
	LegacyKeyFile string
}

// Vault is the officer directory of one terminal and the officers' slots
// over its data key, in the database, authenticated with the device
// seal's key. It is safe for concurrent use.
type Vault struct {
	db      *storage.DB
	dev     Device
	clk     clock.Clock
	rand    io.Reader
	iter    int
	floor   int
	legacy  string
	macKey  []byte
	mu      sync.Mutex
	dir     directory
	dummy   []byte
	created bool
}

type deviceSeal struct {
	Kind string `cbor:"1,keyasint"`
	Blob []byte `cbor:"2,keyasint"`
}

type envelope struct {
	Body []byte `cbor:"1,keyasint"`
	MAC  []byte `cbor:"2,keyasint"`
}

type directory struct {
	Version  int     `cbor:"1,keyasint"`
	Officers []entry `cbor:"2,keyasint"`
}

// entry is one officer as stored.
type entry struct {
	ID          string `cbor:"1,keyasint"`
	Name        string `cbor:"2,keyasint"`
	Role        Role   `cbor:"3,keyasint"`
	Iter        int    `cbor:"4,keyasint"`
	Salt        []byte `cbor:"5,keyasint"`
	PINLen      int    `cbor:"6,keyasint"`
	Seal        []byte `cbor:"7,keyasint,omitempty"`  // device seal of the officer secret
	Slot        []byte `cbor:"8,keyasint,omitempty"`  // SM4-GCM(KEK, data key)
	RoleMAC     []byte `cbor:"9,keyasint,omitempty"`  // HMAC-SM3(role key, id, role)
	Failures    int    `cbor:"10,keyasint,omitempty"` // wrong PINs in a row
	LockedUntil int64  `cbor:"11,keyasint,omitempty"` // Unix ms
	LegacyHash  []byte `cbor:"12,keyasint,omitempty"` // imported PBKDF2 hash, until the first sign-in
}

func (e *entry) officer() Officer {
	o := Officer{ID: e.ID, Name: e.Name, Role: e.Role, Failures: e.Failures, Legacy: e.LegacyHash != nil}
	if e.LockedUntil != 0 {
		o.LockedUntil = time.UnixMilli(e.LockedUntil)
	}
	return o
}

const directoryVersion = 1

// parseDirectory decodes and checks a directory body: every entry must be
// one Add could have written, at or above the floor.
func parseDirectory(body []byte, floor int) (directory, error) {
	var d directory
	if err := strictDec.Unmarshal(body, &d); err != nil {
		return d, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if d.Version != directoryVersion {
		return d, fmt.Errorf("%w: version %d", ErrMalformed, d.Version)
	}
	if len(d.Officers) > maxOfficers {
		return d, fmt.Errorf("%w: %d officers", ErrMalformed, len(d.Officers))
	}
	seen := map[string]bool{}
	for i, e := range d.Officers {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: entry %d: "+format, append([]any{ErrDirectory, i}, args...)...)
		}
		switch {
		case !ValidOfficerID(e.ID) || seen[e.ID]:
			return d, bad("invalid or repeated officer ID %q", e.ID)
		case !validName(e.Name):
			return d, bad("invalid name")
		case !e.Role.Valid():
			return d, bad("unknown role %d", e.Role)
		case e.Iter < floor || e.Iter > maxIterations:
			return d, bad("PIN hash with %d iterations (floor %d)", e.Iter, floor)
		case e.PINLen < MinPINLength || e.PINLen > MaxPINLength:
			return d, bad("PIN of %d digits (at least %d)", e.PINLen, MinPINLength)
		case len(e.Salt) != 16:
			return d, bad("salt of %d bytes", len(e.Salt))
		case e.Failures < 0 || e.Failures >= MaxPINAttempts || e.LockedUntil < 0:
			return d, bad("lock-out state out of range")
		case e.LegacyHash != nil && (len(e.LegacyHash) != 32 || e.Seal != nil || e.Slot != nil || e.RoleMAC != nil):
			return d, bad("damaged legacy PIN hash")
		case e.LegacyHash == nil && (len(e.Seal) == 0 || len(e.Seal) > 4096 || len(e.Slot) != gm.GCMNonceSize+gm.SM4KeySize+16 || len(e.RoleMAC) != 32):
			return d, bad("damaged key slot")
		}
		seen[e.ID] = true
	}
	return d, nil
}

// OpenVault opens the vault of db on dev, creating the device seal when
// db has none yet. A database sealed to a TPM refuses a device file and
// the other way round (ErrDevice); a directory whose MAC does not verify,
// or with an entry below the floor, is refused (ErrDirectory).
func OpenVault(ctx context.Context, db *storage.DB, dev Device, o VaultOptions) (*Vault, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v := &Vault{db: db, dev: dev, clk: o.Clock, rand: o.Rand, iter: o.Iterations, legacy: o.LegacyKeyFile, dir: directory{Version: directoryVersion}}
	if v.clk == nil {
		v.clk = clock.Real{}
	}
	if v.rand == nil {
		v.rand = rand.Reader
	}
	if v.iter <= 0 {
		v.iter = DefaultIterations
	}
	v.floor = min(v.iter, MinIterations)
	v.dummy = make([]byte, 16)
	var sealV, dirV []byte
	err := db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(storage.BucketKeys); b != nil {
			sealV, dirV = bytes.Clone(b.Get(keyDeviceSeal)), bytes.Clone(b.Get(keyDirectory))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var D []byte
	if sealV == nil {
		if dirV != nil {
			return nil, fmt.Errorf("%w: directory without a device seal", ErrDirectory)
		}
		D = make([]byte, secretSize)
		if _, err := io.ReadFull(v.rand, D); err != nil {
			return nil, err
		}
		blob, err := dev.Seal(ctx, nil, D, false)
		if err != nil {
			return nil, err
		}
		if t, ok := dev.(*TPM); ok {
			_ = t.SetDAParameters(DAMaxTries, DARecoverySeconds, DALockoutRecovery) // best effort: the owner may have set a lock-out password
		}
		sv, err := cbor.Marshal(&deviceSeal{Kind: dev.Kind(), Blob: blob})
		if err != nil {
			return nil, err
		}
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(storage.BucketKeys)
			if err != nil {
				return err
			}
			if b.Get(keyDeviceSeal) != nil {
				return fmt.Errorf("keys: device seal created concurrently")
			}
			return b.Put(keyDeviceSeal, sv)
		})
		if err != nil {
			return nil, fmt.Errorf("keys: storing the device seal: %w", err)
		}
		v.created = true
	} else {
		var ds deviceSeal
		if err := strictDec.Unmarshal(sealV, &ds); err != nil {
			return nil, fmt.Errorf("%w: device seal: %v", ErrMalformed, err)
		}
		if ds.Kind != dev.Kind() {
			return nil, fmt.Errorf("%w: this terminal's keys are bound to a %s device root, not to %s (%s)", ErrDevice, ds.Kind, dev.Kind(), dev.Describe())
		}
		if D, err = dev.Unseal(ctx, ds.Blob, nil); err != nil {
			if errors.Is(err, ErrSignIn) {
				err = fmt.Errorf("%w: the device seal does not open on this device", ErrDevice)
			}
			return nil, err
		}
	}
	v.macKey = derive(D, "directory")
	if dirV != nil {
		var env envelope
		if err := strictDec.Unmarshal(dirV, &env); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDirectory, err)
		}
		if !hmac.Equal(v.mac(env.Body), env.MAC) {
			return nil, fmt.Errorf("%w: the directory was changed outside RoadCheck (its MAC does not verify)", ErrDirectory)
		}
		if v.dir, err = parseDirectory(env.Body, v.floor); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (v *Vault) mac(body []byte) []byte {
	m := hmac.New(gm.NewSM3, v.macKey)
	m.Write(body)
	return m.Sum(nil)
}

// vaultHasOfficers reports, inside tx, whether the vault has a directory
// with officers (so that the legacy slots are not the only way in).
func vaultHasOfficers(tx *bolt.Tx) bool {
	b := tx.Bucket(storage.BucketKeys)
	if b == nil {
		return false
	}
	var env envelope
	if b.Get(keyDirectory) == nil || strictDec.Unmarshal(b.Get(keyDirectory), &env) != nil {
		return false
	}
	var d directory
	return strictDec.Unmarshal(env.Body, &d) == nil && len(d.Officers) > 0
}

// write stores d (MAC'd) and makes it current; v.mu is held.
func (v *Vault) write(d directory, also func(tx *bolt.Tx) error) error {
	body, err := cbor.Marshal(&d)
	if err != nil {
		return err
	}
	ev, err := cbor.Marshal(&envelope{Body: body, MAC: v.mac(body)})
	if err != nil {
		return err
	}
	err = v.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(storage.BucketKeys)
		if err != nil {
			return err
		}
		if err := b.Put(keyDirectory, ev); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keys: writing the officer directory: %w", err)
	}
	v.dir = d
	return nil
}

// Kind is the device root's kind (KindTPM or KindFile).
func (v *Vault) Kind() string { return v.dev.Kind() }

// Status says what protects this terminal's keys, for the status bar and
// the trust summary.
type Status struct {
	// Kind is KindTPM or KindFile; Bound is true with a TPM.
	Kind  string
	Bound bool
	// Text describes the protection in one line; Warning, without a TPM,
	// says what remains exposed ("" with a TPM).
	Text    string
	Warning string
}

// NoTPMWarning is Status.Warning without a TPM.
const NoTPMWarning = "no TPM on this terminal: someone who copies its whole data directory (database and device file) can guess officers' PINs offline, about 0.15 s per guess per CPU core (every 6-digit PIN in about a day on two cores; use 10–12 digits); a copy of the database alone cannot be opened"

// Status describes the vault's device root.
func (v *Vault) Status() Status {
	s := Status{Kind: v.dev.Kind(), Bound: v.dev.Kind() == KindTPM, Text: v.dev.Describe()}
	if !s.Bound {
		s.Warning = NoTPMWarning
	}
	return s
}

// Officers returns the directory, sorted by ID.
func (v *Vault) Officers() []Officer {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]Officer, 0, len(v.dir.Officers))
	for _, e := range v.dir.Officers {
		out = append(out, e.officer())
	}
	slices.SortFunc(out, func(a, b Officer) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Officer returns the officer with id.
func (v *Vault) Officer(id string) (Officer, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if i := v.find(id); i >= 0 {
		return v.dir.Officers[i].officer(), true
	}
	return Officer{}, false
}

// Count is the number of officers.
func (v *Vault) Count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.dir.Officers)
}

func (v *Vault) find(id string) int {
	return slices.IndexFunc(v.dir.Officers, func(e entry) bool { return e.ID == id })
}

func (v *Vault) pinAuth(pin string, salt []byte, iter int) ([]byte, error) {
	return pbkdf2.Key(gm.NewSM3, pin, salt, iter, 32)
}

func kek(secret []byte, id string) []byte {
	m := hmac.New(gm.NewSM3, secret)
	m.Write([]byte("roadcheck/keys/officer-kek/v1\x00" + id))
	return m.Sum(nil)[:gm.SM4KeySize]
}

func slotAD(id string) []byte { return []byte("officer-slot/v1/" + id) }

func roleMAC(k *Keyring, id string, r Role) []byte {
	m := hmac.New(gm.NewSM3, k.roles)
	m.Write([]byte(id))
	m.Write([]byte{0, byte(r)})
	return m.Sum(nil)
}

// newEntry seals a fresh officer secret to the device under pin and wraps
// k's data key with it.
func (v *Vault) newEntry(ctx context.Context, o Officer, pin string, k *Keyring) (entry, error) {
	o.ID, o.Name = strings.TrimSpace(o.ID), strings.TrimSpace(o.Name)
	if !ValidOfficerID(o.ID) || !validName(o.Name) || !o.Role.Valid() {
		return entry{}, fmt.Errorf("%w: ID (1–%d letters, digits or '-'), name and role are required", ErrOfficer, MaxOfficerIDLength)
	}
	if !ValidPIN(pin) {
		return entry{}, ErrWeakPIN
	}
	e := entry{ID: o.ID, Name: o.Name, Role: o.Role, Iter: v.iter, Salt: make([]byte, 16), PINLen: len(pin)}
	secret := make([]byte, secretSize)
	if _, err := io.ReadFull(v.rand, e.Salt); err != nil {
		return entry{}, err
	}
	if _, err := io.ReadFull(v.rand, secret); err != nil {
		return entry{}, err
	}
	auth, err := v.pinAuth(pin, e.Salt, e.Iter)
	if err != nil {
		return entry{}, err
	}
	if e.Seal, err = v.dev.Seal(ctx, auth, secret, true); err != nil {
		return entry{}, err
	}
	a, err := gm.NewAEAD(kek(secret, e.ID), v.rand)
	if err != nil {
		return entry{}, err
	}
	if e.Slot, err = a.Seal(k.dk, slotAD(e.ID)); err != nil {
		return entry{}, err
	}
	e.RoleMAC = roleMAC(k, e.ID, e.Role)
	return e, nil
}

// Session is a signed-in officer with the terminal's keyring. Supervisors'
// sessions also manage the directory.
type Session struct {
	v       *Vault
	Officer Officer
	k       *Keyring
}

// Keyring is the unlocked keyring.
func (s *Session) Keyring() *Keyring { return s.k }

// Provision creates the first officer, a supervisor, on a vault without
// officers: a new keyring when db has none, or, on a terminal set up
// before the vault, the keyring legacy unlocks (nil: the vault's
// LegacyKeyFile). The legacy slots are then retired (and the key file
// deleted).
func (v *Vault) Provision(ctx context.Context, o Officer, pin string, legacy Source) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.Role != RoleSupervisor {
		return nil, fmt.Errorf("%w: the first officer must be a supervisor", ErrOfficer)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.dir.Officers) > 0 {
		return nil, fmt.Errorf("%w: the terminal already has officers", ErrOfficer)
	}
	exists, err := Exists(ctx, v.db)
	if err != nil {
		return nil, err
	}
	var k *Keyring
	if exists {
		if legacy == nil && v.legacy != "" {
			legacy = KeyFile(v.legacy)
		}
		if legacy == nil {
			return nil, fmt.Errorf("%w: this terminal has device keys from an earlier version; its key file is needed once", ErrNoOfficers)
		}
		if k, err = Load(ctx, v.db, legacy); err != nil {
			return nil, err
		}
	} else {
		if k, err = Generate(v.rand); err != nil {
			return nil, err
		}
	}
	e, err := v.newEntry(ctx, o, pin, k)
	if err != nil {
		return nil, err
	}
	next := directory{Version: directoryVersion, Officers: []entry{e}}
	err = v.write(next, func(tx *bolt.Tx) error {
		dev, err := tx.CreateBucketIfNotExists(storage.BucketDevice)
		if err != nil {
			return err
		}
		if !exists {
			return putKeyring(dev, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := v.retireLegacy(ctx); err != nil {
		return nil, err
	}
	return &Session{v: v, Officer: e.officer(), k: k}, nil
}

// SignIn unlocks the keyring with an officer's PIN: the PIN derivation
// unseals the officer's secret (on a TPM: inside the TPM, which counts a
// wrong PIN), which unwraps the data key. A wrong ID or PIN gives
// ErrSignIn; MaxPINAttempts wrong PINs in a row lock the officer out for
// Lockout (*LockedOutError), kept in the directory; a TPM in lock-out gives
// ErrDeviceLockout; a role edited in the directory gives ErrDirectory.
// An officer imported from an earlier version is migrated to a sealed
// slot at their first sign-in.
func (v *Vault) SignIn(ctx context.Context, id, pin string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	v.mu.Lock()
	defer v.mu.Unlock()
	i := v.find(id)
	if i < 0 {
		_, _ = v.pinAuth(pin, v.dummy, v.iter) // as slow as a known ID
		return nil, ErrSignIn
	}
	e := v.dir.Officers[i]
	now := v.clk.Now()
	if e.LockedUntil != 0 && now.UnixMilli() < e.LockedUntil {
		return nil, &LockedOutError{Until: time.UnixMilli(e.LockedUntil)}
	}
	auth, err := v.pinAuth(pin, e.Salt, e.Iter)
	if err != nil {
		return nil, err
	}
	var secret []byte
	if e.LegacyHash != nil {
		if subtle.ConstantTimeCompare(auth, e.LegacyHash) != 1 {
			err = ErrSignIn
		}
	} else {
		secret, err = v.dev.Unseal(ctx, e.Seal, auth)
	}
	if errors.Is(err, ErrSignIn) {
		e.Failures++
		if e.Failures >= MaxPINAttempts {
			e.Failures, e.LockedUntil = 0, now.Add(Lockout).UnixMilli()
		}
		if werr := v.replace(i, e, nil); werr != nil {
			return nil, werr
		}
		if e.LockedUntil != 0 && now.UnixMilli() < e.LockedUntil {
			return nil, &LockedOutError{Until: time.UnixMilli(e.LockedUntil)}
		}
		return nil, ErrSignIn
	}
	if err != nil {
		return nil, err
	}
	var k *Keyring
	if e.LegacyHash != nil {
		if !ValidPIN(pin) {
			// An imported PIN below the floor (a hand-edited file): the
			// officer cannot move to a sealed slot with it.
			return nil, fmt.Errorf("%w: the PIN of %s is below the floor; a supervisor must give them a new one", ErrWeakPIN, id)
		}
		if k, err = v.legacyKeyring(ctx, id, pin); err != nil {
			return nil, err
		}
		ne, err := v.newEntry(ctx, e.officer(), pin, k)
		if err != nil {
			return nil, err
		}
		e = ne
	} else {
		a, err := gm.NewAEAD(kek(secret, e.ID), v.rand)
		if err != nil {
			return nil, err
		}
		dk, err := a.Open(e.Slot, slotAD(e.ID))
		if err != nil {
			return nil, fmt.Errorf("%w: the key slot of %s does not open", ErrDirectory, e.ID)
		}
		if k, err = v.loadDK(ctx, dk); err != nil {
			return nil, err
		}
		if !hmac.Equal(roleMAC(k, e.ID, e.Role), e.RoleMAC) {
			return nil, fmt.Errorf("%w: the role of %s was changed outside RoadCheck", ErrDirectory, e.ID)
		}
	}
	e.Failures, e.LockedUntil = 0, 0
	if !equalEntry(e, v.dir.Officers[i]) {
		if err := v.replace(i, e, nil); err != nil {
			return nil, err
		}
		if err := v.retireLegacy(ctx); err != nil {
			return nil, err
		}
	}
	return &Session{v: v, Officer: e.officer(), k: k}, nil
}

func equalEntry(a, b entry) bool {
	x, _ := cbor.Marshal(&a)
	y, _ := cbor.Marshal(&b)
	return bytes.Equal(x, y)
}

func (v *Vault) loadDK(ctx context.Context, dk []byte) (*Keyring, error) {
	var sealedKey, pubDER []byte
	err := v.db.View(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		if dev == nil || dev.Get(keySignKey) == nil {
			return fmt.Errorf("%w: the database has no device keys", storage.ErrDamaged)
		}
		sealedKey, pubDER = bytes.Clone(dev.Get(keySignKey)), bytes.Clone(dev.Get(keyPublic))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return unlockSignKey(dk, sealedKey, pubDER, v.rand)
}

// legacyKeyring unlocks the data key of a terminal from before the vault
// for an officer's migration: their PIN slot, else the key file; a
// terminal that never stored device keys gets its keyring now; v.mu is
// held.
func (v *Vault) legacyKeyring(ctx context.Context, id, pin string) (*Keyring, error) {
	if exists, err := Exists(ctx, v.db); err != nil {
		return nil, err
	} else if !exists {
		return v.firstKeyring(ctx)
	}
	k, err := Load(ctx, v.db, OfficerPIN(id, pin))
	if err == nil || v.legacy == "" {
		return k, err
	}
	return Load(ctx, v.db, KeyFile(v.legacy))
}

// replace stores e at index i; v.mu is held.
func (v *Vault) replace(i int, e entry, also func(*bolt.Tx) error) error {
	next := directory{Version: directoryVersion, Officers: slices.Clone(v.dir.Officers)}
	next.Officers[i] = e
	return v.write(next, also)
}

// retireLegacy removes the legacy slots of officers who have a sealed
// slot and, once no imported officer is left, the key-file and
// passphrase slots and the key file itself; v.mu is held.
func (v *Vault) retireLegacy(ctx context.Context) error {
	slots, err := Slots(ctx, v.db)
	if err != nil || len(slots) == 0 {
		return err
	}
	pending := false
	sealed := map[string]bool{}
	for _, e := range v.dir.Officers {
		if e.LegacyHash != nil {
			pending = true
		} else {
			sealed[e.ID] = true
		}
	}
	var drop []string
	for _, s := range slots {
		if id, ok := strings.CutPrefix(s, OfficerSlotPrefix); ok && sealed[id] || !pending && (s == "keyfile" || s == "pin" || strings.HasPrefix(s, OfficerSlotPrefix)) {
			drop = append(drop, s)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	err = v.db.Update(func(tx *bolt.Tx) error {
		dev := tx.Bucket(storage.BucketDevice)
		for _, s := range drop {
			if err := dev.Delete(slotKey(s)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keys: retiring legacy slots: %w", err)
	}
	if !pending && v.legacy != "" {
		if err := os.Remove(v.legacy); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("keys: removing the legacy key file: %w", err)
		}
	}
	return nil
}

func (s *Session) supervisor() error {
	if s.Officer.Role != RoleSupervisor {
		return ErrNotSupervisor
	}
	return nil
}

// AddOfficer adds an officer with pin (supervisors only). ErrOfficer for a
// taken or invalid ID, name or role; ErrWeakPIN for a PIN that is not
// MinPINLength–MaxPINLength digits.
func (s *Session) AddOfficer(ctx context.Context, o Officer, pin string) error {
	if err := s.supervisor(); err != nil {
		return err
	}
	e, err := s.v.newEntry(ctx, o, pin, s.k)
	if err != nil {
		return err
	}
	v := s.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.find(e.ID) >= 0 {
		return fmt.Errorf("%w: ID %s is taken", ErrOfficer, e.ID)
	}
	if len(v.dir.Officers) >= maxOfficers {
		return fmt.Errorf("%w: at most %d officers", ErrOfficer, maxOfficers)
	}
	next := directory{Version: directoryVersion, Officers: append(slices.Clone(v.dir.Officers), e)}
	return v.write(next, nil)
}

// ResetPIN gives officer id a new PIN (supervisors only): the forgotten-PIN
// path. A new secret is sealed under the new PIN and wraps the data key
// again; the old seal is dropped and the lock-out cleared.
func (s *Session) ResetPIN(ctx context.Context, id, pin string) error {
	if err := s.supervisor(); err != nil && id != s.Officer.ID {
		return err
	}
	return s.rewrap(ctx, id, pin)
}

// ChangePIN changes the signed-in officer's own PIN.
func (s *Session) ChangePIN(ctx context.Context, pin string) error {
	return s.rewrap(ctx, s.Officer.ID, pin)
}

func (s *Session) rewrap(ctx context.Context, id, pin string) error {
	v := s.v
	cur, ok := v.Officer(id)
	if !ok {
		return fmt.Errorf("%w: no officer %s", ErrOfficer, id)
	}
	e, err := v.newEntry(ctx, cur, pin, s.k)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	i := v.find(id)
	if i < 0 {
		return fmt.Errorf("%w: no officer %s", ErrOfficer, id)
	}
	if err := v.replace(i, e, nil); err != nil {
		return err
	}
	return v.retireLegacy(ctx)
}

// SetRole changes officer id's role (supervisors only). The last
// supervisor cannot be demoted.
func (s *Session) SetRole(ctx context.Context, id string, r Role) error {
	if err := s.supervisor(); err != nil {
		return err
	}
	if !r.Valid() {
		return fmt.Errorf("%w: role %d", ErrOfficer, r)
	}
	v := s.v
	v.mu.Lock()
	defer v.mu.Unlock()
	i := v.find(id)
	if i < 0 {
		return fmt.Errorf("%w: no officer %s", ErrOfficer, id)
	}
	e := v.dir.Officers[i]
	if e.LegacyHash != nil {
		return fmt.Errorf("%w: %s must sign in once before their role can change", ErrOfficer, id)
	}
	if e.Role == RoleSupervisor && r != RoleSupervisor && v.supervisors() == 1 {
		return fmt.Errorf("%w: %s is the last supervisor", ErrOfficer, id)
	}
	e.Role, e.RoleMAC = r, roleMAC(s.k, e.ID, r)
	return v.replace(i, e, nil)
}

func (v *Vault) supervisors() int {
	n := 0
	for _, e := range v.dir.Officers {
		if e.Role == RoleSupervisor {
			n++
		}
	}
	return n
}

// Remove deletes officer id (supervisors only); not the last supervisor.
func (s *Session) Remove(ctx context.Context, id string) error {
	if err := s.supervisor(); err != nil {
		return err
	}
	v := s.v
	v.mu.Lock()
	defer v.mu.Unlock()
	i := v.find(id)
	if i < 0 {
		return fmt.Errorf("%w: no officer %s", ErrOfficer, id)
	}
	if v.dir.Officers[i].Role == RoleSupervisor && v.supervisors() == 1 {
		return fmt.Errorf("%w: %s is the last supervisor", ErrOfficer, id)
	}
	next := directory{Version: directoryVersion, Officers: slices.Delete(slices.Clone(v.dir.Officers), i, i+1)}
	return v.write(next, func(tx *bolt.Tx) error {
		if dev := tx.Bucket(storage.BucketDevice); dev != nil {
			return dev.Delete(slotKey(OfficerSlotPrefix + id))
		}
		return nil
	})
}

// ClearLockout ends officer id's lock-out (supervisors only). The TPM's
// own dictionary-attack lock-out is not affected.
func (s *Session) ClearLockout(ctx context.Context, id string) error {
	if err := s.supervisor(); err != nil {
		return err
	}
	v := s.v
	v.mu.Lock()
	defer v.mu.Unlock()
	i := v.find(id)
	if i < 0 {
		return fmt.Errorf("%w: no officer %s", ErrOfficer, id)
	}
	e := v.dir.Officers[i]
	e.Failures, e.LockedUntil = 0, 0
	return v.replace(i, e, nil)
}
