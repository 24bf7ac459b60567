package cli

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roadcheck/roadcheck/internal/keys"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/scan"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

func init() {
	register(command{name: "record add",
		synopsis: "(--qr TEXT | --image FILE) [--action ACTION [--action-text TEXT]] [--note TEXT] [--officer ID] [--pin-stdin] [--loc LAT,LON] [--place TEXT] [--corrects ID] [--stop ID [--warnings CODES]] [--online] [--json]",
		summary:  "verify a code (--qr TEXT or --image FILE) and record the check (durable when it prints the id)", run: cmdRecordAdd})
	register(command{name: "record list", synopsis: "[--json] [--pending] [--officer ID] [--pin-stdin]",
		summary: "list check records and their delivery state, after auditing the chain (exit 1: damaged, missing or reordered records)", run: cmdRecordList})
	register(command{name: "record purge", synopsis: "[--days N] [--officer ID] [--pin-stdin]",
		summary: "erase the personal fields of records delivered longer ago than the check policy in force keeps them (30 days without one; --days shortens it); the chain still verifies", run: cmdRecordPurge})
}

// openRecords opens the terminal database and its record store for the
// officer --officer (or $RC_OFFICER), who gives their PIN at the prompt or
// on standard input (--pin-stdin): the PIN and the device root (TPM or
// device file) unlock the keyring. It returns the signed-in officer too:
// what a record names as the officer who acted.
func openRecords(ctx context.Context, env *Env, officer string, pinStdin bool) (*storage.DB, *records.Store, keys.Officer, error) {
	id, err := officerID(env, officer)
	if err != nil {
		return nil, nil, keys.Officer{}, err
	}
	db, err := storage.Open(ctx, env.DBPath, storage.Options{})
	if err != nil {
		return nil, nil, keys.Officer{}, err
	}
	rs, s, err := unlockRecords(ctx, env, db, id, newPINReader(env, pinStdin))
	if err != nil {
		db.Close()
		return nil, nil, keys.Officer{}, err
	}
	return db, rs, s.Officer, nil
}

// parseLocation reads "LAT,LON".
func parseLocation(s string) (float64, float64, error) {
	a, b, ok := strings.Cut(s, ",")
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("--loc must be LAT,LON in degrees, e.g. 22.5431,114.0579")
	}
	return lat, lon, nil
}

