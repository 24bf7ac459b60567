package audit

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/gm"
)

// Outcomes of an audited action.
const (
	OutcomeOK      = "ok"      // done
	OutcomeDenied  = "denied"  // authentication failed or the actor may not do it
	OutcomeRefused = "refused" // a limit, a bad request or a conflict
	OutcomeError   = "error"   // the hub failed
)

// Roles of actors that are not supervisors.
const (
	RoleAnonymous = "anonymous" // not authenticated (yet)
	RoleDevice    = "device"
	RoleOperator  = "operator" // a local rchub command on the hub's host
	RoleHub       = "hub"      // the hub itself (rotation, bursts)
)

// Entry is one audited event. Seq, Prev and Hash are set by the Log.
type Entry struct {
	Seq     uint64
	At      time.Time
	Who     string // "device T-…", "supervisor alice", "token 0a1b2c3d4e5f6789", "operator", "-" when unknown
	Role    string // RoleDevice, a supervisor role, "automation", RoleOperator, RoleAnonymous, RoleHub
	Source  string // remote address ("" for local commands)
	Action  string // "POST /v1/records", "token.create", "record.reveal" …
	Outcome string // Outcome*
	Status  int    // HTTP status (0: not an HTTP request)
	Filters string // a query's filters, canonical (sorted key=value&…)
	Rows    int    // rows returned or changed
	Fields  []string
	Reason  string // a reveal's reason, a refusal's cause
	Detail  string
	// Nonce is the nonce of a signed device request: the audit log keeps
	// the nonces of the replay window across restarts.
	Nonce string
	Prev  [gm.SM3Size]byte
	Hash  [gm.SM3Size]byte
}

// Personal fields, as named in Entry.Fields.
const (
	FieldHolder   = "holder"
	FieldHolderID = "holder_id"
	FieldPlate    = "plate"
	FieldLocation = "location"
)

// limits of the text fields of an entry (longer text is cut, marked "…").
const (
	maxShort = 256
	maxLong  = 2048
)

// canonical is the form an entry's hash covers (CBOR array, core
// deterministic encoding).
type canonical struct {
	_       struct{} `cbor:",toarray"`
	Version uint
	Seq     uint64
	At      int64 // Unix ms
	Who     string
	Role    string
	Source  string
	Action  string
	Outcome string
	Status  int
	Filters string
	Rows    int
	Fields  []string
	Reason  string
	Detail  string
	Prev    []byte
	Nonce   string
}

var encMode = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// hashDomain separates entry hashes from every other SM3 use.
const hashDomain = "RC-AUDIT-1\n"

// ComputeHash returns the hash the entry must carry: SM3 over the domain
// and the canonical form of every field but Hash (Prev included).
func (e *Entry) ComputeHash() [gm.SM3Size]byte {
	fields := e.Fields
	if fields == nil {
		fields = []string{}
	}
	b, err := encMode.Marshal(canonical{Version: 1, Seq: e.Seq, At: e.At.UnixMilli(), Who: e.Who, Role: e.Role, Source: e.Source,
		Action: e.Action, Outcome: e.Outcome, Status: e.Status, Filters: e.Filters, Rows: e.Rows, Fields: fields,
		Reason: e.Reason, Detail: e.Detail, Prev: e.Prev[:], Nonce: e.Nonce})
	if err != nil {
		panic(err) // plain strings and integers always encode
	}
	return gm.SM3(append([]byte(hashDomain), b...))
}

// normalise bounds an entry's text and millisecond time, so that what is
// stored is exactly what was hashed.
func (e *Entry) normalise() {
	e.At = time.UnixMilli(e.At.UnixMilli())
	for _, s := range []*string{&e.Who, &e.Role, &e.Source, &e.Action, &e.Outcome, &e.Nonce} {
		*s = cut(*s, maxShort)
	}
	for _, s := range []*string{&e.Filters, &e.Reason, &e.Detail} {
		*s = cut(*s, maxLong)
	}
	if len(e.Fields) > 16 {
		e.Fields = e.Fields[:16]
	}
	for i := range e.Fields {
		e.Fields[i] = cut(e.Fields[i], 64)
	}
}

// cut returns s as valid UTF-8 of at most n bytes.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// Escape returns s safe to print on a terminal: every control or format
// character (escape sequences, zero-width characters, bidi overrides)
// becomes \x.., \u.... and backslashes are doubled.
func Escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x80 && !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
			(!unicode.IsPrint(r) && r != ' '):
			if r > 0xffff {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Checkpoint is the hub's SM2 signature over the chain head at entry Seq.
type Checkpoint struct {
	Seq   uint64
	Hash  [gm.SM3Size]byte // the hash of entry Seq
	At    time.Time
	KeyID string // KeyID of the signing key
	Sig   []byte // raw SM2 r || s over SigningString
}

// SigningString is what a checkpoint's signature covers.
func (c *Checkpoint) SigningString() []byte {
	b := []byte("RC-AUDIT-CHECKPOINT-1\n")
	b = strconv.AppendUint(b, c.Seq, 10)
	b = append(b, '\n')
	b = hex.AppendEncode(b, c.Hash[:])
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.At.UnixMilli(), 10)
	b = append(b, '\n')
	return append(b, c.KeyID...)
}

// Verify reports whether the checkpoint is signed by pub.
func (c *Checkpoint) Verify(pub *gm.PublicKey) bool {
	ok, err := pub.Verify(c.SigningString(), c.Sig)
	return err == nil && ok
}

// KeyID names an SM2 public key: the first 8 bytes of SM3 of its PKIX DER,
// in hex.
func KeyID(pub *gm.PublicKey) string {
	der, err := pub.MarshalPKIX()
	if err != nil {
		return ""
	}
	h := gm.SM3(der)
	return hex.EncodeToString(h[:8])
}

// Head is the newest entry of the stored chain (zero Seq: empty).
type Head struct {
	Seq  uint64
	Hash [gm.SM3Size]byte
	At   time.Time
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }
