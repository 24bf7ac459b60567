package syncclient_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// TestPinOneCAOrSPKI: the hub is pinned by one CA certificate or by its
// SPKI pin (rchub tls pin); a bundle of certificates (say a system CA
// store, one of them the hub's) is refused, and a pin of another key
// does not reach the hub. Pushes are sealed to the key the hub published
// at enrolment.
func TestPinOneCAOrSPKI(t *testing.T) {
	ctx := context.Background()
	clk := clock.Real{}
	h := startHub(t, storage.Options{NoSync: true}, clk)
	caPEM, cert := testCA(t)
	otherCA, otherCert := testCA(t)
	srv := httptest.NewUnstartedServer(h.srv)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	otherLeaf, _ := x509.ParseCertificate(otherCert.Certificate[0])
	bundle := append(append([]byte{}, otherCA...), caPEM...)

	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tests := []struct {
		name    string
		pin     []byte
		wantErr error
	}{
		{name: "a bundle holding the hub's CA", pin: bundle, wantErr: syncclient.ErrBadCA},
		{name: "the SPKI pin of another key", pin: wire.SPKIPinPEM(otherLeaf), wantErr: syncclient.ErrUntrustedHub},
		{name: "the hub's SPKI pin", pin: wire.SPKIPinPEM(leaf)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := syncclient.Enroll(ctx, tm.rec, syncclient.EnrollOptions{HubURL: srv.URL, Token: h.token(t, hub.RoleDevice), CAPEM: tt.pin})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	st, err := tm.rec.SyncState(ctx)
	if err != nil || len(st.HubKey) == 0 {
		t.Fatalf("the hub's key was not kept at enrolment: %v", err)
	}
	tm.appendN(t, 3, nil)
	rep, err := tm.client(t, nil).Sync(ctx)
	if err != nil || rep.Push.Accepted != 3 {
		t.Fatalf("sync over the SPKI pin: %+v %v", rep, err)
	}
	if err := h.srv.Audit().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	es, _, err := h.srv.Audit().Store().AuditEntries(ctx, audit.Query{Who: tm.rec.DeviceID()})
	sealed := 0
	for _, e := range es {
		if e.Action == "POST /v1/records" && e.Detail == "sealed" {
			sealed++
		}
	}
	if err != nil || sealed != 1 {
		t.Fatalf("%d sealed pushes logged: %v", sealed, err)
	}
}

// TestSupervisorSession: a supervisor signs in with password and TOTP
// through the client, queries (masked), reveals one record with a reason
// (sealed to the session's key), and signs out.
func TestSupervisorSession(t *testing.T) {
	ctx := context.Background()
	clk := clock.Real{}
	h := startHub(t, storage.Options{NoSync: true}, clk)
	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tm.enroll(t, h, h.http.URL)
	tm.appendN(t, 1, nil)
	c := tm.client(t, nil)
	syncUntilDone(t, c)
	enr, err := h.srv.Accounts().CreateAccount(ctx, "alice", account.Viewer, "all", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SignIn(ctx, "alice", "wrong password!", "000000"); !errors.Is(err, syncclient.ErrSignIn) {
		t.Fatalf("wrong password: %v", err)
	}
	code, _ := totp.GenerateCode(enr.Secret, time.Now())
	s, err := c.SignIn(ctx, "alice", "correct horse battery", code)
	if err != nil || !s.CanReveal || s.Role != "viewer" {
		t.Fatalf("sign in: %+v %v", s, err)
	}
	rr, err := c.QueryRecords(ctx, s.Token, url.Values{"plate": {"粤B12345"}})
	if err != nil || len(rr.Records) != 1 || rr.Records[0].Plate != "粤B***45" {
		t.Fatalf("query: %+v %v", rr, err)
	}
	v, err := c.Reveal(ctx, s, rr.Records[0].Device, rr.Records[0].ID, "投诉核实")
	if err != nil || v.Plate != "粤B12345" {
		t.Fatalf("reveal: %+v %v", v, err)
	}
	if err := c.SignOut(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := c.QueryRecords(ctx, s.Token, nil); !errors.Is(err, syncclient.ErrForbidden) {
		t.Fatalf("query after sign-out: %v", err)
	}
}
