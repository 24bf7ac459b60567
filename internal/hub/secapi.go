package hub

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/hub/wire/envelope"
	"github.com/roadcheck/roadcheck/internal/records"
)

// handleSignIn answers POST /v1/session: password and TOTP code give a
// session token. Every failure gets the same 401; the audit log keeps why.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	ra := auditOf(r)
	ra.set(func(ra *reqAudit) { ra.attempted, ra.action = true, "session.sign_in" })
	release, ok := s.preAuth(w, r, true)
	if !ok {
		return
	}
	defer release()
	body, ok := readBody(w, r, wire.MaxPreAuthBody)
	if !ok {
		return
	}
	var req wire.SignInRequest
	if err := strictJSON(body, &req); err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	ra.set(func(ra *reqAudit) { ra.who = "claimed supervisor " + truncate(req.Name, 64) })
	tok, sess, err := s.sec.accounts.SignIn(r.Context(), account.SignInRequest{Name: req.Name, Password: req.Password, Code: req.Code,
		Key: req.Key, Source: r.RemoteAddr})
	switch {
	case errors.Is(err, account.ErrBadInput):
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	case errors.Is(err, account.ErrSignIn), errors.Is(err, account.ErrLocked):
		ra.set(func(ra *reqAudit) { ra.detail = err.Error() })
		s.sec.limits.Failure(sourceIP(r))
		fail(w, http.StatusUnauthorized, wire.CodeUnauthorized, "sign-in failed")
		return
	case err != nil:
		s.internal(w, err)
		return
	}
	p, err := s.sec.accounts.Authenticate(r.Context(), tok)
	if err != nil {
		s.internal(w, err)
		return
	}
	ra.set(func(ra *reqAudit) { ra.who, ra.role = p.Who(), string(p.Role) })
	if err := s.record(r, http.StatusOK, func(e *audit.Entry) {
		e.Detail = fmt.Sprintf("session until %s, key %v", sess.Expires.UTC().Format(time.RFC3339), len(sess.Key) > 0)
	}); err != nil {
		s.internal(w, err)
		return
	}
	resp := sessionResponse(p, s.clk.Now())
	resp.Token = tok
	writeJSON(w, http.StatusOK, resp)
}

func sessionResponse(p account.Principal, now time.Time) wire.SessionResponse {
	return wire.SessionResponse{Name: p.Name, Kind: p.Kind, Role: string(p.Role), Jurisdiction: p.Jurisdiction, Expires: p.Expires.UTC(),
		CanReveal: p.Role.CanReveal() && p.Kind == "session" && p.Key != nil, HubTime: now.UTC()}
}

// handleWhoAmI answers GET /v1/session: who the bearer token is.
func (s *Server) handleWhoAmI(w http.ResponseWriter, r *http.Request) {
	if !s.authSupervisorSecure(w, r) {
		return
	}
	p, _ := principalOf(r.Context())
	writeJSON(w, http.StatusOK, sessionResponse(p, s.clk.Now()))
}

// handleSignOut answers DELETE /v1/session: the session ends.
func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	auditOf(r).set(func(ra *reqAudit) { ra.action = "session.sign_out" })
	if !s.authSupervisorSecure(w, r) {
		return
	}
	tok := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if !account.IsSession(tok) {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "only a session signs out; revoke an automation token with rchub token revoke")
		return
	}
	if err := s.sec.accounts.SignOut(r.Context(), tok); err != nil {
		s.internal(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// filterRequest turns the JSON filters of a POST body into the query of an
// internal GET-like request for the handler of the same query by URL
// (the plate never travels in a URL on the wire).
func (s *Server) filterRequest(w http.ResponseWriter, r *http.Request, action string) (*http.Request, bool) {
	ra := auditOf(r)
	ra.set(func(ra *reqAudit) { ra.action, ra.bodyFilters = action, true })
	body, ok := readBody(w, r, wire.MaxSmallBody)
	if !ok {
		return nil, false
	}
	var f wire.RecordSearch
	if err := strictJSON(body, &f); err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return nil, false
	}
	if len(r.URL.RawQuery) > 0 {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "give the filters in the body, not in the URL")
		return nil, false
	}
	q := url.Values{}
	for k, v := range map[string]string{"from": f.From, "to": f.To, "device": f.Device, "officer": f.Officer, "verdict": f.Verdict,
		"kind": f.Kind, "plate": f.Plate, "stop": f.Stop, "issuer": f.Issuer, "flagged": f.Flagged, "page": f.Page, "limit": f.Limit,
		"format": f.Format} {
		if v != "" {
			q.Set(k, v)
		}
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return r2, true
}

// handleSearch answers POST /v1/records/search: GET /v1/records with the
// filters in the body.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	r2, ok := s.filterRequest(w, r, "POST "+wire.PathRecordSearch)
	if ok {
		s.handleRecords(w, r2)
	}
}

