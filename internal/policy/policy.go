package policy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Bounds. A policy within the Default* bounds may be signed by the hub or a
// supervisor; wider values (never beyond Ceiling*) need Supervisor set: a
// named supervisor answers for them.
const (
	DefaultClockSkew   = 300 * time.Second
	DefaultMaxTrustAge = 7 * 24 * time.Hour
	DefaultAutoLock    = 5 * time.Minute

	MinAutoLock = time.Minute
	MaxAutoLock = 30 * time.Minute

	// DefaultRetention is how long a delivered record keeps its personal
	// and evidential fields on the terminal when no policy says (issue 10:
	// PIPL, no longer than needed); a policy may say 1–365 days.
	DefaultRetention = 30 * 24 * time.Hour
	MinRetention     = 24 * time.Hour
	MaxRetention     = 365 * 24 * time.Hour

	CeilingClockSkew   = 3600 * time.Second
	CeilingMaxTrustAge = 30 * 24 * time.Hour
)

// Source says who signed a policy.
type Source uint8

// Sources.
const (
	SourceDefault Source = iota // unsigned: the built-in default
	SourceHub                   // the hub's policy key
	SourceDevice                // a supervisor, with the device key
)

func (s Source) String() string {
	switch s {
	case SourceHub:
		return "hub"
	case SourceDevice:
		return "device"
	}
	return "default"
}

func parseSource(s string) (Source, error) {
	switch s {
	case "hub":
		return SourceHub, nil
	case "device":
		return SourceDevice, nil
	}
	return 0, fmt.Errorf("%w: source %q", ErrMalformed, s)
}

// Policy is the check policy in force.
type Policy struct {
	Source Source
	// Seq numbers the policies of one signer; a newer one has a larger Seq.
	Seq    uint64
	Issued time.Time
	// Device is the terminal a device policy is for ("" for the hub's).
	Device string
	// Supervisor is the officer ID of the supervisor who signed it on the
	// device or authorised it on the hub; required for bounds wider than
	// the defaults.
	Supervisor  string
	ClockSkew   time.Duration
	MaxTrustAge time.Duration
	AutoLock    time.Duration
	// Retention is how long delivered records keep their personal fields
	// on the terminal (whole days); zero: the policy does not say (it was
	// signed before policies carried it), DefaultRetention applies (see
	// KeepRecords).
	Retention time.Duration
	// Digest is the SM3 of the signed text (zero for the default): it
	// identifies exactly the policy a check was made under.
	Digest [gm.SM3Size]byte
}

// Default is the built-in policy: 300 s, 7 days, 5 minutes, records kept
// 30 days.
func Default() Policy {
	return Policy{ClockSkew: DefaultClockSkew, MaxTrustAge: DefaultMaxTrustAge, AutoLock: DefaultAutoLock, Retention: DefaultRetention}
}

// KeepRecords is how long delivered records keep their personal fields
// under p: its Retention, or DefaultRetention when it does not say.
func (p Policy) KeepRecords() time.Duration {
	if p.Retention <= 0 {
		return DefaultRetention
	}
	return p.Retention
}

// Verify is the policy as verify takes it.
func (p Policy) Verify() verify.Policy {
	return verify.Policy{ClockSkew: p.ClockSkew, MaxTrustAge: p.MaxTrustAge}
}

// Wide reports whether p is wider than the default bounds.
func (p Policy) Wide() bool {
	return p.ClockSkew > DefaultClockSkew || p.MaxTrustAge > DefaultMaxTrustAge
}

// Check validates p's values against the bounds.
func (p Policy) Check() error {
	switch {
	case p.ClockSkew < 0 || p.ClockSkew > CeilingClockSkew:
		return fmt.Errorf("%w: clock skew %s (0–%s)", ErrOutOfBounds, p.ClockSkew, CeilingClockSkew)
	case p.MaxTrustAge < time.Hour || p.MaxTrustAge > CeilingMaxTrustAge:
		return fmt.Errorf("%w: maximum trust age %s (1 h–%s)", ErrOutOfBounds, p.MaxTrustAge, CeilingMaxTrustAge)
	case p.AutoLock < MinAutoLock || p.AutoLock > MaxAutoLock:
		return fmt.Errorf("%w: auto-lock %s (%s–%s)", ErrOutOfBounds, p.AutoLock, MinAutoLock, MaxAutoLock)
	case p.Retention != 0 && (p.Retention < MinRetention || p.Retention > MaxRetention):
		return fmt.Errorf("%w: record retention %s (1–365 days)", ErrOutOfBounds, p.Retention)
	case p.Wide() && p.Supervisor == "":
		return fmt.Errorf("%w: clock skew over %s or trust age over %s needs a supervisor", ErrOutOfBounds, DefaultClockSkew, DefaultMaxTrustAge)
	case p.Source == SourceDevice && p.Device == "":
		return fmt.Errorf("%w: a device policy names its device", ErrMalformed)
	case p.Source == SourceDevice && p.Supervisor == "":
		return fmt.Errorf("%w: a device policy names the supervisor who signed it", ErrMalformed)
	}
	return nil
}

