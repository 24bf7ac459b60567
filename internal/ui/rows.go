package ui

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/stop"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// Row is one check record as the history and supervisor screens and the
// exports show it: plain values, the holder ID masked.
type Row struct {
	Seq        uint64
	ID         string
	At         time.Time
	Officer    string
	Device     string
	Kind       credential.Kind
	Number     string // masked like HolderID when it is the holder's ID
	Holder     string
	HolderID   string // masked: all but the last 4 characters are '*'
	Plate      string
	Verdict    verify.Verdict
	Reasons    []verify.Reason
	Action     records.Action
	ActionText string
	Notes      string
	Revealed   bool // the officer uncovered the full holder ID
	State      records.State
	Damaged    bool // the stored record no longer opens
	// StopID and StopWarnings: the roadside stop the check belonged to
	// and its cross-check findings (codes) when it was recorded.
	StopID       string
	StopWarnings []string
	// Corrects is the ID of the record this one corrects ("" none).
	Corrects string
	// Policy is the check policy the record was made under
	// (policy.Ref.String(), e.g. "hub#3 120s/72h"; "" for records made
	// before records carried it).
	Policy string
}

// rowFromEntry flattens a stored record.
func rowFromEntry(e *records.Entry) Row {
	r := Row{State: e.State, Damaged: e.Damaged != nil}
	if e.Record == nil {
		return r
	}
	rec := e.Record
	r.Seq, r.Device, r.At = rec.Seq, rec.Device, rec.Wall
	if !rec.ID.IsZero() {
		r.ID = rec.ID.String()
	}
	c := rec.Check
	r.Officer, r.Kind, r.Number, r.Holder = c.Officer, c.Kind, c.Number, c.Holder
	if c.Number != "" && c.Number == c.HolderID {
		// A practitioner's licence number is usually the ID card number:
		// masked like the holder ID (as on the verdict screen).
		r.Number = maskID(c.Number)
	}
	r.HolderID, r.Plate, r.Verdict = maskID(c.HolderID), c.Plate, c.Verdict
	r.Reasons = slices.Clone(c.Reasons)
	r.Action, r.ActionText, r.Notes = c.Action, c.ActionText, c.Notes
	if isUntreated(c.Action, c.ActionText) {
		r.Action, r.ActionText = 0, ""
	}
	r.Revealed = !c.HolderIDRevealed.IsZero()
	r.StopID, r.StopWarnings = c.StopID, slices.Clone(c.StopWarnings)
	if !c.Corrects.IsZero() {
		r.Corrects = c.Corrects.String()
	}
	if c.Policy != nil {
		r.Policy = c.Policy.String()
	}
	return r
}