// handleExportPost answers POST /v1/records/export: the export with the
// filters in the body.
func (s *Server) handleExportPost(w http.ResponseWriter, r *http.Request) {
	r2, ok := s.filterRequest(w, r, "POST "+wire.PathRecordExport)
	if ok {
		s.handleExport(w, r2)
	}
}

// RecordGetter is implemented by stores that read one record by its key.
type RecordGetter interface {
	RecordByKey(ctx context.Context, key [16]byte) (StoredRecord, bool, error)
}

// findRecord returns the stored record with id delivered by device.
func (s *Server) findRecord(ctx context.Context, device string, id [16]byte) (StoredRecord, bool, error) {
	get := func(key [16]byte) (StoredRecord, bool, error) {
		if g, ok := s.store.(RecordGetter); ok {
			return g.RecordByKey(ctx, key)
		}
		var (
			r     StoredRecord
			found bool
		)
		err := s.store.Ingest(ctx, device, func(tx IngestTx) error {
			var err error
			r, found, err = tx.Record(key)
			if err != nil {
				return err
			}
			d := tx.Device()
			return tx.SetChain(d.NextSeq, d.LastHash, d.LastSeen)
		})
		return r, found, err
	}
	for _, key := range [][16]byte{id, s.alias(device, id)} {
		r, found, err := get(key)
		if err != nil {
			return StoredRecord{}, false, err
		}
		if found && r.Device == device {
			return r, true, nil
		}
	}
	return StoredRecord{}, false, nil
}

// handleReveal answers POST /v1/records/reveal: one record with its
// personal fields, for a viewer or administrator of its jurisdiction
// signed in with a session key, who gives a reason. The reveal is in the
// audit log (durably) before the answer leaves, sealed to the session's
// key.
func (s *Server) handleReveal(w http.ResponseWriter, r *http.Request) {
	auditOf(r).set(func(ra *reqAudit) { ra.action = "record.reveal" })
	if !s.authSupervisorSecure(w, r) {
		return
	}
	p, _ := principalOf(r.Context())
	body, ok := readBody(w, r, wire.MaxSmallBody)
	if !ok {
		return
	}
	var req wire.RevealRequest
	if err := strictJSON(body, &req); err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	auditOf(r).set(func(ra *reqAudit) {
		ra.filters = "device=" + url.QueryEscape(req.Device) + "&id=" + url.QueryEscape(req.ID)
		ra.reason = req.Reason
	})
	switch {
	case !p.Role.CanReveal():
		fail(w, http.StatusForbidden, wire.CodeForbidden, "role %s may not reveal personal fields", p.Role)
		return
	case p.Kind != "session" || p.Key == nil:
		fail(w, http.StatusForbidden, wire.CodeForbidden, "a reveal needs a supervisor session signed in with a key (the answer is sealed to it)")
		return
	case utf8.RuneCountInString(req.Reason) < 4 || len(req.Reason) > 500 || !printable(req.Reason):
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "give a reason (4–500 printable characters): it goes into the audit log")
		return
	}
	id, err := records.ParseID(req.ID)
	if err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "id must be a record id")
		return
	}
	in, err := s.deviceInScope(r.Context(), p, req.Device)
	if err != nil {
		s.internal(w, err)
		return
	}
	if !in {
		fail(w, http.StatusForbidden, wire.CodeOutOfScope, "device %s is outside your jurisdiction (%s)", req.Device, p.Jurisdiction)
		return
	}
	sr, found, err := s.findRecord(r.Context(), req.Device, id)
	if err != nil {
		s.internal(w, err)
		return
	}
	if !found {
		fail(w, http.StatusNotFound, wire.CodeNotFound, "no record %s of device %s", req.ID, req.Device)
		return
	}
	v, err := s.view(&sr)
	if err != nil {
		s.internal(w, err)
		return
	}
	plain, err := json.Marshal(v)
	if err != nil {
		s.internal(w, err)
		return
	}
	sealed, err := envelope.Marshal(p.Key, envelope.TypeReveal, plain)
	if err != nil {
		s.internal(w, err)
		return
	}
	if err := s.record(r, http.StatusOK, func(e *audit.Entry) { e.Rows, e.Fields = 1, personalFields(&v) }); err != nil {
		s.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", envelope.ContentType)
	w.WriteHeader(http.StatusOK)
	w.Write(sealed)
}