// Ref is what a check record carries of the policy it was made under.
type Ref struct {
	Source      Source
	Seq         uint64
	Digest      [gm.SM3Size]byte // zero for the default policy
	ClockSkew   time.Duration
	MaxTrustAge time.Duration
}

// Ref is p's reference for a check record.
func (p Policy) Ref() Ref {
	return Ref{Source: p.Source, Seq: p.Seq, Digest: p.Digest, ClockSkew: p.ClockSkew, MaxTrustAge: p.MaxTrustAge}
}

// String is a short form for lists and exports: "hub#3 120s/72h" (the
// signer, the policy's sequence, clock skew and maximum trust age),
// "default 300s/168h" for the built-in policy.
func (r Ref) String() string {
	if r.Source == SourceDefault {
		return fmt.Sprintf("default %ds/%dh", int64(r.ClockSkew/time.Second), int64(r.MaxTrustAge/time.Hour))
	}
	return fmt.Sprintf("%s#%d %ds/%dh", r.Source, r.Seq, int64(r.ClockSkew/time.Second), int64(r.MaxTrustAge/time.Hour))
}

// Check reports whether r is consistent: a known source; the default
// policy has no sequence and no digest, a signed one a digest;
// non-negative durations.
func (r Ref) Check() error {
	zero := r.Digest == [gm.SM3Size]byte{}
	switch {
	case r.Source > SourceDevice:
		return fmt.Errorf("%w: policy source %d", ErrMalformed, r.Source)
	case r.Source == SourceDefault && (r.Seq != 0 || !zero):
		return fmt.Errorf("%w: the default policy has no sequence and no digest", ErrMalformed)
	case r.Source != SourceDefault && zero:
		return fmt.Errorf("%w: a signed policy's reference names its digest", ErrMalformed)
	case r.ClockSkew < 0 || r.MaxTrustAge < 0:
		return fmt.Errorf("%w: negative duration", ErrMalformed)
	}
	return nil
}

// String is a short form for logs and screens: "hub#3 300s/168h/5m/30d"
// (clock skew, maximum trust age, auto-lock, record retention).
func (p Policy) String() string {
	return fmt.Sprintf("%s#%d %ds/%dh/%dm/%dd", p.Source, p.Seq, int(p.ClockSkew/time.Second), int(p.MaxTrustAge/time.Hour), int(p.AutoLock/time.Minute),
		int(p.KeepRecords()/(24*time.Hour)))
}

// signingPrefix starts the signed text. It starts with "RC-REQ-" so that
// the device key can sign it (records.Store.SignRequest signs nothing
// else); no sync request signing string (RC-REQ-1) and no record body can
// be equal to it.
const signingPrefix = "RC-REQ-POLICY-1\n"

// maxSigned bounds a signed policy's size.
const maxSigned = 4096

// fieldOrder is the order of the signed text's fields. The last,
// retention-days, is written only when the policy says (Retention not
// zero): policies signed before it existed have the others only.
var fieldOrder = []string{"source", "seq", "issued", "device", "supervisor", "clock-skew-seconds", "max-trust-age-hours", "auto-lock-minutes", "retention-days"}

// body is p's signed text without the signature line.
func (p Policy) body() []byte {
	var b bytes.Buffer
	b.WriteString(signingPrefix)
	vals := map[string]string{
		"source":              p.Source.String(),
		"seq":                 strconv.FormatUint(p.Seq, 10),
		"issued":              p.Issued.UTC().Format(time.RFC3339),
		"device":              p.Device,
		"supervisor":          p.Supervisor,
		"clock-skew-seconds":  strconv.Itoa(int(p.ClockSkew / time.Second)),
		"max-trust-age-hours": strconv.Itoa(int(p.MaxTrustAge / time.Hour)),
		"auto-lock-minutes":   strconv.Itoa(int(p.AutoLock / time.Minute)),
		"retention-days":      strconv.Itoa(int(p.Retention / (24 * time.Hour))),
	}
	for _, k := range fieldOrder {
		if k == "retention-days" && p.Retention == 0 {
			continue
		}
		b.WriteString(k + ": " + vals[k] + "\n")
	}
	return b.Bytes()
}

