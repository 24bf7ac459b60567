package hub

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// reqAudit collects what the audit entry of one request says; handlers and
// the authentication fill it, the audited wrapper writes it.
type reqAudit struct {
	mu        sync.Mutex
	who, role string
	action    string // overrides METHOD PATH
	filters   string
	rows      int
	fields    []string
	reason    string
	detail    string
	nonce     string
	attempted bool // authentication was attempted: always logged
	skip      bool // the handler logged the request itself
	principal *account.Principal
	// bodyFilters: the filters came in a POST body (search, export), so a
	// plate among them is allowed.
	bodyFilters bool
}

type auditKey struct{}

// auditOf returns the request's audit record (a throwaway one outside the
// audited wrapper, e.g. a handler called directly in a test).
func auditOf(r *http.Request) *reqAudit {
	if ra, ok := r.Context().Value(auditKey{}).(*reqAudit); ok {
		return ra
	}
	return &reqAudit{}
}

func (ra *reqAudit) set(fn func(ra *reqAudit)) {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	fn(ra)
}

// audited serves r through the mux and logs it: every request that tried
// to authenticate (device, supervisor, enrolment, sign-in), and every
// refusal (401, 403, 429) of any request.
func (s *Server) audited(w http.ResponseWriter, r *http.Request) {
	ra := &reqAudit{}
	r = r.WithContext(context.WithValue(r.Context(), auditKey{}, ra))
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	code := sw.code
	if code == 0 {
		code = http.StatusOK
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	refusal := code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusTooManyRequests
	if ra.skip || (!ra.attempted && !refusal) {
		return
	}
	if ra.role == audit.RoleDevice && s.sec.quietDevices && code < 400 {
		return
	}
	e := s.entry(r, ra, code)
	s.sec.audit.Note(context.WithoutCancel(r.Context()), e)
}

// entry is the audit entry of request r answered with code.
func (s *Server) entry(r *http.Request, ra *reqAudit, code int) audit.Entry {
	e := audit.Entry{Who: ra.who, Role: ra.role, Source: r.RemoteAddr, Action: ra.action, Status: code, Filters: ra.filters,
		Rows: ra.rows, Fields: ra.fields, Reason: ra.reason, Detail: ra.detail, Nonce: ra.nonce}
	if e.Who == "" {
		e.Who = "-"
	}
	if e.Role == "" {
		e.Role = audit.RoleAnonymous
	}
	if e.Action == "" {
		e.Action = r.Method + " " + r.URL.Path // never the query: it may hold personal data
	}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		e.Outcome = audit.OutcomeDenied
	case code >= 500:
		e.Outcome = audit.OutcomeError
	case code >= 400:
		e.Outcome = audit.OutcomeRefused
	default:
		e.Outcome = audit.OutcomeOK
	}
	return e
}

// record logs the request now and durably (before personal data leaves),
// instead of after it: the wrapper then logs nothing more for it.
func (s *Server) record(r *http.Request, code int, fn func(e *audit.Entry)) error {
	ra := auditOf(r)
	ra.mu.Lock()
	e := s.entry(r, ra, code)
	ra.skip = true
	ra.mu.Unlock()
	if fn != nil {
		fn(&e)
	}
	return s.sec.audit.Record(r.Context(), e)
}

// unauthenticated answers every failed authentication of a device alike —
// unknown device, bad signature, malformed headers — so that a caller
// learns nothing about which devices exist; the audit log keeps why.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request, why string) {
	ra := auditOf(r)
	ra.set(func(ra *reqAudit) { ra.detail = why })
	s.sec.limits.Failure(sourceIP(r))
	fail(w, http.StatusUnauthorized, wire.CodeUnauthorized, "request not authenticated")
}

// tooMany answers 429 with Retry-After.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, d limit.Decision) {
	s.sec.refused.Add(1)
	auditOf(r).set(func(ra *reqAudit) { ra.detail = "limit: " + d.What })
	w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
	fail(w, http.StatusTooManyRequests, wire.CodeRateLimited, "too many %s: retry after %d s", d.What, d.RetryAfterSeconds())
}