// handleAudit answers GET /v1/audit (auditors and administrators): entries
// by from, to (RFC 3339), who (text), after (an entry number) and limit.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	if !s.authSupervisorSecure(w, r) {
		return
	}
	p, _ := principalOf(r.Context())
	if !p.Role.CanAudit() {
		fail(w, http.StatusForbidden, wire.CodeForbidden, "role %s may not read the audit log", p.Role)
		return
	}
	v := r.URL.Query()
	var q audit.Query
	var err error
	if q.From, q.To, err = parseRange(v); err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	q.Who = v.Get("who")
	if a := v.Get("after"); a != "" {
		if q.After, err = strconv.ParseUint(a, 10, 64); err != nil {
			fail(w, http.StatusBadRequest, wire.CodeBadRequest, "after must be an entry number")
			return
		}
	}
	if l := v.Get("limit"); l != "" {
		if q.Limit, err = strconv.Atoi(l); err != nil || q.Limit < 1 || q.Limit > 10000 {
			fail(w, http.StatusBadRequest, wire.CodeBadRequest, "limit must be 1–10000")
			return
		}
	}
	es, more, err := s.sec.audit.Store().AuditEntries(r.Context(), q)
	if err != nil {
		s.internal(w, err)
		return
	}
	resp := wire.AuditResponse{Entries: []wire.AuditEntry{}}
	for _, e := range es {
		resp.Entries = append(resp.Entries, AuditView(&e))
	}
	if more && len(es) > 0 {
		resp.Next = strconv.FormatUint(es[len(es)-1].Seq, 10)
	}
	auditOf(r).set(func(ra *reqAudit) { ra.rows = len(es) })
	writeJSON(w, http.StatusOK, resp)
}

// AuditView is an audit entry as supervisors and rchub audit list --json
// see it.
func AuditView(e *audit.Entry) wire.AuditEntry {
	return wire.AuditEntry{Seq: e.Seq, At: e.At.UTC(), Who: e.Who, Role: e.Role, Source: e.Source, Action: e.Action, Outcome: e.Outcome,
		Status: e.Status, Filters: e.Filters, Rows: e.Rows, Fields: e.Fields, Reason: e.Reason, Detail: e.Detail, Hash: hex.EncodeToString(e.Hash[:])}
}

// handleHubKey answers GET /v1/hubkey (devices): the hub's SM2 encryption
// key, which terminals seal their pushes to, and its policy key.
func (s *Server) handleHubKey(w http.ResponseWriter, r *http.Request) {
	if _, _, _, ok := s.authDevice(w, r, wire.MaxSmallBody); !ok {
		return
	}
	der, err := s.keys.EncryptionKey().MarshalPKIX()
	if err != nil {
		s.internal(w, err)
		return
	}
	resp := wire.HubKeyResponse{HubKey: der}
	if pk := s.keys.PolicyKey(); pk != nil {
		if resp.PolicyKey, err = pk.MarshalPKIX(); err != nil {
			s.internal(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, resp)
}
