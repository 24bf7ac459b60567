package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/limit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/trust"
	segjson "github.com/segmentio/encoding/json"
)

// Config configures a Server.
type Config struct {
	Store Store
	// Trust is the hub's trust store: it validates published bundles and
	// answers status checks.
	Trust *trust.Store
	Keys  *Keys
	Clock clock.Clock // nil: the real clock
	Log   *slog.Logger
	// ReplayWindow overrides wire.ReplayWindow (tests).
	ReplayWindow time.Duration
	// Instance names this hub in logs (e.g. the host name of a replica).
	Instance string
	// Security configures the audit log, supervisor accounts, quotas and
	// sealing (security.go); the zero value gets defaults.
	Security Security
}

// Server is the hub's HTTP handler.
type Server struct {
	store  Store
	trust  *trust.Store
	keys   *Keys
	clk    clock.Clock
	log    *slog.Logger
	window time.Duration
	nonces *nonceCache
	// devCache keeps the devices pushes authenticate against.
	devCache deviceCache
	// shared keeps the nonces where every hub on the store sees them
	// (nil: nonces stays in memory).
	shared  NonceStore
	metrics *metrics
	mux     *http.ServeMux
	// manifest is the JSON of the manifest last served.
	manifest atomic.Pointer[renderedManifest]
	sec      *security // security.go
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Trust == nil || cfg.Keys == nil {
		return nil, fmt.Errorf("%w: Store, Trust and Keys are required", ErrBadInput)
	}
	s := &Server{store: cfg.Store, trust: cfg.Trust, keys: cfg.Keys, clk: cfg.Clock, log: cfg.Log, window: cfg.ReplayWindow}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.window == 0 {
		s.window = wire.ReplayWindow
	}
	s.nonces = &nonceCache{seen: map[nonceKey]int64{}}
	s.shared, _ = cfg.Store.(NonceStore)
	s.metrics = newMetrics(cfg.Store)
	if cfg.Instance != "" {
		s.log = s.log.With("instance", cfg.Instance)
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/health", s.handleHealth)
	m.HandleFunc("GET /v1/ready", s.handleReady)
	m.Handle("GET /metrics", s.MetricsHandler())
	m.HandleFunc("GET /v1/counters", s.handleCounters)
	m.HandleFunc("GET /v1/records/export", s.handleExport)
	m.HandleFunc("POST /v1/enroll", s.handleEnroll)
	m.HandleFunc("POST /v1/records", s.handlePush)
	m.HandleFunc("POST "+wire.PathHead, s.handleHead) // head.go
	m.HandleFunc("GET /v1/trust/manifest", s.handleManifest)
	m.HandleFunc(routeObject, s.handleObject)
	m.HandleFunc("GET /v1/status", s.handleStatus)
	m.HandleFunc("GET /v1/records", s.handleRecords)
	m.HandleFunc("GET /v1/flags", s.handleFlags)
	m.HandleFunc("GET /v1/devices", s.handleDevices)
	if err := s.initSecurity(context.Background(), cfg, m); err != nil {
		return nil, err
	}
	s.mux = m
	return s, nil
}

// ServeHTTP implements http.Handler. Every response carries the hub's time.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(wire.HeaderHubTime, strconv.FormatInt(s.clk.Now().UnixMilli(), 10))
	w.Header().Set("Cache-Control", "no-store")
	s.observe(w, r, s.audited) // secauth.go
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, errCode, format string, args ...any) {
	writeJSON(w, code, wire.Error{Code: errCode, Message: fmt.Sprintf(format, args...)})
}

func (s *Server) internal(w http.ResponseWriter, err error) {
	if isUnavailable(err) {
		s.unavailable(w, err)
		return
	}
	s.log.Error("internal error", "err", err)
	fail(w, http.StatusInternalServerError, wire.CodeInternal, "internal error")
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			fail(w, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "request body larger than %d bytes", limit)
		} else {
			fail(w, http.StatusBadRequest, wire.CodeBadRequest, "reading body: %v", err)
		}
		return nil, false
	}
	return b, true
}

// nonceCache remembers the nonces of accepted requests for the replay
// window. It is in memory: after a restart a request captured in the last
// window could be replayed once; every write it could repeat is idempotent
// (records are de-duplicated by id, enrolment tokens are one-time).
type nonceCache struct {
	mu      sync.Mutex
	seen    map[nonceKey]int64 // SM3 of device/nonce → expiry (Unix ms)
	inserts int
}

// nonceKey is the first 16 bytes of the SM3 of "device/nonce": a fixed 24
// bytes an entry with its expiry, however long the nonce, so that the
// replay window of thousands of terminals fetching the trust set stays
// small (a false replay needs a 128-bit SM3 collision).
type nonceKey [16]byte

