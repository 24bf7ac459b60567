package syncclient_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd/hubcmdtest"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

func TestKindOf(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("push: %w", err) }
	tests := []struct {
		name string
		err  error
		want syncclient.ErrorKind
	}{
		{name: "nil", err: nil, want: syncclient.KindNone},
		{name: "unreachable", err: wrap(syncclient.ErrUnreachable), want: syncclient.KindUnreachable},
		{name: "not enrolled", err: syncclient.ErrNotEnrolled, want: syncclient.KindNotEnrolled},
		{name: "revoked", err: wrap(syncclient.ErrRevoked), want: syncclient.KindRevoked},
		{name: "bad token", err: wrap(syncclient.ErrBadToken), want: syncclient.KindBadToken},
		{name: "untrusted certificate wins over unreachable", err: fmt.Errorf("%w: %w: x509", syncclient.ErrUnreachable, syncclient.ErrUntrustedHub), want: syncclient.KindTLS},
		{name: "bad CA file", err: wrap(syncclient.ErrBadCA), want: syncclient.KindTLS},
		{name: "plain http off loopback", err: wrap(syncclient.ErrInsecureHub), want: syncclient.KindTLS},
		{name: "clock skew", err: wrap(syncclient.ErrClockSkew), want: syncclient.KindClockSkew},
		{name: "hub refused", err: wrap(syncclient.ErrHub), want: syncclient.KindHubRejected},
		{name: "protocol", err: wrap(syncclient.ErrProtocol), want: syncclient.KindProtocol},
		{name: "no progress", err: syncclient.ErrNoProgress, want: syncclient.KindProtocol},
		{name: "storage full", err: fmt.Errorf("records: mark delivered: %w", records.ErrStorageFull), want: syncclient.KindStorageFull},
		{name: "database locked", err: wrap(storage.ErrLocked), want: syncclient.KindLocalStorage},
		{name: "database damaged", err: wrap(storage.ErrDamaged), want: syncclient.KindLocalStorage},
		{name: "key file", err: wrap(records.ErrKeyFile), want: syncclient.KindLocalStorage},
		{name: "canceled", err: wrap(context.Canceled), want: syncclient.KindCanceled},
		{name: "deadline", err: context.DeadlineExceeded, want: syncclient.KindCanceled},
		{name: "unknown", err: errors.New("trust: something else"), want: syncclient.KindOther},
		{name: "trust incomplete wins over unreachable", err: fmt.Errorf("%w: list: %w", syncclient.ErrTrustIncomplete, syncclient.ErrUnreachable), want: syncclient.KindTrustIncomplete},
		{name: "object digest", err: fmt.Errorf("%w: %w", syncclient.ErrTrustIncomplete, syncclient.ErrObjectDigest), want: syncclient.KindTrustIncomplete},
		{name: "manifest backwards", err: fmt.Errorf("%w: %w", syncclient.ErrProtocol, syncclient.ErrManifestBackwards), want: syncclient.KindProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := syncclient.KindOf(tt.err); got != tt.want {
				t.Fatalf("KindOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorKindString(t *testing.T) {
	tests := []struct {
		kind syncclient.ErrorKind
		want string
	}{
		{syncclient.KindNone, "none"},
		{syncclient.KindUnreachable, "unreachable"},
		{syncclient.KindNotEnrolled, "not_enrolled"},
		{syncclient.KindRevoked, "revoked"},
		{syncclient.KindBadToken, "bad_token"},
		{syncclient.KindTLS, "tls"},
		{syncclient.KindClockSkew, "clock_skew"},
		{syncclient.KindHubRejected, "hub_rejected"},
		{syncclient.KindProtocol, "protocol"},
		{syncclient.KindStorageFull, "storage_full"},
		{syncclient.KindLocalStorage, "local_storage"},
		{syncclient.KindCanceled, "canceled"},
		{syncclient.KindOther, "other"},
		{syncclient.KindTrustIncomplete, "trust_incomplete"},
		{syncclient.ErrorKind(200), "ErrorKind(200)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.kind.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// answering is a hub that answers every request with status and body.
func answering(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
}

func wireError(code string) string { return fmt.Sprintf(`{"error":%q,"message":"test"}`, code) }

// TestStateErrorKind: a failed Sync leaves its error's kind in State next
// to the text, and a successful one clears both.
func TestStateErrorKind(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	_, cert := testCA(t)
	otherCA, _ := testCA(t)
	tlsHub := httptest.NewUnstartedServer(answering(http.StatusOK, "{}"))
	tlsHub.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	tlsHub.StartTLS()
	t.Cleanup(tlsHub.Close)
	down := hubcmdtest.Dead(t)
	serve := func(h http.Handler) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL
	}
	tests := []struct {
		name     string
		url      string
		ca       []byte
		wantErr  error
		wantKind syncclient.ErrorKind
	}{
		{name: "hub down", url: down, wantErr: syncclient.ErrUnreachable, wantKind: syncclient.KindUnreachable},
		{name: "hub busy after every retry", url: serve(answering(http.StatusServiceUnavailable, "")), wantErr: syncclient.ErrUnreachable, wantKind: syncclient.KindUnreachable},
		{name: "certificate of another CA", url: tlsHub.URL, ca: otherCA, wantErr: syncclient.ErrUntrustedHub, wantKind: syncclient.KindTLS},
		{name: "revoked", url: serve(answering(http.StatusForbidden, wireError(wire.CodeDeviceRevoked))), wantErr: syncclient.ErrRevoked, wantKind: syncclient.KindRevoked},
		{name: "clock refused twice", url: serve(answering(http.StatusUnauthorized, wireError(wire.CodeClockSkew))), wantErr: syncclient.ErrClockSkew, wantKind: syncclient.KindClockSkew},
		{name: "refused", url: serve(answering(http.StatusBadRequest, wireError(wire.CodeBadRequest))), wantErr: syncclient.ErrHub, wantKind: syncclient.KindHubRejected},
		{name: "not an answer", url: serve(answering(http.StatusOK, "<html>captive portal</html>")), wantErr: syncclient.ErrProtocol, wantKind: syncclient.KindProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := newTerminal(t, storage.Options{NoSync: true}, clk)
			tm.appendN(t, 1, nil)
			sl := &fakeSleeper{clk: clk}
			c := tm.client(t, func(cfg *syncclient.Config) {
				cfg.HubURL, cfg.CAPEM, cfg.RetryMax, cfg.Sleep = tt.url, tt.ca, 2, sl.Sleep
			})
			_, err := c.Sync(ctx)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			st := c.State()
			if st.LastErrorKind != tt.wantKind || st.LastError != err.Error() || st.Syncing {
				t.Fatalf("state: kind %v (want %v), error %q", st.LastErrorKind, tt.wantKind, st.LastError)
			}
		})
	}
	t.Run("cleared by a success", func(t *testing.T) {
		h := startHub(t, storage.Options{NoSync: true}, clk)
		tm := newTerminal(t, storage.Options{NoSync: true}, clk)
		tm.enroll(t, h, h.http.URL)
		tm.appendN(t, 1, nil)
		// First the hub refuses (a stand-in in front of it), then answers.
		var refuse atomic.Bool
		refuse.Store(true)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() {
				answering(http.StatusBadRequest, wireError(wire.CodeBadRequest)).ServeHTTP(w, r)
				return
			}
			h.srv.ServeHTTP(w, r)
		}))
		t.Cleanup(front.Close)
		c := tm.client(t, func(cfg *syncclient.Config) { cfg.HubURL, cfg.RetryMax = front.URL, -1 })
		if _, err := c.Sync(ctx); !errors.Is(err, syncclient.ErrHub) || c.State().LastErrorKind != syncclient.KindHubRejected {
			t.Fatalf("refused: %v, state %+v", err, c.State())
		}
		refuse.Store(false)
		if _, err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if st := c.State(); st.LastErrorKind != syncclient.KindNone || st.LastError != "" || !st.Online {
			t.Fatalf("after a success: %+v", st)
		}
	})
}
