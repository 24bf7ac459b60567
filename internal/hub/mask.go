package hub

import (
	"context"
	"net/http"
	"strings"

	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// Masking of personal fields in supervisor responses: every response shows
// them masked; POST /v1/records/reveal shows one record's in full, audited.

// MaskName keeps the first character of a name: 张三丰 → 张**.
func MaskName(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return ""
	}
	return string(r[0]) + strings.Repeat("*", len(r)-1)
}

// MaskID keeps the first 4 and last 4 characters of an ID number of 12 or
// more (the region and the check digits), the last 2 of a shorter one:
// 440305199001011234 → 4403**********1234.
func MaskID(s string) string {
	r := []rune(s)
	switch {
	case len(r) == 0:
		return ""
	case len(r) >= 12:
		return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
	case len(r) > 2:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return strings.Repeat("*", len(r))
}

// MaskPlate keeps the province and authority and the last 2 characters of
// a plate: 粤B5D832 → 粤B***32.
func MaskPlate(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:2]) + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
}

// mask masks the personal fields of v.
func mask(v *wire.RecordView) {
	if v.Number != "" && v.Number == v.HolderID {
		v.Number = MaskID(v.Number)
	}
	v.Holder, v.HolderID, v.Plate = MaskName(v.Holder), MaskID(v.HolderID), MaskPlate(v.Plate)
}

// personalFields names the personal fields v holds (for the audit log).
func personalFields(v *wire.RecordView) []string {
	var f []string
	if v.Holder != "" {
		f = append(f, audit.FieldHolder)
	}
	if v.HolderID != "" {
		f = append(f, audit.FieldHolderID)
	}
	if v.Plate != "" {
		f = append(f, audit.FieldPlate)
	}
	return f
}

// presenter filters the records of one supervisor response to the
// principal's jurisdiction and masks them. Outside a supervisor request
// (no principal: a local command) it passes records unchanged.
type presenter struct {
	in func(device string) (bool, error)
}

func (s *Server) presenter(ctx context.Context) *presenter {
	p, ok := principalOf(ctx)
	if !ok {
		return &presenter{}
	}
	return &presenter{in: s.scopeFilter(ctx, p)}
}

// show masks v and reports whether it may be shown.
func (pr *presenter) show(v *wire.RecordView) (bool, error) {
	if pr.in == nil {
		return true, nil
	}
	ok, err := pr.in(v.Device)
	if err != nil || !ok {
		return false, err
	}
	mask(v)
	return true, nil
}

// PresentRecords filters and masks the records of a response for the
// supervisor of ctx, in place, and notes the rows in the audit log.
func (s *Server) PresentRecords(ctx context.Context, r *http.Request, recs []wire.RecordView) ([]wire.RecordView, error) {
	pr := s.presenter(ctx)
	out := recs[:0]
	for i := range recs {
		ok, err := pr.show(&recs[i])
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, recs[i])
		}
	}
	if r != nil {
		auditOf(r).set(func(ra *reqAudit) { ra.rows += len(out) })
	}
	return out, nil
}

// writeRecords answers a record query: the records of the supervisor's
// jurisdiction, masked.
func (s *Server) writeRecords(w http.ResponseWriter, r *http.Request, resp *wire.RecordsResponse) {
	recs, err := s.PresentRecords(r.Context(), r, resp.Records)
	if err != nil {
		s.internal(w, err)
		return
	}
	resp.Records = recs
	writeJSON(w, http.StatusOK, resp)
}

// writeFlags answers a flag query: the flags of the supervisor's devices.
func (s *Server) writeFlags(w http.ResponseWriter, r *http.Request, resp *wire.FlagsResponse) {
	if p, ok := principalOf(r.Context()); ok {
		in := s.scopeFilter(r.Context(), p)
		out := resp.Flags[:0]
		for _, f := range resp.Flags {
			ok, err := in(f.Device)
			if err != nil {
				s.internal(w, err)
				return
			}
			if ok {
				out = append(out, f)
			}
		}
		resp.Flags = out
	}
	auditOf(r).set(func(ra *reqAudit) { ra.rows = len(resp.Flags) })
	writeJSON(w, http.StatusOK, resp)
}

// writeDevices answers GET /v1/devices: the supervisor's devices, their
// labels escaped.
func (s *Server) writeDevices(w http.ResponseWriter, r *http.Request, devs []wire.DeviceView) {
	if p, ok := principalOf(r.Context()); ok {
		in := s.scopeFilter(r.Context(), p)
		out := devs[:0]
		for _, d := range devs {
			ok, err := in(d.ID)
			if err != nil {
				s.internal(w, err)
				return
			}
			if ok {
				out = append(out, d)
			}
		}
		devs = out
	}
	auditOf(r).set(func(ra *reqAudit) { ra.rows = len(devs) })
	writeJSON(w, http.StatusOK, devs)
}