func cmdRecordAdd(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "record add")
	qr := fs.String("qr", "", "the QR `text` (RTC1:...) as scanned")
	image := fs.String("image", "", "read the QR code from a PNG or JPEG `file` (station kiosks)")
	action := fs.String("action", "release", "officer's action: release/放行, warning/口头警告, correction/责令改正, penalty/立案处罚, detain/暂扣, other/其他, none/未处置 (no outcome chosen)")
	actionText := fs.String("action-text", "", "what was done, required for action other/其他")
	note := fs.String("note", "", "free-text notes")
	officer := fs.String("officer", "", "officer id (default $RC_OFFICER)")
	loc := fs.String("loc", "", "location `LAT,LON`")
	place := fs.String("place", "", "place description (road, kilometre post, station)")
	corrects := fs.String("corrects", "", "`ID` of a record this one corrects")
	stopID := fs.String("stop", "", "`ID` of the roadside stop this check belongs to")
	warnings := fs.String("warnings", "", "the stop's cross-check warning `CODES`, comma-separated (e.g. OPERATOR_MISMATCH,PLATE_MISMATCH); needs --stop")
	asJSON := fs.Bool("json", false, "print the record as JSON")
	online := fs.Bool("online", false, "also ask the enrolled hub for the licence's live status (at most 800 ms; see rcctl verify -h); the record carries the answer")
	pinStdin := fs.Bool("pin-stdin", false, "read the officer's PIN from the first line of standard input (else: asked at the terminal)")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	if fs.NArg() != 0 {
		return failf(env, "record add: unexpected argument %q (give the code with --qr TEXT or --image FILE)", fs.Arg(0))
	}
	if (*qr == "") == (*image == "") {
		return failf(env, "record add: give either --qr TEXT or --image FILE")
	}
	act, err := records.ParseAction(*action)
	if err != nil {
		return failf(env, "%v", err)
	}
	var stopWarnings []string
	if *warnings != "" {
		if *stopID == "" {
			return failf(env, "record add: --warnings needs --stop ID")
		}
		for _, w := range strings.Split(*warnings, ",") {
			code, err := stop.ParseWarning(strings.TrimSpace(w))
			if err != nil {
				return failf(env, "record add: --warnings: %v", err)
			}
			stopWarnings = append(stopWarnings, code.String())
		}
	}
	text := trimLineBreak(*qr) // spaces belong to the Base45 alphabet
	if *image != "" {
		if text, err = scan.DecodeFile(ctx, *image); err != nil {
			return failf(env, "record add: %v (nothing recorded)", err)
		}
	}
	db, rs, who, err := openRecords(ctx, env, *officer, *pinStdin)
	if err != nil {
		return failf(env, "record add: %v (nothing recorded)", err)
	}
	defer db.Close()
	ts, err := openTrustOn(ctx, db)
	if err != nil {
		return failf(env, "%v", err)
	}
	var checker verify.StatusChecker
	if *online {
		if checker, err = onlineChecker(ctx, env, rs); err != nil {
			return failf(env, "record add: %v (nothing recorded)", err)
		}
	}
	pol := policyInForce(ctx, env, rs)
	res := verify.New(ts, env.Clock, pol.Verify()).Online(checker, 0).Verify(ctx, text, time.Time{})
	if res.Err != nil {
		return failf(env, "record add: verification failed: %v (nothing recorded)", res.Err)
	}
	c := records.CheckFromResult(res)
	c.Officer, c.Action, c.ActionText, c.Notes = who.ID, act, *actionText, *note
	ref := pol.Ref()
	c.Policy = &ref
	c.StopID, c.StopWarnings = *stopID, stopWarnings
	if *loc != "" || *place != "" {
		c.Location = &records.Location{Place: *place}
		if *loc != "" {
			if c.Location.Lat, c.Location.Lon, err = parseLocation(*loc); err != nil {
				return failf(env, "%v", err)
			}
		}
	}
	if *corrects != "" {
		if c.Corrects, err = records.ParseID(*corrects); err != nil {
			return failf(env, "%v", err)
		}
	}
	r, err := rs.Append(ctx, c)
	if err != nil {
		return failf(env, "record NOT saved: %v", err)
	}
	if *asJSON {
		return printJSON(env, toJSON(&records.Entry{Record: r}))
	}
	fmt.Fprintf(env.Stdout, "%s\t#%d\t%s\t%s\n", r.ID, r.Seq, r.Verdict, r.Action.Chinese())
	return ExitOK
}

