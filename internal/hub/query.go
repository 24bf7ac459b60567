package hub

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// ParseRecordQuery reads a supervisor's record query from URL values:
// from, to (RFC 3339), device, officer, verdict (VALID/LIMITED/INVALID),
// kind (1–3), plate, flagged (true), page (a record id), limit (1–1000).
// The plate is turned into its keyed hash with keys.
func ParseRecordQuery(v url.Values, keys *Keys) (RecordQuery, error) {
	var q RecordQuery
	bad := func(format string, args ...any) (RecordQuery, error) {
		return RecordQuery{}, fmt.Errorf("%w: "+format, append([]any{ErrBadInput}, args...)...)
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return bad("%s must be an RFC 3339 time", f.name)
			}
			*f.dst = t
		}
	}
	q.Device, q.Officer = v.Get("device"), v.Get("officer")
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
	switch v.Get("flagged") {
	case "", "false":
	case "true":
		q.FlaggedOnly = true
	default:
		return bad("flagged must be true or false")
	}
	if s := v.Get("page"); s != "" {
		id, err := records.ParseID(s)
		if err != nil {
			return bad("page must be a record id from next_page")
		}
		q.After = id
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return bad("limit must be 1–1000")
		}
		q.Limit = n
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
	v := wire.RecordView{
		ID: r.ID.String(), Device: r.Device, Seq: r.Seq, Wall: r.Wall.UTC(), Received: sr.Received.UTC(), Officer: r.Officer,
		Kind: uint8(r.Kind), Number: r.Number, Verdict: r.Verdict.String(), Action: r.Action.String(), ActionText: r.ActionText,
		Notes: r.Notes, Holder: r.Holder, HolderID: r.HolderID, Plate: r.Plate, Revealed: ptrTime(r.HolderIDRevealed),
		HubTime: ptrTime(r.Clock.HubTime), Flags: sr.Flags,
	}
	for _, rs := range r.Reasons {
		v.Reasons = append(v.Reasons, rs.String())
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
	recs, more, err := s.store.Records(r.Context(), q)
	if err != nil {
		s.internal(w, err)
		return
	}
	resp := wire.RecordsResponse{Records: []wire.RecordView{}, HubTime: s.clk.Now().UTC()}
	for i := range recs {
		v, err := s.view(&recs[i])
		if err != nil {
			s.internal(w, err)
			return
		}
		resp.Records = append(resp.Records, v)
	}
	if more {
		if len(recs) > 0 {
			resp.NextPage = records.ID(recs[len(recs)-1].ID).String()
		} else {
			resp.Truncated = true
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleFlags(w http.ResponseWriter, r *http.Request) {
	if !s.authSupervisor(w, r) {
		return
	}
	v := r.URL.Query()
	q := FlagQuery{Device: v.Get("device"), Kind: v.Get("kind")}
	if p := v.Get("page"); p != "" {
		id, err := records.ParseID(p)
		if err != nil {
			fail(w, http.StatusBadRequest, wire.CodeBadRequest, "page must be a flag id from next_page")
			return
		}
		q.After = id
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			fail(w, http.StatusBadRequest, wire.CodeBadRequest, "limit must be 1–1000")
			return
		}
		q.Limit = n
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
	writeJSON(w, http.StatusOK, resp)
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
		out = append(out, wire.DeviceView{ID: d.ID, Label: d.Label, Enrolled: d.Enrolled.UTC(), NextSeq: d.NextSeq, LastSeen: d.LastSeen.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
}
