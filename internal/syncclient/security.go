package syncclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/hub/wire/envelope"
	"github.com/roadcheck/roadcheck/internal/records"
)

// pinnedTLS is the TLS configuration of a hub pinned by pinPEM: exactly one
// CA certificate (the hub's certificate must chain to it and name the
// host) or the hub's SPKI pin (its certificate must carry that key). A
// bundle of certificates is refused (ErrBadCA).
func pinnedTLS(pinPEM []byte) (*tls.Config, error) {
	if len(pinPEM) == 0 {
		return nil, fmt.Errorf("%w: an https hub needs its CA (--ca hub-ca.pem) or its SPKI pin (rchub tls pin)", ErrBadCA)
	}
	p, err := wire.ParsePin(pinPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCA, err)
	}
	if p.CA != nil {
		pool := x509.NewCertPool()
		pool.AddCert(p.CA)
		return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}, nil
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The chain is not checked: the pinned key is what is trusted.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !p.MatchesSPKI(cs.PeerCertificates[0]) {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates,
					Err: errors.New("the hub's certificate does not carry the pinned key")}
			}
			return nil
		},
	}, nil
}

// sealPush seals a push body to the hub's encryption key (package
// envelope) and returns it with its Content-Type; a hub that publishes no
// key (an older hub) gets the body as is.
func (c *Client) sealPush(ctx context.Context, body []byte) ([]byte, http.Header, error) {
	key, err := c.hubKey(ctx)
	if err != nil || key == nil {
		return body, nil, err
	}
	sealed, err := envelope.Marshal(key, envelope.TypePush, body)
	if err != nil {
		return nil, nil, err
	}
	return sealed, http.Header{"Content-Type": {envelope.ContentType}}, nil
}

// hubKey is the hub's encryption key: from the enrolment, or asked of the
// hub (GET /v1/hubkey) by a terminal enrolled before hubs published it,
// and then kept. Nil when the hub has none (404), or when the terminal
// never enrolled (a hub URL given by configuration only).
func (c *Client) hubKey(ctx context.Context) (*gm.PublicKey, error) {
	var (
		der      []byte
		enrolled bool
	)
	if err := c.withRecords(ctx, func(rs *records.Store) error {
		st, err := rs.SyncState(ctx)
		der, enrolled = st.HubKey, st.Enrolled != 0
		return err
	}); err != nil {
		return nil, err
	}
	if len(der) == 0 && !enrolled {
		return nil, nil // a hub given by configuration alone: unsealed
	}
	if len(der) == 0 {
		resp, err := c.do(ctx, http.MethodGet, wire.PathHubKey, nil, nil)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			resp.Body.Close()
			return nil, nil
		}
		if resp.StatusCode != http.StatusOK {
			return nil, hubError(resp)
		}
		var hk wire.HubKeyResponse
		err = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&hk)
		resp.Body.Close()
		if err != nil || len(hk.HubKey) == 0 {
			return nil, fmt.Errorf("%w: hub key answer: %v", ErrProtocol, err)
		}
		der = hk.HubKey
		if err := c.withRecords(ctx, func(rs *records.Store) error {
			return rs.UpdateSyncState(ctx, func(s *records.SyncState) { s.HubKey = der })
		}); err != nil {
			return nil, err
		}
	}
	k, err := gm.ParsePKIX(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the hub's key: %v", ErrProtocol, err)
	}
	return k, nil
}

// searchBody turns the filters of a record query into the body of POST
// /v1/records/search: a plate never travels in a URL.
func searchBody(q url.Values) ([]byte, error) {
	var f wire.RecordSearch
	fields := map[string]*string{"from": &f.From, "to": &f.To, "device": &f.Device, "officer": &f.Officer, "verdict": &f.Verdict,
		"kind": &f.Kind, "plate": &f.Plate, "stop": &f.Stop, "issuer": &f.Issuer, "flagged": &f.Flagged, "page": &f.Page, "limit": &f.Limit,
		"format": &f.Format}
	for k, vs := range q {
		dst, ok := fields[k]
		if !ok || len(vs) != 1 {
			return nil, fmt.Errorf("syncclient: record filter %q: unknown, or given %d times", k, len(vs))
		}
		*dst = vs[0]
	}
	return json.Marshal(f)
}

