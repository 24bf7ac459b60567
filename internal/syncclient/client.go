package syncclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// Config configures a Client.
type Config struct {
	// Records is the terminal's record store, open for the client's whole
	// life (the GUI, which holds its database anyway). Give it or
	// OpenRecords.
	Records *records.Store
	// OpenRecords, instead of Records, opens the record store for one short
	// step and returns it with the function that closes it: the client
	// then holds the records database only while it reads the outbox,
	// marks a batch delivered or reads or updates its sync state — never
	// while it waits for the hub or for a retry — so other processes
	// (rcctl verify, rcctl record add) can use the database meanwhile
	// (rcctl sync). The first store opened (in New) signs every request
	// afterwards: records.Store.SignRequest needs only the key unlocked in
	// memory, not the open database.
	OpenRecords func(ctx context.Context) (*records.Store, func() error, error)
	// Trust receives pulled trust updates (nil: no pulling).
	Trust *trust.Store
	// PolicyFile is the terminal's check policy file (policy.FileFor the
	// database path): a hub policy pulled with the trust data is verified
	// with the policy key pinned at enrolment and saved there ("": hub
	// policies are not applied).
	PolicyFile string
	Clock      clock.Clock // nil: the real clock
	// HubURL and CAPEM override what enrolment stored. Without them the
	// client follows the enrolment: after the terminal enrols again (with
	// another hub, or the same one) the next Sync uses the new hub, and
	// Reconfigure switches at once.
	HubURL string
	CAPEM  []byte
	// BatchSize is the number of records per push (default 250, at most
	// wire.MaxBatch).
	BatchSize int
	// RetryMax is the number of retries of one request (default 6,
	// negative: none);
	// RetryWaitMin and RetryWaitMax bound the exponential backoff (default
	// 500 ms and 30 s). A Retry-After of the hub is honoured as given, up
	// to MaxRetryAfter.
	RetryMax     int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// Timeout bounds one attempt (default 60 s).
	Timeout time.Duration
	// Interval is the pause of Run between syncs while online (default 5 min).
	Interval time.Duration
	// Sleep waits d before a retried request, or until ctx ends (nil: a
	// timer). Tests inject a fake that advances a fake clock instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, when set, is called before each retry of a request, before
	// the pause (e.g. to tell a person at a terminal what is happening). It
	// runs on the goroutine of the request and must not block.
	OnRetry func(Retry)
	Log     *slog.Logger
}

// Retry describes a request about to be retried (Config.OnRetry).
type Retry struct {
	Method, Path string        // the request, e.g. POST /v1/records
	Attempt      int           // the retry about to be made: 1 for the first
	Max          int           // the retries allowed (Config.RetryMax)
	Wait         time.Duration // the pause before it
	// Status is the hub's answer to the failed attempt (429 or 5xx: busy),
	// 0 when the hub could not be reached; then Err says why.
	Status int
	Err    error
}

// MaxRetryAfter caps a hub's Retry-After.
const MaxRetryAfter = 10 * time.Minute

// State is the sync state shown to officers.
type State struct {
	Online      bool      // the last request reached the hub
	Syncing     bool      // a sync is running
	Pending     int       // records not yet delivered
	LastSuccess time.Time // end of the last complete sync
	LastAttempt time.Time
	// LastError is the text of the last sync's error, for logs; empty
	// after a success. LastErrorKind is its kind (KindOf), for what the
	// GUI shows: KindNone after a success.
	LastError     string
	LastErrorKind ErrorKind
	// FeedSeq is the sequence of the hub's trust manifest last applied
	// completely (0: none yet, or a new epoch of the hub's feed).
	FeedSeq uint64
	// PolicySeq is the sequence of the hub's check policy last applied
	// (0: none): when it changes, the policy file holds a new policy.
	// PolicyRefused says why the hub's newest policy was refused ("":
	// it was not).
	PolicySeq     uint64
	PolicyRefused string
	// HubClockOffset is the hub's clock minus this device's, as last seen.
	HubClockOffset time.Duration
}

