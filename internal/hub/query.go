package hub

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// maxStopID bounds the stop query parameter (records allow 128 bytes).
const maxStopID = 128

// parseRange reads from and to (RFC 3339, inclusive); to before from is
// refused.
func parseRange(v url.Values) (from, to time.Time, err error) {
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return time.Time{}, time.Time{}, fmt.Errorf("%w: %s must be an RFC 3339 time", ErrBadInput, f.name)
			}
			*f.dst = t
		}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: to is before from", ErrBadInput)
	}
	return from, to, nil
}

// parsePage reads page (an id from next_page) and limit (1–1000).
func parsePage(v url.Values, what string) (after [16]byte, limit int, err error) {
	if s := v.Get("page"); s != "" {
		id, err := records.ParseID(s)
		if err != nil {
			return after, 0, fmt.Errorf("%w: page must be a %s id from next_page", ErrBadInput, what)
		}
		after = id
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return after, 0, fmt.Errorf("%w: limit must be 1–1000", ErrBadInput)
		}
		limit = n
	}
	return after, limit, nil
}

// ParseRecordQuery reads a supervisor's record query from URL values:
// from, to (RFC 3339), device, officer, verdict (VALID/LIMITED/INVALID),
// kind (1–3), plate, stop (a roadside stop id), issuer (the 16 hex digits
// of a code signer's kid), flagged (true), page (a next_page token: a
// record id), limit (1–1000). The plate is turned into its keyed hash with
// keys.
func ParseRecordQuery(v url.Values, keys *Keys) (RecordQuery, error) {
	var q RecordQuery
	bad := func(format string, args ...any) (RecordQuery, error) {
		return RecordQuery{}, fmt.Errorf("%w: "+format, append([]any{ErrBadInput}, args...)...)
	}
	var err error
	if q.From, q.To, err = parseRange(v); err != nil {
		return RecordQuery{}, err
	}
	q.Device, q.Officer = v.Get("device"), v.Get("officer")
	if q.Stop = v.Get("stop"); len(q.Stop) > maxStopID {
		return bad("stop must be at most %d bytes", maxStopID)
	}
	if s := v.Get("verdict"); s != "" {
		var vd verify.Verdict
		if err := vd.UnmarshalText([]byte(s)); err != nil {
			return bad("verdict must be VALID, LIMITED or INVALID")
		}
		q.Verdict = vd.String()
	}
	if s := v.Get("kind"); s != "" {
		k, err := strconv.ParseUint(s, 10, 8)
		if err != nil || k < 1 || k > 3 {
			return bad("kind must be 1, 2 or 3")
		}
		q.Kind = uint8(k)
	}
	if s := v.Get("plate"); s != "" {
		q.PlateHash = keys.PlateHash(s)
		if q.PlateHash == nil {
			return bad("plate is empty after normalisation")
		}
	}
	if s := v.Get("issuer"); s != "" {
		kid, err := hex.DecodeString(s)
		if err != nil || len(kid) != 8 {
			return bad("issuer must be a kid: 16 hex digits")
		}
		q.Issuer = kid
	}
	switch v.Get("flagged") {
	case "", "false":
	case "true":
		q.FlaggedOnly = true
	default:
		return bad("flagged must be true or false")
	}
	if q.After, q.Limit, err = parsePage(v, "record"); err != nil {
		return RecordQuery{}, err
	}
	return q, nil
}

// ParseFlagQuery reads a supervisor's flag query from URL values: from, to
// (RFC 3339, by the time the hub raised the flag), device, kind, page (a
// flag id), limit (1–1000).
func ParseFlagQuery(v url.Values) (FlagQuery, error) {
	var q FlagQuery
	var err error
	if q.From, q.To, err = parseRange(v); err != nil {
		return FlagQuery{}, err
	}
	q.Device, q.Kind = v.Get("device"), v.Get("kind")
	if q.After, q.Limit, err = parsePage(v, "flag"); err != nil {
		return FlagQuery{}, err
	}
	return q, nil
}

func ptrTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Server) view(sr *StoredRecord) (wire.RecordView, error) {
	r, err := s.openEvidence(sr)
	if err != nil {
		return wire.RecordView{}, err
	}
	act, actText := records.ReadAction(r.Action, r.ActionText) // 未处置 as records before ActionNone wrote it, too
	v := wire.RecordView{
		ID: r.ID.String(), Device: r.Device, Seq: r.Seq, Wall: r.Wall.UTC(), Received: sr.Received.UTC(), Officer: r.Officer,
		Kind: uint8(r.Kind), Number: r.Number, Verdict: r.Verdict.String(), Action: act.String(), ActionText: actText,
		Notes: r.Notes, Holder: r.Holder, HolderID: r.HolderID, Plate: r.Plate, Revealed: ptrTime(r.HolderIDRevealed),
		HubTime: ptrTime(r.Clock.HubTime), Flags: sr.Flags, StopID: r.StopID, StopWarnings: r.StopWarnings,
	}
	for _, rs := range r.Reasons {
		v.Reasons = append(v.Reasons, rs.String())
	}
	if r.Policy != nil {
		v.Policy = r.Policy.String()
	}
	if l := r.Location; l != nil {
		lat, lon := l.Lat, l.Lon
		v.Lat, v.Lon, v.Place = &lat, &lon, l.Place
	}
	if !r.Corrects.IsZero() {
		v.Corrects = r.Corrects.String()
	}
	return v, nil
}

func (s *Server) handleRecords(w http.ResponseWriter, r *http.Request) {
	if !s.authSupervisor(w, r) {
		return
	}
	q, err := ParseRecordQuery(r.URL.Query(), s.keys)
	if err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	page, err := s.store.QueryRecords(r.Context(), q)
	if err != nil {
		s.internal(w, err)
		return
	}
	recs := page.Records
	resp := wire.RecordsResponse{Records: []wire.RecordView{}, HubTime: s.clk.Now().UTC()}
	for i := range recs {
		v, err := s.view(&recs[i])
		if err != nil {
			s.internal(w, err)
			return
		}
		resp.Records = append(resp.Records, v)
	}
	if page.More {
		// The last key examined: a page that ended at the scan limit,
		// even an empty one, still leads on.
		resp.NextPage = records.ID(page.Next).String()
		resp.Truncated = page.Scanned
	}
	s.writeRecords(w, r, &resp) // mask.go: the supervisor's jurisdiction, masked
}

func (s *Server) handleFlags(w http.ResponseWriter, r *http.Request) {
	if !s.authSupervisor(w, r) {
		return
	}
	q, err := ParseFlagQuery(r.URL.Query())
	if err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	flags, more, err := s.store.Flags(r.Context(), q)
	if err != nil {
		s.internal(w, err)
		return
	}
	resp := wire.FlagsResponse{Flags: []wire.FlagView{}}
	for _, f := range flags {
		resp.Flags = append(resp.Flags, wire.FlagView{ID: records.ID(f.ID).String(), Device: f.Device, Kind: f.Kind, Reason: f.Reason,
			FromSeq: f.FromSeq, ToSeq: f.ToSeq, RecordID: f.RecordID, Detail: f.Detail, At: f.At.UTC()})
	}
	if more && len(flags) > 0 {
		resp.NextPage = records.ID(flags[len(flags)-1].ID).String()
	}
	s.writeFlags(w, r, &resp) // mask.go: the supervisor's jurisdiction
}

func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	if !s.authSupervisor(w, r) {
		return
	}
	devs, err := s.store.Devices(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	out := []wire.DeviceView{}
	for _, d := range devs {
		out = append(out, wire.DeviceView{ID: d.ID, Label: d.Label, Enrolled: d.Enrolled.UTC(), NextSeq: d.NextSeq,
			LastSeen: ptrTime(d.LastSeen), Revoked: ptrTime(d.Revoked)})
	}
	s.writeDevices(w, r, out) // mask.go: the supervisor's jurisdiction
}
