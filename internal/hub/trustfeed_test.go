package hub_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/trust"
)

// feedHub is a hub serving a feed with one object, and a device enrolled.
type feedHub struct {
	srv    *httptest.Server
	key    *gm.PrivateKey
	device string
	clk    *clock.Fake
	obj    []byte
	ref    hub.ObjectRef
}

func newFeedHub(t testing.TB, obj []byte) *feedHub {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, s := openBolt(t, path)
	t.Cleanup(func() { db.Close() })
	ts, err := trust.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	keys, err := hub.NewKeys(make([]byte, 16), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	f := &feedHub{clk: clock.NewFake(feedT0), device: "T-FEED", obj: obj}
	srv, err := hub.New(hub.Config{Store: s, Trust: ts, Keys: keys, Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	if f.key, err = gm.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	pub, err := f.key.Public().MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := hub.CreateToken(ctx, s, hub.RoleDevice, "", 0, feedT0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Enroll(ctx, gm.SM3([]byte(tok)), hub.Device{ID: f.device, PublicKey: pub, NextSeq: 1}, feedT0); err != nil {
		t.Fatal(err)
	}
	if f.ref, err = s.PutObject(ctx, trust.BlockStatusList, f.obj, feedT0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateManifest(ctx, feedT0, func(m *hub.Manifest) (bool, error) {
		m.Lists = []hub.ManifestList{{List: trust.ListRef{CA: gm.SM3([]byte("CA")), Issuer: "440300"}, Full: hub.ManifestFull{Seq: 3, ObjectRef: f.ref}}}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(srv)
	t.Cleanup(f.srv.Close)
	return f
}

// signed returns a GET of path signed by the feed hub's device.
func (f *feedHub) signed(t testing.TB, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.Sign(req, nil, f.device, f.clk.Now(), func(m []byte) ([]byte, error) { return f.key.Sign(rand.Reader, m) }); err != nil {
		t.Fatal(err)
	}
	return req
}

func (f *feedHub) get(t testing.TB, path string, hdr map[string]string, signed bool) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if signed {
		if err := wire.Sign(req, nil, f.device, f.clk.Now(), func(m []byte) ([]byte, error) { return f.key.Sign(rand.Reader, m) }); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestManifestEndpoint(t *testing.T) {
	f := newFeedHub(t, []byte(strings.Repeat("status list bytes ", 1000)))
	if resp, _ := f.get(t, "/v1/trust/manifest", nil, false); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d", resp.StatusCode)
	}
	resp, body := f.get(t, "/v1/trust/manifest", nil, true)
	var m wire.TrustManifest
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &m) != nil {
		t.Fatalf("manifest: %d %s", resp.StatusCode, body)
	}
	if m.Seq != 1 || len(m.Epoch.Hub) != 32 || len(m.Lists) != 1 || m.Lists[0].Full.Digest != f.ref.Digest.String() ||
		m.Lists[0].Full.Size != int64(len(f.obj)) || m.Lists[0].List != m.Lists[0].CA+"/440300" || m.Certs == nil || m.Lists[0].Deltas == nil {
		t.Fatalf("manifest %s", body)
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := f.get(t, "/v1/trust/manifest", map[string]string{"If-None-Match": etag}, true); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match %s: %d", etag, resp.StatusCode)
	}
}

func TestObjectEndpoint(t *testing.T) {
	f := newFeedHub(t, []byte(strings.Repeat("status list bytes ", 1000)))
	path := "/v1/trust/objects/" + f.ref.Digest.String()
	tag := `"` + f.ref.Digest.String() + `"`
	tests := []struct {
		name     string
		path     string
		hdr      map[string]string
		unsigned bool
		want     int
		wantBody string
	}{
		{name: "unsigned", path: path, unsigned: true, want: http.StatusUnauthorized},
		{name: "not a digest", path: "/v1/trust/objects/xyz", want: http.StatusBadRequest},
		{name: "upper-case digest", path: "/v1/trust/objects/" + strings.ToUpper(f.ref.Digest.String()), want: http.StatusBadRequest},
		{name: "unknown", path: "/v1/trust/objects/" + trust.Hash(gm.SM3([]byte("x"))).String(), want: http.StatusNotFound},
		{name: "whole", path: path, want: http.StatusOK, wantBody: string(f.obj)},
		{name: "resumed", path: path, hdr: map[string]string{"Range": "bytes=100-", "If-Range": tag}, want: http.StatusPartialContent, wantBody: string(f.obj[100:])},
		{name: "resumed, other object", path: path, hdr: map[string]string{"Range": "bytes=100-", "If-Range": `"other"`}, want: http.StatusOK, wantBody: string(f.obj)},
		{name: "past the end", path: path, hdr: map[string]string{"Range": "bytes=999999-"}, want: http.StatusRequestedRangeNotSatisfiable},
		{name: "unchanged", path: path, hdr: map[string]string{"If-None-Match": tag}, want: http.StatusNotModified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.get(t, tt.path, tt.hdr, !tt.unsigned)
			if resp.StatusCode != tt.want || (tt.wantBody != "" && string(body) != tt.wantBody) {
				t.Fatalf("%d (%d bytes), want %d", resp.StatusCode, len(body), tt.want)
			}
			if tt.want == http.StatusOK && (resp.Header.Get("ETag") != tag || resp.Header.Get(wire.HeaderObjectType) != trust.BlockStatusList) {
				t.Fatalf("headers %v", resp.Header)
			}
		})
	}
}