// Client syncs one terminal with its hub.
type Client struct {
	cfg    Config         // HubURL and CAPEM: the overrides only, as given to New
	rec    *records.Store // Config.Records (nil: opened per step with Config.OpenRecords)
	device string
	signer func([]byte) ([]byte, error) // the device key (records.Store.SignRequest)
	clk    clock.Clock
	ep     atomic.Pointer[endpoint]
	log    *slog.Logger
	offset atomic.Int64 // hub − local, ms

	syncMu sync.Mutex // one sync at a time
	pullMu sync.Mutex // one PullTrust at a time (its files)
	mu     sync.Mutex
	state  State
	abort  context.CancelCauseFunc // ends the running Sync; nil when none runs
	subs   map[chan State]struct{}
	kick   chan struct{}
}

// endpoint is the hub the client talks to, and the enrolment it follows.
type endpoint struct {
	base *url.URL
	hc   *http.Client // bounded by Config.Timeout per request
	// stream has no overall time limit, for object downloads: they end
	// when no byte arrived for Config.Timeout (see idleBody).
	stream *http.Client
	// The enrolment as stored (records.SyncState), to notice a new one.
	enrolled int64
	hubURL   string
	caPEM    []byte
}

// follows reports whether e was built from the enrolment st.
func (e *endpoint) follows(st records.SyncState) bool {
	return e.enrolled == st.Enrolled && e.hubURL == st.HubURL && bytes.Equal(e.caPEM, st.HubCAPEM)
}

// endpointFor builds the endpoint of the enrolment st (the Config
// overrides win). ErrNotEnrolled when there is no hub.
func (c *Client) endpointFor(st records.SyncState) (*endpoint, error) {
	hubURL, caPEM := c.cfg.HubURL, c.cfg.CAPEM
	if hubURL == "" {
		hubURL = st.HubURL
	}
	if caPEM == nil {
		caPEM = st.HubCAPEM
	}
	if hubURL == "" {
		return nil, ErrNotEnrolled
	}
	base, hc, err := httpClient(hubURL, caPEM, c.cfg.Timeout)
	if err != nil {
		return nil, err
	}
	stream := *hc
	stream.Timeout = 0
	return &endpoint{base: base, hc: hc, stream: &stream, enrolled: st.Enrolled, hubURL: st.HubURL, caPEM: st.HubCAPEM}, nil
}