// Session is a supervisor's session at the hub (SignIn): the bearer token
// for QueryRecords and Reveal, and the key reveals are sealed to.
type Session struct {
	Token        string
	Name         string
	Role         string
	Jurisdiction string // "*" (national) or a region-code prefix
	Expires      time.Time
	CanReveal    bool
	key          *gm.PrivateKey
}

// ErrSignIn: the hub refused the name, password or TOTP code (it does not
// say which), or the account is locked or disabled.
var ErrSignIn = errors.New("syncclient: sign-in refused")

// supervisorCall sends one supervisor request with few retries.
func (c *Client) supervisorCall(ctx context.Context, method, path, bearer string, body any) (*http.Response, error) {
	ep := c.ep.Load()
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, ep.base.String()+path, b)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rc := retrying(ep.hc, max(0, min(c.cfg.RetryMax, queryRetries)), c.cfg.RetryWaitMin, min(c.cfg.RetryWaitMax, 5*time.Second),
		c.clk, c.cfg.Sleep, nil, c.cfg.OnRetry)
	resp, err := rc.Do(req)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, unreachable(err)
	}
	return resp, nil
}

// SignIn signs a supervisor in (POST /v1/session) with password and TOTP
// code, over the pinned TLS client. It makes a fresh SM2 key for the
// session: the hub seals reveals to it. ErrSignIn for a refusal.
func (c *Client) SignIn(ctx context.Context, name, password, code string) (*Session, error) {
	key, err := gm.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	der, err := key.Public().MarshalPKIX()
	if err != nil {
		return nil, err
	}
	resp, err := c.supervisorCall(ctx, http.MethodPost, wire.PathSession, "", wire.SignInRequest{Name: name, Password: password, Code: code, Key: der})
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		e := readError(resp)
		return nil, fmt.Errorf("%w: %s", ErrSignIn, e.Message)
	default:
		return nil, hubError(resp)
	}
	defer resp.Body.Close()
	var sr wire.SessionResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&sr); err != nil || sr.Token == "" {
		return nil, fmt.Errorf("%w: sign-in answer: %v", ErrProtocol, err)
	}
	return &Session{Token: sr.Token, Name: sr.Name, Role: sr.Role, Jurisdiction: sr.Jurisdiction, Expires: sr.Expires, CanReveal: sr.CanReveal, key: key}, nil
}

// Reveal asks the hub for one record with its personal fields (POST
// /v1/records/reveal), giving the reason the audit log keeps; the answer
// comes sealed to the session's key. ErrForbidden when the session may
// not (role, jurisdiction, expired), ErrHub for other refusals.
func (c *Client) Reveal(ctx context.Context, s *Session, device, id, reason string) (*wire.RecordView, error) {
	resp, err := c.supervisorCall(ctx, http.MethodPost, wire.PathReveal, s.Token, wire.RevealRequest{Device: device, ID: id, Reason: reason})
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		e := readError(resp)
		return nil, fmt.Errorf("%w: %s: %s", ErrForbidden, e.Code, e.Message)
	default:
		return nil, hubError(resp)
	}
	defer resp.Body.Close()
	sealed, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, unreachable(err)
	}
	plain, err := envelope.Unmarshal(sealed, s.key, envelope.TypeReveal)
	if err != nil {
		return nil, fmt.Errorf("%w: reveal answer: %v", ErrProtocol, err)
	}
	var v wire.RecordView
	if err := json.Unmarshal(plain, &v); err != nil {
		return nil, fmt.Errorf("%w: revealed record: %v", ErrProtocol, err)
	}
	return &v, nil
}

// SignOut ends the session at the hub (DELETE /v1/session).
func (c *Client) SignOut(ctx context.Context, s *Session) error {
	resp, err := c.supervisorCall(ctx, http.MethodDelete, wire.PathSession, s.Token, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return hubError(resp)
	}
	return nil
}