// recordJSON is one record in `record list --json` and `record add --json`.
// The holder ID is shown masked.
type recordJSON struct {
	ID         string            `json:"id"`
	Seq        uint64            `json:"seq"`
	Device     string            `json:"device"`
	Wall       time.Time         `json:"wall"`
	Officer    string            `json:"officer,omitempty"`
	Kind       uint8             `json:"kind,omitempty"`
	Number     string            `json:"number,omitempty"`
	KID        string            `json:"kid,omitempty"`
	Verdict    string            `json:"verdict"`
	Reasons    []string          `json:"reasons,omitempty"`
	Action     string            `json:"action"`
	ActionText string            `json:"action_text,omitempty"`
	Notes      string            `json:"notes,omitempty"`
	Holder     string            `json:"holder,omitempty"`
	HolderID   string            `json:"holder_id_masked,omitempty"`
	Plate      string            `json:"plate,omitempty"`
	Corrects   string            `json:"corrects,omitempty"`
	StopID     string            `json:"stop_id,omitempty"`
	StopWarn   []string          `json:"stop_warnings,omitempty"`
	ClockFlags string            `json:"clock_flags,omitempty"`
	State      string            `json:"state"`
	HubReason  string            `json:"hub_reason,omitempty"`
	Online     *recordOnlineJSON `json:"online,omitempty"`
	// Policy is the check policy the record was made under (policy.Ref
	// in short: "hub#3 120s/72h"); absent for records made before.
	Policy      string     `json:"policy,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	Damaged     string     `json:"damaged,omitempty"`
	// Audit are the kinds of problem the chain audit found at this
	// record (records.Problem*): record list only.
	Audit []string `json:"audit,omitempty"`
}

func toJSON(e *records.Entry) recordJSON {
	r := e.Record
	act, actText := records.ReadAction(r.Action, r.ActionText)
	j := recordJSON{ID: r.ID.String(), Seq: r.Seq, Device: r.Device, Wall: r.Wall, Officer: r.Officer, Kind: uint8(r.Kind),
		Verdict: r.Verdict.String(), Action: act.String(), ActionText: actText, Notes: r.Notes,
		Number: records.MaskedNumber(r.Number, r.HolderID), Holder: r.Holder, HolderID: records.MaskedHolderID(r.HolderID), Plate: r.Plate, ClockFlags: r.Clock.Flags.String(),
		State: e.State.String(), HubReason: e.HubReason, StopID: r.StopID, StopWarn: r.StopWarnings}
	if r.KID != nil {
		j.KID = hex.EncodeToString(r.KID)
	}
	for _, rs := range r.Reasons {
		j.Reasons = append(j.Reasons, rs.String())
	}
	if !r.Corrects.IsZero() {
		j.Corrects = r.Corrects.String()
	}
	if r.Policy != nil {
		j.Policy = r.Policy.String()
	}
	if o := r.Online; o != nil {
		j.Online = &recordOnlineJSON{Status: o.Status, ListSequence: o.ListSequence, Changed: o.Changed, Behind: o.Behind, Error: o.Err}
		if !o.At.IsZero() {
			t := o.At
			j.Online.HubTime = &t
		}
	}
	if !e.DeliveredAt.IsZero() {
		t := e.DeliveredAt
		j.DeliveredAt = &t
	}
	if e.Damaged != nil {
		j.Damaged = e.Damaged.Error()
	}
	return j
}

func printJSON(env *Env, v any) int {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return failf(env, "%v", err)
	}
	return ExitOK
}

func cmdRecordList(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "record list")
	asJSON := fs.Bool("json", false, "print a JSON array")
	pending := fs.Bool("pending", false, "only records not yet delivered to the hub")
	officer := fs.String("officer", "", "officer id (default $RC_OFFICER)")
	pinStdin := fs.Bool("pin-stdin", false, "read the officer's PIN from the first line of standard input")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	db, rs, _, err := openRecords(ctx, env, *officer, *pinStdin)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer db.Close()
	audit, err := rs.Audit(ctx)
	if err != nil {
		return failf(env, "%v", err)
	}
	list, err := rs.List(ctx, records.ListOptions{PendingOnly: *pending})
	if err != nil {
		return failf(env, "%v", err)
	}
	code := ExitOK
	problems := map[uint64][]string{} // by sequence: shown on the record's line
	if !audit.OK() {
		code = ExitPartial
		for _, p := range audit.Problems {
			fmt.Fprintf(env.Stderr, "rcctl: AUDIT: #%d %s: %s\n", p.Seq, p.Kind, p.Detail)
			problems[p.Seq] = append(problems[p.Seq], p.Kind)
		}
	}
	if *asJSON {
		out := make([]recordJSON, 0, len(list))
		for _, e := range list {
			j := toJSON(e)
			j.Audit = problems[e.Seq]
			out = append(out, j)
		}
		if c := printJSON(env, out); c != ExitOK {
			return c
		}
		return code
	}
	for _, e := range list {
		r := e.Record
		act, _ := records.ReadAction(r.Action, r.ActionText)
		line := fmt.Sprintf("%s\t#%d\t%s\t%s\t%s\t%s\t%s", r.ID, r.Seq, r.Wall.Format(time.RFC3339), r.Verdict, act.Chinese(), records.MaskedNumber(r.Number, r.HolderID), e.State)
		if e.HubReason != "" {
			line += " (" + e.HubReason + ")"
		}
		if r.StopID != "" {
			line += "\tstop:" + r.StopID
			if len(r.StopWarnings) > 0 {
				line += " " + strings.Join(r.StopWarnings, ",")
			}
		}
		if f := r.Clock.Flags.String(); f != "" {
			line += "\tclock:" + f
		}
		if o := r.Online; o != nil {
			line += "\tonline:" + cmp.Or(o.Status, "no-answer")
			if o.Changed {
				line += "(found online)"
			}
		}
		if r.Policy != nil {
			line += "\tpolicy:" + r.Policy.String()
		}
		if !r.Purged.IsZero() {
			line += "\tpurged"
		}
		if e.Damaged != nil {
			line += "\tDAMAGED: " + e.Damaged.Error()
		}
		if p := problems[r.Seq]; len(p) > 0 {
			line += "\tAUDIT: " + strings.Join(p, ",")
		}
		fmt.Fprintln(env.Stdout, line)
	}
	if !audit.OK() {
		fmt.Fprintf(env.Stdout, "AUDIT FAILED: %d problem(s) in %d records (head #%d): records damaged, missing or reordered\n", len(audit.Problems), audit.Records, audit.Head)
	}
	return code
}

func cmdRecordPurge(ctx context.Context, env *Env, args []string) int {
	fs := newFlagSet(env, "record purge")
	days := fs.Int("days", 0, "keep the personal fields of delivered records this many `days` (default: what the check policy in force says, 30 without one; a signed policy's retention can only be shortened)")
	officer := fs.String("officer", "", "officer id (default $RC_OFFICER)")
	pinStdin := fs.Bool("pin-stdin", false, "read the officer's PIN from the first line of standard input")
	if code, done := flagsDone(env, fs, fs.Parse(args)); done {
		return code
	}
	if *days < 0 {
		return failf(env, "record purge: --days must be at least 1")
	}
	db, rs, _, err := openRecords(ctx, env, *officer, *pinStdin)
	if err != nil {
		return failf(env, "%v", err)
	}
	defer db.Close()
	pol := policyInForce(ctx, env, rs)
	keep := pol.KeepRecords()
	if *days > 0 {
		d := time.Duration(*days) * 24 * time.Hour
		if pol.Source != policy.SourceDefault && d > keep {
			return failf(env, "record purge: the check policy in force (%s) keeps records %d days: --days %d would keep them longer", pol, int(keep/(24*time.Hour)), *days)
		}
		keep = d
	}
	rep, err := rs.Purge(ctx, time.Time{}, keep)
	if err != nil {
		return failf(env, "record purge: %v", err)
	}
	a, err := rs.Audit(ctx)
	if err != nil {
		return failf(env, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "purged %d records (delivered more than %d days ago); audit: %d records, %d problems\n", rep.Purged, int(keep/(24*time.Hour)), a.Records, len(a.Problems))
	if !a.OK() {
		return ExitPartial
	}
	return ExitOK
}

// policyInForce is the check policy in force on the terminal: the signed
// policy file beside the database (the hub's, saved by rcctl sync, or a
// supervisor's from the GUI), verified with the keys rs holds; the
// default when there is none or it is refused (said on stderr).
func policyInForce(ctx context.Context, env *Env, rs *records.Store) policy.Policy {
	keys, err := rs.PolicyKeys(ctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rcctl: WARNING: check policy keys: %v: the default policy is in force\n", err)
		return policy.Default()
	}
	p, err := policy.Load(ctx, policy.FileFor(env.DBPath), keys)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rcctl: WARNING: %v: refused, the default policy is in force\n", err)
	}
	return p
}

// recordOnlineJSON is a record's online check in record JSON: the hub's
// time and answer, or why there was none.
type recordOnlineJSON struct {
	HubTime      *time.Time `json:"hub_time,omitempty"`
	Status       string     `json:"status,omitempty"`
	ListSequence uint64     `json:"list_sequence,omitempty"`
	Changed      bool       `json:"changed,omitempty"`
	Behind       bool       `json:"behind,omitempty"`
	Error        string     `json:"error,omitempty"`
}

// openTrustOn opens the trust store in an already open database.
func openTrustOn(ctx context.Context, db *storage.DB) (*trust.Store, error) {
	return trust.New(ctx, db)
}