// New returns a Client for the hub the terminal enrolled with (or
// cfg.HubURL). ErrNotEnrolled when there is none.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if (cfg.Records == nil) == (cfg.OpenRecords == nil) {
		return nil, fmt.Errorf("syncclient: give one of Config.Records and Config.OpenRecords")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 250
	}
	cfg.BatchSize = min(cfg.BatchSize, wire.MaxBatch)
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 6
	}
	if cfg.RetryWaitMin == 0 {
		cfg.RetryWaitMin = 500 * time.Millisecond
	}
	if cfg.RetryWaitMax == 0 {
		cfg.RetryWaitMax = 30 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	c := &Client{cfg: cfg, rec: cfg.Records, clk: cfg.Clock, log: cfg.Log,
		subs: map[chan State]struct{}{}, kick: make(chan struct{}, 1)}
	var st records.SyncState
	err := c.withRecords(ctx, func(rs *records.Store) error {
		c.device, c.signer = rs.DeviceID(), rs.SignRequest
		var err error
		if st, err = rs.SyncState(ctx); err != nil {
			return err
		}
		c.state.PolicySeq = st.PolicySeq
		c.state.Pending, _ = rs.PendingCount(ctx)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ep, err := c.endpointFor(st)
	if err != nil {
		return nil, err
	}
	c.ep.Store(ep)
	if fs, err := c.loadFeedState(); err == nil {
		c.state.FeedSeq = fs.Seq
	}
	c.state.LastSuccess = timeOf(st.LastSuccess)
	return c, nil
}

// withRecords runs fn with the record store: Config.Records, or one opened
// with Config.OpenRecords for fn alone and closed when it returns. fn must
// not wait for the network.
func (c *Client) withRecords(ctx context.Context, fn func(rs *records.Store) error) error {
	if c.rec != nil {
		return fn(c.rec)
	}
	rs, release, err := c.cfg.OpenRecords(ctx)
	if err != nil {
		return err
	}
	err = fn(rs)
	if cerr := release(); err == nil {
		err = cerr
	}
	return err
}

func timeOf(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// httpClient checks the hub URL and builds an HTTP client that trusts only
// the pinned CA.
func httpClient(raw string, caPEM []byte, timeout time.Duration) (*url.URL, *http.Client, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" {
		return nil, nil, fmt.Errorf("syncclient: hub URL %q: want https://host:port", raw)
	}
	tr := &http.Transport{
		Proxy:                 nil, // never through an environment proxy: the hub is pinned
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	switch u.Scheme {
	case "https":
		conf, err := pinnedTLS(caPEM) // security.go: one CA or an SPKI pin, never a bundle
		if err != nil {
			return nil, nil, err
		}
		tr.TLSClientConfig = conf
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return nil, nil, fmt.Errorf("%w (%s)", ErrInsecureHub, raw)
		}
	default:
		return nil, nil, fmt.Errorf("syncclient: hub URL %q: scheme must be https", raw)
	}
	return u, &http.Client{Transport: freshRetries{tr}, Timeout: timeout}, nil
}

// freshRetries keeps http.Transport from re-sending a request on its own.
// The transport silently sends again, on a new connection and with the
// same headers, a request it deems replayable (GET, HEAD, OPTIONS or TRACE
// with no body, or with a body it can get again) when a reused connection
// fails before the answer: the same nonce, which the hub then refuses as a
// replay. Such a request is passed on with GetBody unset and, when it has
// no content, a non-nil empty body (the transport probes a GET's body,
// finds it empty and sends none): it is then not replayable, the failure
// comes back to retryablehttp, and retryablehttp signs every retry afresh.
type freshRetries struct{ next http.RoundTripper }

func (t freshRetries) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		r = r.Clone(r.Context())
		if r.ContentLength == 0 {
			if r.Body != nil {
				r.Body.Close()
			}
			r.Body = emptyBody{}
		}
		r.GetBody = nil
	}
	return t.next.RoundTrip(r)
}

// emptyBody is an empty request body that is not http.NoBody.
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retrying returns a retryablehttp client for one request. retryablehttp
// waits between attempts on a timer of its own; this client makes that
// wait zero and waits in PrepareRetry instead, with the injected sleep,
// then calls prepare (which signs the attempt afresh). The wait is
// per-request state, hence one client per request.
//
// onRetry (may be nil) hears of each retry before its pause.
func retrying(hc *http.Client, max int, waitMin, waitMax time.Duration, clk clock.Clock,
	sleep func(context.Context, time.Duration) error, prepare func(*http.Request) error, onRetry func(Retry)) *retryablehttp.Client {
	var (
		wait    time.Duration
		retry   int
		status  int
		lastErr error
	)
	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	rc.Logger = nil
	rc.RetryMax = max
	rc.RetryWaitMin, rc.RetryWaitMax = waitMin, waitMax
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		status, lastErr = 0, err
		if resp != nil {
			status = resp.StatusCode
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	rc.Backoff = func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		wait, retry = Backoff(min, max, attempt, resp, clk.Now()), attempt+1
		return 0
	}
	rc.PrepareRetry = func(req *http.Request) error {
		if onRetry != nil {
			r := Retry{Method: req.Method, Path: req.URL.Path, Attempt: retry, Max: max, Wait: wait, Status: status}
			if status == 0 {
				r.Err = lastErr
			}
			onRetry(r)
		}
		if err := sleep(req.Context(), wait); err != nil {
			return err
		}
		if prepare != nil {
			return prepare(req)
		}
		return nil
	}
	return rc
}

// Backoff is the retry pause: a Retry-After of the hub as given (up to
// MaxRetryAfter; an HTTP date is read against now), else exponential from
// min, capped at max, with full jitter over its upper half.
func Backoff(min, max time.Duration, attempt int, resp *http.Response, now time.Time) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), now); ok {
			return d
		}
	}
	d := min << min64(attempt, 30)
	if d <= 0 || d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func min64(a int, b int) uint { return uint(min(a, b)) }

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, MaxRetryAfter), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), MaxRetryAfter), true
	}
	return 0, false
}

type bodyKey struct{}

// hubNow is this device's clock corrected by the hub's offset: the time
// requests are signed with.
func (c *Client) hubNow() time.Time {
	return c.clk.Now().Add(time.Duration(c.offset.Load()) * time.Millisecond)
}

func (c *Client) sign(req *http.Request) error {
	body, _ := req.Context().Value(bodyKey{}).([]byte)
	return wire.Sign(req, body, c.device, c.hubNow(), c.signer)
}

func hubTime(resp *http.Response) (time.Time, bool) {
	if resp == nil {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(resp.Header.Get(wire.HeaderHubTime), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

func (c *Client) noteHubTime(resp *http.Response) {
	if t, ok := hubTime(resp); ok {
		c.offset.Store(t.Sub(c.clk.Now()).Milliseconds())
	}
}

// do sends one signed request with retries, bounded by Config.Timeout.
// The caller closes the response body.
func (c *Client) do(ctx context.Context, method, pathQuery string, body []byte, hdr http.Header) (*http.Response, error) {
	return c.send(ctx, c.ep.Load().hc, method, pathQuery, body, hdr)
}

// send sends one signed request through hc, with retries, each signed
// afresh (a new nonce and time). Two refusals are answered once each by
// signing again: clock_skew (with the hub's time, learnt from the
// refusal), and replay — the hub saw this nonce before, so an earlier
// delivery of the request reached it and its answer was lost. Other
// refusals with 401 come back as errors; every other answer is returned.
func (c *Client) send(ctx context.Context, hc *http.Client, method, pathQuery string, body []byte, hdr http.Header) (*http.Response, error) {
	ep := c.ep.Load()
	skewed, replayed := false, false
	for {
		rctx := context.WithValue(ctx, bodyKey{}, body)
		req, err := retryablehttp.NewRequestWithContext(rctx, method, ep.base.String()+pathQuery, body)
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		if body != nil && req.Header.Get("Content-Type") == "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if err := c.sign(req.Request); err != nil {
			return nil, err
		}
		rc := retrying(hc, c.cfg.RetryMax, c.cfg.RetryWaitMin, c.cfg.RetryWaitMax, c.clk, c.cfg.Sleep, c.sign, c.cfg.OnRetry) // a fresh nonce and time for every attempt
		rc.ResponseLogHook = func(_ retryablehttp.Logger, resp *http.Response) { c.noteHubTime(resp) }
		resp, err := rc.Do(req)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err() // cancelled: says nothing about the hub
		}
		if err != nil {
			c.setOnline(false)
			return nil, unreachable(err)
		}
		c.setOnline(true)
		if resp.StatusCode != http.StatusUnauthorized {
			return resp, nil
		}
		e := readError(resp)
		switch {
		case e.Code == wire.CodeClockSkew && !skewed:
			skewed = true // the offset was updated from the answer: sign again
			continue
		case e.Code == wire.CodeReplay && !replayed:
			replayed = true
			c.log.Info("sync: the hub had seen this request already (an answer was lost): signing it again", "path", pathQuery)
			continue
		}
		return nil, errorOf(resp.StatusCode, e)
	}
}

// unreachable wraps the error of a request that got no answer:
// ErrUnreachable, and ErrUntrustedHub too when the hub's certificate did
// not verify.
func unreachable(err error) error {
	var (
		verr  *tls.CertificateVerificationError
		uaerr x509.UnknownAuthorityError
		herr  x509.HostnameError
		cerr  x509.CertificateInvalidError
	)
	if errors.As(err, &verr) || errors.As(err, &uaerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return fmt.Errorf("%w: %w: %v", ErrUnreachable, ErrUntrustedHub, err)
	}
	return fmt.Errorf("%w: %v", ErrUnreachable, err)
}

func readError(resp *http.Response) wire.Error {
	defer resp.Body.Close()
	var e wire.Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &e) != nil || e.Code == "" {
		e = wire.Error{Code: strconv.Itoa(resp.StatusCode), Message: strings.TrimSpace(string(b))}
	}
	return e
}

