package records

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Action is what the officer did after the check.
type Action uint8

// Actions. The numeric values are part of the signed record format.
const (
	ActionRelease    Action = 1 // 放行
	ActionWarning    Action = 2 // 口头警告
	ActionCorrection Action = 3 // 责令改正
	ActionPenalty    Action = 4 // 立案处罚
	ActionDetain     Action = 5 // 暂扣
	ActionOther      Action = 6 // 其他 (ActionText says what)
	// ActionNone: no outcome was chosen — the officer left the check
	// (scanned the next code, signed out…) and it was recorded as it was.
	ActionNone Action = 7 // 未处置
)

var actionNames = [...]struct{ code, chinese string }{
	ActionRelease:    {"release", "放行"},
	ActionWarning:    {"warning", "口头警告"},
	ActionCorrection: {"correction", "责令改正"},
	ActionPenalty:    {"penalty", "立案处罚"},
	ActionDetain:     {"detain", "暂扣"},
	ActionOther:      {"other", "其他"},
	ActionNone:       {"none", "未处置"},
}

// Valid reports whether a is one of the seven actions.
func (a Action) Valid() bool { return a >= ActionRelease && a <= ActionNone }

// String is the action's code: release, warning, correction, penalty,
// detain, other or none.
func (a Action) String() string {
	if !a.Valid() {
		return fmt.Sprintf("action(%d)", uint8(a))
	}
	return actionNames[a].code
}

// Chinese is the action's name shown to officers.
func (a Action) Chinese() string {
	if !a.Valid() {
		return "未知"
	}
	return actionNames[a].chinese
}

// MarshalText implements encoding.TextMarshaler with the code.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	*a = v
	return err
}