// validText reports whether s may be a field's value: printable, no
// spaces or line breaks, at most 64 bytes.
func validText(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// Sign returns p signed by sign (a raw SM2 r || s over its argument:
// gm.PrivateKey.Sign for the hub, records.Store.SignRequest for a device).
// p must pass Check, and its durations are whole seconds, hours and
// minutes. Issued is kept to the second.
func Sign(p Policy, sign func(msg []byte) ([]byte, error)) ([]byte, error) {
	if p.Source != SourceHub && p.Source != SourceDevice {
		return nil, fmt.Errorf("%w: source %s cannot sign", ErrMalformed, p.Source)
	}
	if !validText(p.Device) || !validText(p.Supervisor) {
		return nil, fmt.Errorf("%w: device or supervisor id", ErrMalformed)
	}
	if p.ClockSkew%time.Second != 0 || p.MaxTrustAge%time.Hour != 0 || p.AutoLock%time.Minute != 0 || p.Retention%(24*time.Hour) != 0 {
		return nil, fmt.Errorf("%w: durations are whole seconds, hours, minutes and days", ErrMalformed)
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	body := p.body()
	sig, err := sign(body)
	if err != nil {
		return nil, fmt.Errorf("policy: sign: %w", err)
	}
	if len(sig) != gm.SignatureSize {
		return nil, fmt.Errorf("policy: sign: %d-byte signature", len(sig))
	}
	return append(body, []byte("signature: "+base64.StdEncoding.EncodeToString(sig)+"\n")...), nil
}

// SignWithKey signs p with an SM2 private key (the hub's policy key).
func SignWithKey(p Policy, key *gm.PrivateKey) ([]byte, error) {
	return Sign(p, func(msg []byte) ([]byte, error) { return key.Sign(nil, msg) })
}

// Signed is a parsed, not yet verified, signed policy.
type Signed struct {
	Policy    Policy
	Message   []byte // what was signed
	Signature []byte // raw r || s
}

// Parse reads a signed policy without verifying it: the exact format Sign
// writes (fields in order, "\n" line ends, nothing after the signature).
func Parse(data []byte) (*Signed, error) {
	if len(data) > maxSigned {
		return nil, fmt.Errorf("%w: %d bytes", ErrMalformed, len(data))
	}
	if !bytes.HasPrefix(data, []byte(signingPrefix)) {
		return nil, fmt.Errorf("%w: not an RC-REQ-POLICY-1 text", ErrMalformed)
	}
	i := bytes.LastIndex(data, []byte("signature: "))
	if i < 0 || !bytes.HasSuffix(data, []byte("\n")) || (i > 0 && data[i-1] != '\n') {
		return nil, fmt.Errorf("%w: no signature line", ErrMalformed)
	}
	msg, sigLine := data[:i], strings.TrimSuffix(string(data[i+len("signature: "):]), "\n")
	sig, err := base64.StdEncoding.Strict().DecodeString(sigLine)
	if err != nil || len(sig) != gm.SignatureSize {
		return nil, fmt.Errorf("%w: signature", ErrMalformed)
	}
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(string(msg), signingPrefix), "\n"), "\n")
	if len(lines) != len(fieldOrder) && len(lines) != len(fieldOrder)-1 { // retention-days is optional
		return nil, fmt.Errorf("%w: %d fields, want %d", ErrMalformed, len(lines), len(fieldOrder))
	}
	vals := map[string]string{}
	for j, l := range lines {
		k, v, ok := strings.Cut(l, ": ")
		if !ok || k != fieldOrder[j] || !validText(v) {
			return nil, fmt.Errorf("%w: line %d %q", ErrMalformed, j+2, l)
		}
		vals[k] = v
	}
	var p Policy
	if p.Source, err = parseSource(vals["source"]); err != nil {
		return nil, err
	}
	num := func(k string, bits int) (uint64, error) {
		n, err := strconv.ParseUint(vals[k], 10, bits)
		if err != nil || strconv.FormatUint(n, 10) != vals[k] {
			return 0, fmt.Errorf("%w: %s %q", ErrMalformed, k, vals[k])
		}
		return n, nil
	}
	if p.Seq, err = num("seq", 64); err != nil {
		return nil, err
	}
	if p.Issued, err = time.Parse(time.RFC3339, vals["issued"]); err != nil || p.Issued.UTC().Format(time.RFC3339) != vals["issued"] {
		return nil, fmt.Errorf("%w: issued %q", ErrMalformed, vals["issued"])
	}
	p.Device, p.Supervisor = vals["device"], vals["supervisor"]
	skew, err := num("clock-skew-seconds", 16)
	if err != nil {
		return nil, err
	}
	age, err := num("max-trust-age-hours", 16)
	if err != nil {
		return nil, err
	}
	lock, err := num("auto-lock-minutes", 16)
	if err != nil {
		return nil, err
	}
	p.ClockSkew, p.MaxTrustAge, p.AutoLock = time.Duration(skew)*time.Second, time.Duration(age)*time.Hour, time.Duration(lock)*time.Minute
	if _, ok := vals["retention-days"]; ok {
		days, err := num("retention-days", 16)
		if err != nil {
			return nil, err
		}
		if days == 0 {
			return nil, fmt.Errorf("%w: retention-days 0 (a policy that does not say leaves the line out)", ErrMalformed)
		}
		p.Retention = time.Duration(days) * 24 * time.Hour
	}
	if !bytes.Equal(p.body(), msg) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrMalformed)
	}
	p.Digest = gm.SM3(data)
	return &Signed{Policy: p, Message: bytes.Clone(msg), Signature: sig}, nil
}

// Keys are the keys a terminal trusts policies from.
type Keys struct {
	// Hub is the hub's policy key (nil: the terminal has none, e.g. no hub).
	Hub *gm.PublicKey
	// Device is this terminal's key, DeviceID its id (nil: not known yet,
	// e.g. the records are locked).
	Device   *gm.PublicKey
	DeviceID string
	// HubSeq and DeviceSeq are the highest sequences this terminal has
	// applied of each signer (0: none yet): an older policy of that signer
	// is refused (ErrRollback). The same sequence is accepted: it is the
	// policy applied (a signer never signs two under one sequence).
	HubSeq, DeviceSeq uint64
}

// Verify parses data and checks its signature against the key of its
// source, that it is not older than what the terminal applied of that
// signer (Keys.HubSeq, Keys.DeviceSeq), and its bounds. It returns the
// policy only when all hold; otherwise nothing of it applies.
func Verify(data []byte, keys Keys) (Policy, error) {
	s, err := Parse(data)
	if err != nil {
		return Policy{}, err
	}
	var key *gm.PublicKey
	switch s.Policy.Source {
	case SourceHub:
		key = keys.Hub
	case SourceDevice:
		key = keys.Device
		if key != nil && s.Policy.Device != keys.DeviceID {
			return Policy{}, fmt.Errorf("%w: %q, this is %q", ErrWrongDevice, s.Policy.Device, keys.DeviceID)
		}
	}
	if key == nil {
		return Policy{}, fmt.Errorf("%w: %s", ErrNoKey, s.Policy.Source)
	}
	ok, err := key.Verify(s.Message, s.Signature)
	if err != nil || !ok {
		return Policy{}, ErrBadSignature
	}
	floor := keys.HubSeq
	if s.Policy.Source == SourceDevice {
		floor = keys.DeviceSeq
	}
	if s.Policy.Seq < floor {
		return Policy{}, fmt.Errorf("%w: %s policy #%d, #%d applied", ErrRollback, s.Policy.Source, s.Policy.Seq, floor)
	}
	if err := s.Policy.Check(); err != nil {
		return Policy{}, err
	}
	return s.Policy, nil
}

// FileFor is the policy file of the terminal database at dbPath: beside
// it, named from it.
func FileFor(dbPath string) string { return dbPath + ".policy" }

// Load reads and verifies the policy file at path. A missing file gives
// the default policy and no error; any other failure the default policy
// and the error (the caller says the file was refused).
func Load(ctx context.Context, path string, keys Keys) (Policy, error) {
	if err := ctx.Err(); err != nil {
		return Default(), err
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Default(), nil
	case err != nil:
		return Default(), fmt.Errorf("policy: %w", err)
	}
	p, err := Verify(data, keys)
	if err != nil {
		return Default(), fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// Save replaces the policy file at path with data (a signed policy that
// Parse accepts), atomically: a temporary file beside it, synced, then
// renamed.
func Save(ctx context.Context, path string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := Parse(data); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("policy: save: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("policy: save: %w", err)
	}
	return nil
}

// DigestHex is the policy's digest in hex (empty for the default).
func (p Policy) DigestHex() string {
	if p.Digest == ([gm.SM3Size]byte{}) {
		return ""
	}
	return hex.EncodeToString(p.Digest[:])
}