func hubError(resp *http.Response) error { return errorOf(resp.StatusCode, readError(resp)) }

// errorOf is the error for the hub's refusal e with HTTP status.
func errorOf(status int, e wire.Error) error {
	switch e.Code {
	case wire.CodeDeviceRevoked:
		return fmt.Errorf("%w: %s", ErrRevoked, e.Message)
	case wire.CodeTokenInvalid:
		return fmt.Errorf("%w: %s", ErrBadToken, e.Message)
	case wire.CodeClockSkew:
		return fmt.Errorf("%w: %s", ErrClockSkew, e.Message)
	}
	return fmt.Errorf("%w: HTTP %d %s: %s", ErrHub, status, e.Code, e.Message)
}

// Enrolment.

// EnrollOptions are the arguments of Enroll.
type EnrollOptions struct {
	HubURL string
	Token  string // the one-time token from `rchub token create`
	CAPEM  []byte // the hub's CA (required for https)
	Label  string // shown to supervisors
	Clock  clock.Clock
	// Sleep waits between attempts (nil: a timer), as Config.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry hears of each retry before its pause, as Config.OnRetry.
	OnRetry func(Retry)
}

// Enroll registers the terminal's device id and public key with the hub
// using a one-time token, and stores the hub's URL and pinned CA for later
// syncs. A Client already running on the terminal's record store follows
// the new enrolment from its next Sync; call its Reconfigure to switch at
// once.
func Enroll(ctx context.Context, rec *records.Store, o EnrollOptions) error {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	base, hc, err := httpClient(o.HubURL, o.CAPEM, 60*time.Second)
	if err != nil {
		return err
	}
	body, err := json.Marshal(wire.EnrollRequest{Token: strings.TrimSpace(o.Token), DeviceID: rec.DeviceID(), PublicKey: rec.PublicKeyDER(), Label: o.Label})
	if err != nil {
		return err
	}
	rc := retrying(hc, 3, 200*time.Millisecond, 5*time.Second, o.Clock, o.Sleep, nil, o.OnRetry)
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, base.String()+"/v1/enroll", body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := rc.Do(req)
	if err != nil {
		return unreachable(err)
	}
	if resp.StatusCode != http.StatusOK {
		return hubError(resp)
	}
	defer resp.Body.Close()
	var er wire.EnrollResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&er); err != nil || er.DeviceID != rec.DeviceID() {
		return fmt.Errorf("%w: enrolment answer: %v", ErrProtocol, err)
	}
	if len(er.PolicyKey) > 0 {
		if _, err := gm.ParsePKIX(er.PolicyKey); err != nil {
			return fmt.Errorf("%w: enrolment answer: the hub's policy key: %v", ErrProtocol, err)
		}
	}
	local := o.Clock.Now()
	return rec.UpdateSyncState(ctx, func(s *records.SyncState) {
		s.HubURL, s.HubCAPEM, s.Enrolled = base.String(), o.CAPEM, local.UnixMilli()
		s.HubKey = er.HubKey // pushes are sealed to it
		// Hub policies are accepted from this key only; another key (a
		// hub of its own) starts its own sequence.
		if !bytes.Equal(s.HubPolicyKey, er.PolicyKey) {
			s.HubPolicyKey, s.PolicySeq = er.PolicyKey, 0
		}
		s.HubTime, s.LocalTime = er.HubTime, local
		s.FeedSeq, s.FeedETag = 0, ""
	})
}