// preAuth takes a pre-authentication slot and, for requests that guess at
// credentials (enrolment tokens, passwords: guard), refuses a source whose
// recent failures are over the quota; on false it has answered. The
// caller must call release. Device and supervisor requests are not
// refused by source (terminals share addresses behind NAT): their failures
// are counted and logged.
func (s *Server) preAuth(w http.ResponseWriter, r *http.Request, guard bool) (release func(), ok bool) {
	if d := s.sec.limits.Source(sourceIP(r)); guard && !d.OK {
		s.tooMany(w, r, d)
		return nil, false
	}
	release, d := s.sec.limits.PreAuth()
	if !d.OK {
		s.tooMany(w, r, d)
		return nil, false
	}
	return release, true
}

// authDeviceSecure authenticates a device request before reading its body:
// the signature covers the body's SM3 hash (wire.HeaderContentSM3), so
// only an authenticated device gets its body read — within its quota and
// the body caps — and the body is checked against the hash as it is read.
// A request without the header may carry at most wire.MaxPreAuthBody
// bytes. Failures before authentication all get one generic 401. charge
// spends the device's quota for the request (limit.Limiter.Request, or
// Object for a trust-object download). With later not nil (a push), the
// request's nonce is not used but left in later, to be used with the
// push's quota charges (admitPush): a replayed push is refused once its
// body is read; and the device may come from the cache its ingestion
// confirms (deviceCache).
func (s *Server) authDeviceSecure(w http.ResponseWriter, r *http.Request, limit int64, charge func(context.Context, string) (limit.Decision, error), later *nonceUse) (Device, *gm.PublicKey, []byte, bool) {
	ra := auditOf(r)
	ra.set(func(ra *reqAudit) { ra.attempted = true })
	release, ok := s.preAuth(w, r, false)
	if !ok {
		return Device{}, nil, nil, false
	}
	defer release()
	a, err := wire.ParseAuth(r.Header)
	if err != nil {
		s.unauthenticated(w, r, err.Error())
		return Device{}, nil, nil, false
	}
	ra.set(func(ra *reqAudit) { ra.who = "claimed device " + truncate(a.Device, 64) })
	now := s.clk.Now()
	if d := now.Sub(a.Time); d > s.window || d < -s.window {
		ra.set(func(ra *reqAudit) { ra.detail = "request time outside the replay window" })
		fail(w, http.StatusUnauthorized, wire.CodeClockSkew, "request time %s is %s away from the hub's %s: sign with the hub's time (header %s)",
			a.Time.UTC().Format(time.RFC3339), d.Round(time.Second), now.UTC().Format(time.RFC3339), wire.HeaderHubTime)
		return Device{}, nil, nil, false
	}
	var dev Device
	var pub *gm.PublicKey
	if later != nil {
		// A push: its ingestion confirms the device (deviceCache).
		dev, pub, err = s.cachedDevice(r.Context(), a.Device, now)
	} else if dev, err = s.store.Device(r.Context(), a.Device); err == nil {
		pub, err = gm.ParsePKIX(dev.PublicKey)
	}
	if errors.Is(err, ErrNotFound) {
		s.unauthenticated(w, r, "unknown device")
		return Device{}, nil, nil, false
	} else if err != nil {
		s.internal(w, err)
		return Device{}, nil, nil, false
	}
	sum, declared := wire.ParseContentSM3(r.Header.Get(wire.HeaderContentSM3))
	var body []byte
	if declared {
		if !a.VerifySum(pub, r.Method, r.URL.RequestURI(), sum) {
			s.unauthenticated(w, r, "bad request signature")
			return Device{}, nil, nil, false
		}
	} else {
		if body, ok = readBody(w, r, min(limit, wire.MaxPreAuthBody)); !ok {
			return Device{}, nil, nil, false
		}
		if !a.Verify(pub, r.Method, r.URL.RequestURI(), body) {
			s.unauthenticated(w, r, "bad request signature")
			return Device{}, nil, nil, false
		}
	}
	ra.set(func(ra *reqAudit) { ra.who, ra.role, ra.nonce = "device "+dev.ID, audit.RoleDevice, a.Nonce })
	if !dev.Revoked.IsZero() {
		ra.set(func(ra *reqAudit) { ra.detail = "revoked device" })
		revoked(w, dev)
		return Device{}, nil, nil, false
	}
	nu := nonceUse{key: a.Device + "/" + a.Nonce, now: now, expires: a.Time.Add(s.window)}
	if later != nil {
		*later = nu
	} else if !s.useNonce(w, r, nu) {
		return Device{}, nil, nil, false
	}
	if d, err := charge(r.Context(), dev.ID); err != nil {
		s.internal(w, err)
		return Device{}, nil, nil, false
	} else if !d.OK {
		s.tooMany(w, r, d)
		return Device{}, nil, nil, false
	}
	release()
	if declared {
		if r.ContentLength != 0 {
			rel, d := s.sec.limits.Body(dev.ID)
			if !d.OK {
				s.tooMany(w, r, d)
				return Device{}, nil, nil, false
			}
			defer rel()
		}
		if body, ok = s.readBodySum(w, r, limit, sum); !ok {
			return Device{}, nil, nil, false
		}
	}
	return dev, pub, body, true
}

