package syncclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
)

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it.
func testCA(t *testing.T) (caPEM []byte, cert tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSPinnedCA(t *testing.T) {
	ctx := context.Background()
	clk := clock.Real{}
	h := startHub(t, storage.Options{NoSync: true}, clk)
	caPEM, cert := testCA(t)
	otherCA, _ := testCA(t)
	srv := httptest.NewUnstartedServer(h.srv)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tm := newTerminal(t, storage.Options{NoSync: true}, clk)
	tests := []struct {
		name    string
		url     string
		ca      []byte
		wantErr error
	}{
		{name: "another CA pinned", url: srv.URL, ca: otherCA, wantErr: syncclient.ErrUnreachable},
		{name: "no CA for https", url: srv.URL, wantErr: syncclient.ErrBadCA},
		{name: "plain http off loopback", url: "http://192.0.2.1:8443", wantErr: syncclient.ErrInsecureHub},
		{name: "pinned CA", url: srv.URL, ca: caPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := syncclient.Enroll(ctx, tm.rec, syncclient.EnrollOptions{HubURL: tt.url, Token: h.token(t, hub.RoleDevice), CAPEM: tt.ca})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	tm.appendN(t, 3, nil)
	rep, err := tm.client(t, nil).Sync(ctx)
	if err != nil || rep.Push.Accepted != 3 {
		t.Fatalf("sync over TLS: %+v %v", rep, err)
	}
}