// add reports false when key was seen and has not expired.
func (c *nonceCache) add(key string, now, expiry int64) bool {
	sum := gm.SM3([]byte(key))
	k := nonceKey(sum[:16])
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[k]; ok && exp >= now {
		return false
	}
	c.seen[k] = expiry
	if c.inserts++; c.inserts%4096 == 0 {
		for k, exp := range c.seen {
			if exp < now {
				delete(c.seen, k)
			}
		}
	}
	return true
}

// authDevice authenticates a device request and returns the device and
// the body. On failure it has written the response. See
// authDeviceSecure (secauth.go).
func (s *Server) authDevice(w http.ResponseWriter, r *http.Request, limit int64) (Device, *gm.PublicKey, []byte, bool) {
	return s.authDeviceSecure(w, r, limit, s.sec.limits.Request, nil)
}

func revoked(w http.ResponseWriter, dev Device) {
	fail(w, http.StatusForbidden, wire.CodeDeviceRevoked, "device %s was revoked at %s: it can no longer sync; enrol the terminal again as a new device",
		dev.ID, dev.Revoked.UTC().Format(time.RFC3339))
}

// authSupervisor checks the bearer token of a supervisor request (a
// session or an automation token) and puts the principal in r's context:
// see authSupervisorSecure (secauth.go).
func (s *Server) authSupervisor(w http.ResponseWriter, r *http.Request) bool {
	return s.authSupervisorSecure(w, r)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "hub_time": s.clk.Now().UTC()})
}

// Token prefixes.
const (
	devicePrefix     = "rcdev_"
	supervisorPrefix = "rcsup_"
)

// CreateToken stores a new token of role and returns it; only its hash is
// kept. Device tokens are one-time and expire after ttl (0: 24 hours);
// supervisor tokens expire after ttl (0: DefaultSupervisorTTL) and, without
// a scope (CreateScopedToken), are viewers of every region.
func CreateToken(ctx context.Context, st Store, role Role, label string, ttl time.Duration, now time.Time) (string, error) {
	prefix := devicePrefix
	switch role {
	case RoleDevice:
		if ttl == 0 {
			ttl = 24 * time.Hour
		}
	case RoleSupervisor:
		prefix = supervisorPrefix
		if ttl == 0 {
			ttl = DefaultSupervisorTTL
		}
	default:
		return "", fmt.Errorf("%w: role %q (device or supervisor)", ErrBadInput, role)
	}
	raw := make([]byte, 20)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := prefix + hex.EncodeToString(raw)
	t := Token{Hash: gm.SM3([]byte(tok)), Role: role, Label: label, Created: now}
	if ttl > 0 {
		t.Expires = now.Add(ttl)
	}
	if err := st.PutToken(ctx, t); err != nil {
		return "", err
	}
	return tok, nil
}