// nonceUse is the use of a request's nonce: key (device/nonce), recorded
// until expires.
type nonceUse struct {
	key          string
	now, expires time.Time
}

// useNonce records the request's nonce (shared by the hubs on the store,
// or in memory); on false, a replay or a failure, it has answered.
func (s *Server) useNonce(w http.ResponseWriter, r *http.Request, nu nonceUse) bool {
	fresh := true
	if s.shared != nil {
		var err error
		if fresh, err = s.shared.UseNonce(r.Context(), nu.key, nu.now, nu.expires); err != nil {
			s.internal(w, err)
			return false
		}
	} else {
		fresh = s.nonces.add(nu.key, nu.now.UnixMilli(), nu.expires.UnixMilli())
	}
	if !fresh {
		replayed(w, r)
	}
	return fresh
}

func replayed(w http.ResponseWriter, r *http.Request) {
	auditOf(r).set(func(ra *reqAudit) { ra.detail = "replayed nonce" })
	fail(w, http.StatusUnauthorized, wire.CodeReplay, "nonce already used: this request was replayed")
}

// readBodySum reads at most limit bytes of body and checks them against
// their signed SM3 hash.
func (s *Server) readBodySum(w http.ResponseWriter, r *http.Request, limit int64, sum [gm.SM3Size]byte) ([]byte, bool) {
	h := gm.NewSM3()
	b, err := io.ReadAll(io.TeeReader(http.MaxBytesReader(w, r.Body, limit), h))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			fail(w, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "request body larger than %d bytes", limit)
		} else {
			fail(w, http.StatusBadRequest, wire.CodeBadRequest, "reading body: %v", err)
		}
		return nil, false
	}
	if [gm.SM3Size]byte(h.Sum(nil)) != sum {
		auditOf(r).set(func(ra *reqAudit) { ra.detail = "body does not match its signed hash" })
		fail(w, http.StatusBadRequest, wire.CodeBodyMismatch, "the body does not match the hash the request signed (%s)", wire.HeaderContentSM3)
		return nil, false
	}
	return b, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

type principalKey struct{}

// principalOf returns the supervisor a request was authenticated as.
func principalOf(ctx context.Context) (account.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(account.Principal)
	return p, ok
}