// latestRows drops the rows a later record corrects: a check counts once,
// with its latest outcome.
func latestRows(rows []Row) []Row {
	corrected := map[string]bool{}
	for _, r := range rows {
		if r.Corrects != "" {
			corrected[r.Corrects] = true
		}
	}
	if len(corrected) == 0 {
		return rows
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if r.ID == "" || !corrected[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

// maskID replaces all but the last 4 characters of s with '*' (all of a
// string of 4 characters or fewer).
func maskID(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-4) + string(r[len(r)-4:])
}

// Filter selects rows; zero fields select everything.
type Filter struct {
	From, To time.Time // From ≤ At < To
	Officer  string
	Verdicts []verify.Verdict
	Kind     credential.Kind // 0: every kind
	// Plate selects the vehicle plate, compared as the hub does (spaces,
	// dots and dashes ignored, case-insensitive).
	Plate string
	// Text is matched case-insensitively against number, holder, plate, notes.
	Text string
}

// Match reports whether f selects r.
func (f Filter) Match(r Row) bool {
	switch {
	case !f.From.IsZero() && r.At.Before(f.From),
		!f.To.IsZero() && !r.At.Before(f.To),
		f.Officer != "" && r.Officer != f.Officer,
		len(f.Verdicts) > 0 && !slices.Contains(f.Verdicts, r.Verdict),
		f.Kind != 0 && r.Kind != f.Kind,
		plateKey(f.Plate) != "" && plateKey(r.Plate) != plateKey(f.Plate):
		return false
	}
	if q := strings.ToLower(strings.TrimSpace(f.Text)); q != "" {
		hay := strings.ToLower(strings.Join([]string{r.Number, r.Holder, r.Plate, r.Notes, r.ActionText}, "\x00"))
		return strings.Contains(hay, q)
	}
	return true
}

// plateKey is a plate as the hub compares plates (hub.NormalisePlate):
// without spaces, dots and dashes, upper case.
func plateKey(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsSpace(r) || r == '·' || r == '.' || r == '-' || r == '•' {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// filterRows returns the rows f selects, newest first.
func filterRows(rows []Row, f Filter) []Row {
	var out []Row
	for _, r := range rows {
		if f.Match(r) {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.After(out[j].At)
		}
		return out[i].Seq > out[j].Seq
	})
	return out
}

// Count is the number of checks under one key (officer or day).
type Count struct {
	Key                            string
	Total, Valid, Limited, Invalid int
}

// countBy groups rows by key, sorted by key.
func countBy(rows []Row, key func(Row) string) []Count {
	m := map[string]*Count{}
	for _, r := range rows {
		k := key(r)
		c := m[k]
		if c == nil {
			c = &Count{Key: k}
			m[k] = c
		}
		c.Total++
		switch r.Verdict {
		case verify.Valid:
			c.Valid++
		case verify.Limited:
			c.Limited++
		default:
			c.Invalid++
		}
	}
	out := make([]Count, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func byOfficer(r Row) string { return r.Officer }
func byDay(r Row) string     { return r.At.In(credential.CST()).Format("2006-01-02") }

// exportColumn is one column of the exports and of a record's details:
// header key and cell value. A time column is a real date-time cell in
// XLSX (and "2006-01-02 15:04:05", which spreadsheets read as one, in CSV).
type exportColumn struct {
	key  string
	cell func(c *catalog, r Row) string
	time bool
}

// exportColumns are the export's columns. Reasons and stop warnings come
// as codes and, next to them, in words; the note of an action 其他 is in
// its action text once, not again in the notes.
var exportColumns = []exportColumn{
	{key: "col.time", cell: func(_ *catalog, r Row) string { return r.At.In(credential.CST()).Format("2006-01-02 15:04:05") }, time: true},
	{key: "col.officer", cell: func(_ *catalog, r Row) string { return r.Officer }},
	{key: "col.device", cell: func(_ *catalog, r Row) string { return r.Device }},
	{key: "col.kind", cell: func(c *catalog, r Row) string { return kindName(c, r.Kind) }},
	{key: "col.number", cell: func(_ *catalog, r Row) string { return r.Number }},
	{key: "col.holder", cell: func(_ *catalog, r Row) string { return r.Holder }},
	{key: "col.holderID", cell: func(_ *catalog, r Row) string { return r.HolderID }},
	{key: "col.plate", cell: func(_ *catalog, r Row) string { return r.Plate }},
	{key: "col.verdict", cell: func(c *catalog, r Row) string { return c.verdictWord(r.Verdict) }},
	{key: "col.reasons", cell: func(_ *catalog, r Row) string {
		s := make([]string, len(r.Reasons))
		for i, x := range r.Reasons {
			s[i] = x.String()
		}
		return strings.Join(s, " ")
	}},
	{key: "col.reasonText", cell: func(c *catalog, r Row) string {
		s := make([]string, len(r.Reasons))
		for i, x := range r.Reasons {
			s[i] = c.reason(x)
		}
		return strings.Join(s, "\n")
	}},
	{key: "col.action", cell: func(c *catalog, r Row) string { return outcomeName(c, r.Action) }},
	{key: "col.actionText", cell: func(_ *catalog, r Row) string { return r.ActionText }},
	{key: "col.notes", cell: func(_ *catalog, r Row) string { return notesOnce(r) }},
	{key: "col.stop", cell: func(_ *catalog, r Row) string { return r.StopID }},
	{key: "col.stopWarnings", cell: func(_ *catalog, r Row) string { return strings.Join(r.StopWarnings, " ") }},
	{key: "col.stopWarningText", cell: func(c *catalog, r Row) string {
		s := make([]string, len(r.StopWarnings))
		for i, w := range r.StopWarnings {
			s[i] = warningName(c, w)
		}
		return strings.Join(s, "\n")
	}},
	{key: "col.policy", cell: func(_ *catalog, r Row) string { return r.Policy }},
	{key: "col.revealed", cell: func(c *catalog, r Row) string { return yesNo(c, r.Revealed) }},
	{key: "col.state", cell: func(c *catalog, r Row) string { return c.T("state." + r.State.String()) }},
	{key: "col.id", cell: func(_ *catalog, r Row) string { return r.ID }},
	{key: "col.corrects", cell: func(_ *catalog, r Row) string { return r.Corrects }},
}

// notesOnce is a record's notes without the line its action text already
// holds (an action 其他 takes its text from the notes' first line).
func notesOnce(r Row) string {
	if r.ActionText == "" {
		return r.Notes
	}
	first, rest, _ := strings.Cut(r.Notes, "\n")
	if strings.TrimSpace(first) == strings.TrimSpace(r.ActionText) {
		return strings.TrimSpace(rest)
	}
	return r.Notes
}

// warningName is a stop warning code in words (the code itself when this
// build does not know it).
func warningName(c *catalog, code string) string {
	if _, err := stop.ParseWarning(code); err != nil {
		return code
	}
	return c.T("warning." + code)
}

func yesNo(c *catalog, b bool) string {
	if b {
		return c.T("common.yes")
	}
	return c.T("common.no")
}

// actionName is the action in the current language ("" for none).
func actionName(c *catalog, a records.Action) string {
	if !a.Valid() {
		return ""
	}
	if c.current() == LangZH {
		return a.Chinese()
	}
	return c.T("action." + a.String())
}

// outcomeName is a recorded outcome in the current language: the action,
// or 未处置 for none (0: rows hold records.ActionNone, and records written
// before it existed, as 0).
func outcomeName(c *catalog, a records.Action) string {
	if !a.Valid() {
		return c.T("action.none")
	}
	return actionName(c, a)
}

// kindName is the licence kind in the current language ("" for none).
func kindName(c *catalog, k credential.Kind) string {
	if !k.Valid() {
		return ""
	}
	if c.current() == LangZH {
		return k.ChineseName()
	}
	return c.T(fmt.Sprintf("kind.%d", k))
}

// exportTable is the header and the cells of rows, in the current language.
// Every text cell goes through records.DefuseCell (the one rule for rcctl,
// the GUI and the hub): a cell whose first visible character would start
// a formula is prefixed with an apostrophe.
func exportTable(c *catalog, rows []Row) [][]string {
	out := make([][]string, 0, len(rows)+1)
	head := make([]string, len(exportColumns))
	for i, col := range exportColumns {
		head[i] = records.DefuseCell(c.T(col.key))
	}
	out = append(out, head)
	for _, r := range rows {
		line := make([]string, len(exportColumns))
		for i, col := range exportColumns {
			line[i] = records.DefuseCell(col.cell(c, r))
		}
		out = append(out, line)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// writeCSV writes rows as UTF-8 CSV with a byte-order mark (so Excel opens
// Chinese text correctly) and CRLF line ends.
func writeCSV(w io.Writer, c *catalog, rows []Row) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return fmt.Errorf("ui: export csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.WriteAll(exportTable(c, rows)); err != nil {
		return fmt.Errorf("ui: export csv: %w", err)
	}
	return nil
}

// writeXLSX writes rows as one worksheet of an XLSX workbook: the time a
// real date-time cell, every other cell text.
func writeXLSX(w io.Writer, c *catalog, rows []Row) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := c.T("export.sheet")
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return fmt.Errorf("ui: export xlsx: %w", err)
	}
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm:ss")})
	if err != nil {
		return fmt.Errorf("ui: export xlsx: %w", err)
	}
	for i, line := range exportTable(c, rows) {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return fmt.Errorf("ui: export xlsx: %w", err)
		}
		vals := make([]any, len(line))
		for j, v := range line {
			vals[j] = v
			if i > 0 && exportColumns[j].time {
				// The wall clock in China, as the CSV shows it.
				t := rows[i-1].At.In(credential.CST())
				vals[j] = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
			}
		}
		if err := f.SetSheetRow(sheet, cell, &vals); err != nil {
			return fmt.Errorf("ui: export xlsx: %w", err)
		}
	}
	for j, col := range exportColumns {
		if !col.time || len(rows) == 0 {
			continue
		}
		top, _ := excelize.CoordinatesToCellName(j+1, 2)
		bottom, _ := excelize.CoordinatesToCellName(j+1, len(rows)+1)
		if err := f.SetCellStyle(sheet, top, bottom, dateStyle); err != nil {
			return fmt.Errorf("ui: export xlsx: %w", err)
		}
		name, _ := excelize.ColumnNumberToName(j + 1)
		if err := f.SetColWidth(sheet, name, name, 20); err != nil {
			return fmt.Errorf("ui: export xlsx: %w", err)
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("ui: export xlsx: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("ui: export xlsx: %w", err)
	}
	return nil
}