// FindToken returns the token that ref names: the token itself (rcdev_…,
// rcsup_…), its hash (64 hex digits) or its id (Token.ID, or a unique
// prefix of at least 8 hex digits). ErrNotFound when none matches,
// ErrAmbiguous when a prefix names several.
func FindToken(ctx context.Context, st Store, ref string) (Token, error) {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, devicePrefix) || strings.HasPrefix(ref, supervisorPrefix) {
		return st.Token(ctx, gm.SM3([]byte(ref)))
	}
	ref = strings.ToLower(ref)
	if len(ref) < 8 || strings.Trim(ref, "0123456789abcdef") != "" {
		return Token{}, fmt.Errorf("%w: %q is neither a token nor a token id (hex, at least 8 digits)", ErrBadInput, ref)
	}
	if raw, err := hex.DecodeString(ref); err == nil && len(raw) == gm.SM3Size {
		return st.Token(ctx, [gm.SM3Size]byte(raw))
	}
	all, err := st.Tokens(ctx)
	if err != nil {
		return Token{}, err
	}
	var found []Token
	for _, t := range all {
		if strings.HasPrefix(hex.EncodeToString(t.Hash[:]), ref) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return Token{}, fmt.Errorf("%w: no token with id %s", ErrNotFound, ref)
	case 1:
		return found[0], nil
	}
	return Token{}, fmt.Errorf("%w: %s names %d tokens: give more digits", ErrAmbiguous, ref, len(found))
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	auditOf(r).set(func(ra *reqAudit) { ra.attempted, ra.action = true, "device.enroll" })
	release, ok := s.preAuth(w, r, true)
	if !ok {
		return
	}
	defer release()
	body, ok := readBody(w, r, wire.MaxPreAuthBody)
	if !ok {
		return
	}
	req, err := DecodeEnroll(body)
	if err != nil {
		auditOf(r).set(func(ra *reqAudit) { ra.detail = err.Error() })
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	now := s.clk.Now()
	dev := Device{ID: req.DeviceID, PublicKey: req.PublicKey, Label: req.Label, Enrolled: now, NextSeq: 1}
	err = s.store.Enroll(r.Context(), gm.SM3([]byte(req.Token)), dev, now)
	switch {
	case errors.Is(err, ErrTokenInvalid):
		auditOf(r).set(func(ra *reqAudit) { ra.detail = "token " + TokenID(gm.SM3([]byte(req.Token))) + " invalid" })
		s.sec.limits.Failure(sourceIP(r))
		fail(w, http.StatusForbidden, wire.CodeTokenInvalid, "enrolment token unknown, expired, already used or revoked")
		return
	case errors.Is(err, ErrDeviceExists):
		fail(w, http.StatusConflict, wire.CodeDeviceExists, "device %q is already enrolled", req.DeviceID)
		return
	case errors.Is(err, ErrDeviceRevoked):
		fail(w, http.StatusForbidden, wire.CodeDeviceRevoked, "device %q was revoked: enrol the terminal as a new device", req.DeviceID)
		return
	case err != nil:
		s.internal(w, err)
		return
	}
	if err := s.enrolled(r, gm.SM3([]byte(req.Token)), req, now); err != nil { // secingest.go: jurisdiction, audit
		s.internal(w, err)
		return
	}
	s.log.Info("device enrolled", "device", req.DeviceID)
	hubKey, err := s.keys.EncryptionKey().MarshalPKIX()
	if err != nil {
		s.internal(w, err)
		return
	}
	resp := wire.EnrollResponse{DeviceID: req.DeviceID, HubTime: now.UTC(), HubKey: hubKey}
	if pk := s.keys.PolicyKey(); pk != nil {
		if resp.PolicyKey, err = pk.MarshalPKIX(); err != nil {
			s.internal(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// DecodeEnroll parses and checks an enrolment request body.
func DecodeEnroll(body []byte) (*wire.EnrollRequest, error) {
	var req wire.EnrollRequest
	if err := strictJSON(body, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Token == "":
		return nil, fmt.Errorf("%w: token missing", ErrBadInput)
	}
	if err := ValidDeviceID(req.DeviceID); err != nil {
		return nil, err
	}
	if err := ValidLabel(req.Label); err != nil {
		return nil, err
	}
	if _, err := gm.ParsePKIX(req.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: public_key is not an SM2 PKIX key: %v", ErrBadInput, err)
	}
	return &req, nil
}

func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON object", ErrBadInput)
	}
	return nil
}

func (s *Server) handlePush(w http.ResponseWriter, r *http.Request) {
	// The push's nonce is used, and its request charged to the shared
	// quota, with its records (admitPush).
	var nu nonceUse
	local := func(_ context.Context, id string) (limit.Decision, error) { return s.sec.limits.PushRequest(id), nil }
	dev, pub, body, ok := s.authDeviceSecure(w, r, wire.MaxPushBody, local, &nu)
	if !ok {
		return
	}
	if body, ok = s.openPush(w, r, body); !ok { // secingest.go: sealed pushes
		return
	}
	req, err := DecodePush(body)
	if err != nil {
		fail(w, http.StatusBadRequest, wire.CodeBadRequest, "%v", err)
		return
	}
	if !s.admitPush(w, r, dev, nu, len(req.Records)) { // nonce and quota
		return
	}
	res, err := s.Ingest(r.Context(), dev, pub, req.Records)
	if errors.Is(err, ErrDeviceRevoked) {
		// Revoked between the authentication (or the device's caching)
		// and the transaction.
		s.forgetDevice(dev.ID)
		auditOf(r).set(func(ra *reqAudit) { ra.detail = "revoked device" })
		dev.Revoked = s.clk.Now()
		revoked(w, dev)
		return
	}
	if errors.Is(err, errStaleDevice) {
		s.forgetDevice(dev.ID)
		s.unauthenticated(w, r, "device key changed")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	s.metrics.countIngest(res)
	s.chargeFlags(r.Context(), dev, res)
	writeJSON(w, http.StatusOK, wire.PushResponse{Results: res, HubTime: s.clk.Now().UTC()})
}

// DecodePush parses and checks a push request body: strict JSON (no
// unknown fields, nothing after the object), decoded with
// segmentio/encoding's parser, which accepts what encoding/json accepts
// here in about a quarter of the time (FuzzDecodePush compares them).
func DecodePush(body []byte) (*wire.PushRequest, error) {
	var req wire.PushRequest
	rest, err := segjson.Parse(body, &req, segjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	if len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrBadInput)
	}
	if len(req.Records) == 0 || len(req.Records) > wire.MaxBatch {
		return nil, fmt.Errorf("%w: a batch holds 1–%d records, not %d", ErrBadInput, wire.MaxBatch, len(req.Records))
	}
	return &req, nil
}