// authSupervisorSecure authenticates a supervisor: a session token of a
// signed-in account (rcses_…) or an automation token (rcsup_…) with its
// scope. It refuses a plate in a URL (plates travel in POST bodies), a
// device filter outside the supervisor's jurisdiction, and counters to
// anyone without national scope. On success the principal is in r's
// context (*r is replaced).
func (s *Server) authSupervisorSecure(w http.ResponseWriter, r *http.Request) bool {
	ra := auditOf(r)
	ra.set(func(ra *reqAudit) { ra.attempted = true })
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		ra.set(func(ra *reqAudit) { ra.detail = "no bearer token" })
		w.Header().Set("WWW-Authenticate", `Bearer realm="rchub"`)
		fail(w, http.StatusUnauthorized, wire.CodeUnauthorized, "supervisor bearer token required")
		return false
	}
	p, why, err := s.principal(r.Context(), tok)
	if err != nil {
		s.internal(w, err)
		return false
	}
	if why != "" {
		ra.set(func(ra *reqAudit) { ra.detail = why })
		s.sec.limits.Failure(sourceIP(r))
		fail(w, http.StatusForbidden, wire.CodeForbidden, "not a valid supervisor token")
		return false
	}
	ra.set(func(ra *reqAudit) { ra.who, ra.role, ra.principal = p.Who(), string(p.Role), &p })
	if !p.Role.CanQuery() {
		fail(w, http.StatusForbidden, wire.CodeForbidden, "role %s may not query", p.Role)
		return false
	}
	q := r.URL.Query()
	if q.Has("plate") && !ra.bodyFilters {
		ra.set(func(ra *reqAudit) { ra.detail = "plate in a URL refused" })
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "a plate never travels in a URL: send the filters in the body of POST %s (or POST %s)", wire.PathRecordSearch, wire.PathRecordExport)
		return false
	}
	if dev := q.Get("device"); dev != "" {
		in, err := s.deviceInScope(r.Context(), p, dev)
		if err != nil {
			s.internal(w, err)
			return false
		}
		if !in {
			ra.set(func(ra *reqAudit) { ra.detail = "device " + dev + " outside the jurisdiction " + p.Jurisdiction })
			fail(w, http.StatusForbidden, wire.CodeOutOfScope, "device %s is outside your jurisdiction (%s)", dev, p.Jurisdiction)
			return false
		}
	}
	if r.URL.Path == "/v1/counters" && p.Jurisdiction != account.National {
		fail(w, http.StatusForbidden, wire.CodeOutOfScope, "counters cover every region: they need national scope")
		return false
	}
	if d, err := s.sec.limits.Request(r.Context(), "supervisor/"+p.Kind+"/"+p.Name); err != nil {
		s.internal(w, err)
		return false
	} else if !d.OK {
		s.tooMany(w, r, d)
		return false
	}
	ra.set(func(ra *reqAudit) { ra.filters = filtersOf(q) })
	*r = *r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	return true
}

// principal resolves a bearer token; why says why it is refused ("" when
// it is not).
func (s *Server) principal(ctx context.Context, tok string) (account.Principal, string, error) {
	if account.IsSession(tok) {
		p, err := s.sec.accounts.Authenticate(ctx, tok)
		if errors.Is(err, account.ErrSession) {
			return account.Principal{}, "session unknown, expired or revoked", nil
		}
		return p, "", err
	}
	t, err := s.store.Token(ctx, gm.SM3([]byte(tok)))
	if errors.Is(err, ErrNotFound) {
		return account.Principal{}, "unknown token", nil
	}
	if err != nil {
		return account.Principal{}, "", err
	}
	if t.Role != RoleSupervisor {
		return account.Principal{}, "token " + t.ID() + " is not a supervisor token", nil
	}
	if st := t.State(s.clk.Now()); st != "active" {
		return account.Principal{}, "token " + t.ID() + " is " + st, nil
	}
	p := account.Principal{Kind: "token", Name: t.ID(), Role: account.Viewer, Jurisdiction: account.National, Expires: t.Expires}
	sc, ok, err := s.sec.accounts.Store().Scope(ctx, account.TokenScopeKey(t.Hash))
	if err != nil {
		return account.Principal{}, "", err
	}
	if ok {
		p.Role, p.Jurisdiction = sc.Role, sc.Jurisdiction
	}
	return p, "", nil
}

// deviceRegion is the jurisdiction a device was enrolled in ("" when its
// enrolment token had none).
func (s *Server) deviceRegion(ctx context.Context, id string) (string, error) {
	sc, _, err := s.sec.accounts.Store().Scope(ctx, account.DeviceScopeKey(id))
	return sc.Jurisdiction, err
}

// deviceInScope reports whether p's jurisdiction covers device id.
func (s *Server) deviceInScope(ctx context.Context, p account.Principal, id string) (bool, error) {
	if p.Jurisdiction == account.National {
		return true, nil
	}
	region, err := s.deviceRegion(ctx, id)
	return p.Covers(region), err
}

// scopeFilter returns a function telling whether a device is in p's
// jurisdiction, remembering the answers (one request's worth).
func (s *Server) scopeFilter(ctx context.Context, p account.Principal) func(device string) (bool, error) {
	seen := map[string]bool{}
	var mu sync.Mutex
	return func(device string) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if in, ok := seen[device]; ok {
			return in, nil
		}
		in, err := s.deviceInScope(ctx, p, device)
		if err == nil {
			seen[device] = in
		}
		return in, err
	}
}

// filtersOf is the canonical form of a query's filters for the audit log:
// sorted key=value pairs, the plate masked.
func filtersOf(q url.Values) string {
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			if k == "plate" {
				v = MaskPlate(NormalisePlate(v))
			}
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}