// ParseAction accepts an action's code (release …) or Chinese name (放行 …).
func ParseAction(s string) (Action, error) {
	s = strings.TrimSpace(s)
	for a := ActionRelease; a <= ActionNone; a++ {
		if strings.EqualFold(s, actionNames[a].code) || s == actionNames[a].chinese {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown action %q (release/放行, warning/口头警告, correction/责令改正, penalty/立案处罚, detain/暂扣, other/其他, none/未处置)", ErrInvalidCheck, s)
}

// legacyNoneText is the action text with which records written before
// ActionNone existed say 未处置: ActionOther and exactly this text.
const legacyNoneText = "未处置"

// ReadAction is the outcome a stored action and action text say: a record
// written before ActionNone existed (ActionOther with the text "未处置") is
// ActionNone with no text; anything else is returned as it is. Every
// reader that shows or counts outcomes (history, exports, rcctl, the hub's
// answers) goes through it; the signed bytes keep what was signed.
func ReadAction(a Action, text string) (Action, string) {
	if a == ActionOther && text == legacyNoneText {
		return ActionNone, ""
	}
	return a, text
}

// Location is where the check took place. Coordinates are WGS-84 degrees,
// stored as integer microdegrees so the signed bytes are exact.
type Location struct {
	Lat   float64
	Lon   float64
	Place string // free text: road, kilometre post, station
}

// ClockFlags mark doubts about the device clock at the time of a record.
type ClockFlags uint8

// Clock flags.
const (
	// ClockBackwards: the wall time is earlier than the previous record's, or
	// than the device clock at the last sync — the clock was set back.
	ClockBackwards ClockFlags = 1 << iota
	// ClockSkewed: at the last sync the device clock differed from the
	// hub's by more than MaxClockSkew.
	ClockSkewed
)

// MaxClockSkew is the device–hub clock difference above which records carry
// ClockSkewed.
const MaxClockSkew = 5 * time.Minute

// String lists the flags ("backwards,skewed"), empty when none.
func (f ClockFlags) String() string {
	var s []string
	if f&ClockBackwards != 0 {
		s = append(s, "backwards")
	}
	if f&ClockSkewed != 0 {
		s = append(s, "skewed")
	}
	return strings.Join(s, ",")
}

// ClockInfo is what a record says about the device clock.
type ClockInfo struct {
	// HubTime is the hub's clock at the last successful sync before the
	// record (zero: never synced); LocalTime is the device clock then. The
	// hub estimates the true time of a record as HubTime + (Wall − LocalTime)
	// when the clock did not jump.
	HubTime   time.Time
	LocalTime time.Time
	Flags     ClockFlags
}

// Check is what the caller records: the verification result, the officer's
// action and the context. Personal fields are sealed at rest.
type Check struct {
	Officer  string
	Location *Location

	// From the verification (see CheckFromResult).
	KID     []byte // 8 bytes, nil when the code could not be read
	IDHash  []byte // 16 bytes, nil when the claims were not verified
	Number  string
	Kind    credential.Kind // 0 when unknown
	Verdict verify.Verdict
	Reasons []verify.Reason

	Action     Action
	ActionText string // required for ActionOther; none for ActionNone
	Notes      string

	// Personal data (sealed at rest).
	Holder   string
	HolderID string
	Plate    string

	// HolderIDRevealed is when the officer unmasked the holder ID on screen
	// (zero: never). It is logged in the record.
	HolderIDRevealed time.Time

	// Corrects is the record this one corrects (zero: none).
	Corrects ID

	// StopID groups the checks of one roadside stop (vehicle, driver and
	// operator licences scanned while one vehicle is pulled over): an id
	// the GUI chooses for the stop, e.g. a ULID. Empty: not part of a stop.
	StopID string
	// StopWarnings are the codes of the stop's cross-check findings when
	// this check was recorded (stop.Warning.String(), e.g.
	// OPERATOR_MISMATCH), in the order the cross-check reported them. They
	// need a StopID.
	StopWarnings []string

	// Online is the online confirmation of the check (CheckFromResult
	// takes it from the verification): nil when the hub was not asked.
	Online *Online

	// Policy is the check policy the verification was made under (package
	// policy: who signed it, its sequence and digest, clock skew and
	// maximum trust age; durations kept to the second). Nil only in
	// records made before records carried it, or by callers that have no
	// policy.
	Policy *policy.Ref
}

// CheckFromResult fills the verification part of a Check from res. Only
// verified claims (res.Claims) are used.
func CheckFromResult(res *verify.Result) Check {
	c := Check{Verdict: res.Verdict, Reasons: append([]verify.Reason(nil), res.Reasons...)}
	if res.Signer != nil {
		c.KID = append([]byte(nil), res.Signer.KID...)
	}
	if cl := res.Claims; cl != nil {
		cr := cl.Credential
		h := credential.IDHash(cr.ID)
		c.IDHash = h[:]
		c.Number = cr.Number
		c.Kind = cr.Kind
		c.Holder = cr.Holder
		c.HolderID = cr.HolderID
		if cr.Vehicle != nil {
			c.Plate = cr.Vehicle.Plate
		}
	}
	c.Online = OnlineFromResult(res)
	return c
}

// Record is one stored check record.
type Record struct {
	ID     ID
	Seq    uint64 // 1, 2, 3 … per device: the chain order
	Device string
	// Prev is the SM3 hash of the canonical bytes of record Seq−1 (zero for Seq 1).
	Prev  [gm.SM3Size]byte
	Wall  time.Time // device clock at the check (millisecond precision)
	Clock ClockInfo
	Check
	// Purged is when the retention purge erased the record's personal and
	// evidential fields on this terminal (zero: not purged). A purged
	// record has none of them; its chain link and remaining fields are
	// still verified by Audit.
	Purged time.Time
}

// Limits of one record, enforced by Append and by decoding.
const (
	maxText    = 1024 // officer, number, place, action text, personal fields
	maxNotes   = 8192
	maxReasons = 32 // also the most stop warnings
	maxStopID  = 128
	maxCode    = 64 // bytes of one stop warning code
)

// validStopID reports whether s is a usable stop id: 1–128 bytes of
// printable UTF-8 without spaces.
func validStopID(s string) bool {
	if s == "" || len(s) > maxStopID || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// validCode reports whether s has the form of a warning code: an upper-case
// ASCII letter, then upper-case letters, digits and underscores.
func validCode(s string) bool {
	if s == "" || len(s) > maxCode || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (c *Check) validate() error {
	switch {
	case !c.Action.Valid():
		return fmt.Errorf("%w: action %d", ErrInvalidCheck, c.Action)
	case c.Action == ActionOther && strings.TrimSpace(c.ActionText) == "":
		return fmt.Errorf("%w: action 其他 (other) needs a text", ErrInvalidCheck)
	case c.Action == ActionNone && c.ActionText != "":
		return fmt.Errorf("%w: action 未处置 (none) takes no text", ErrInvalidCheck)
	case c.KID != nil && len(c.KID) != credential.KIDSize:
		return fmt.Errorf("%w: kid of %d bytes", ErrInvalidCheck, len(c.KID))
	case c.IDHash != nil && len(c.IDHash) != credential.IDHashSize:
		return fmt.Errorf("%w: id hash of %d bytes", ErrInvalidCheck, len(c.IDHash))
	case c.Kind != 0 && !c.Kind.Valid():
		return fmt.Errorf("%w: kind %d", ErrInvalidCheck, c.Kind)
	case c.Verdict > verify.Valid:
		return fmt.Errorf("%w: verdict %d", ErrInvalidCheck, c.Verdict)
	case len(c.Reasons) > maxReasons:
		return fmt.Errorf("%w: %d reasons", ErrInvalidCheck, len(c.Reasons))
	case len(c.Notes) > maxNotes:
		return fmt.Errorf("%w: notes longer than %d bytes", ErrInvalidCheck, maxNotes)
	case c.StopID != "" && !validStopID(c.StopID):
		return fmt.Errorf("%w: stop id %q (1–%d printable bytes without spaces)", ErrInvalidCheck, c.StopID, maxStopID)
	case len(c.StopWarnings) > 0 && c.StopID == "":
		return fmt.Errorf("%w: stop warnings without a stop id", ErrInvalidCheck)
	case len(c.StopWarnings) > maxReasons:
		return fmt.Errorf("%w: %d stop warnings", ErrInvalidCheck, len(c.StopWarnings))
	}
	if err := c.Online.validate(c.Reasons); err != nil {
		return err
	}
	if c.Policy != nil {
		if err := c.Policy.Check(); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidCheck, err)
		}
	}
	for _, w := range c.StopWarnings {
		if !validCode(w) {
			return fmt.Errorf("%w: stop warning %q is not a warning code (e.g. OPERATOR_MISMATCH)", ErrInvalidCheck, w)
		}
	}
	for _, r := range c.Reasons {
		if _, err := verify.ParseReason(r.String()); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidCheck, err)
		}
	}
	for name, s := range map[string]string{"officer": c.Officer, "number": c.Number, "action text": c.ActionText,
		"holder": c.Holder, "holder id": c.HolderID, "plate": c.Plate} {
		if len(s) > maxText {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidCheck, name, maxText)
		}
	}
	if l := c.Location; l != nil {
		if math.IsNaN(l.Lat) || math.IsNaN(l.Lon) || l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 {
			return fmt.Errorf("%w: location %v,%v out of range", ErrInvalidCheck, l.Lat, l.Lon)
		}
		if len(l.Place) > maxText {
			return fmt.Errorf("%w: place longer than %d bytes", ErrInvalidCheck, maxText)
		}
	}
	return nil
}

// MaskedHolderID returns the holder ID with all but its first 3 and last 4
// characters replaced by '*', the form shown before the officer reveals it.
func MaskedHolderID(s string) string {
	r := []rune(s)
	if len(r) <= 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// MaskedNumber is a licence number as shown outside the verdict screen:
// masked like MaskedHolderID when it is the holder's ID (a 从业资格证's
// number is the ID-card number), as it is; the one rule for rcctl and the
// GUI.
func MaskedNumber(number, holderID string) string {
	if number != "" && (number == holderID || NormalizeSearch(number) == NormalizeSearch(holderID)) {
		return MaskedHolderID(number)
	}
	return number
}
