package wire_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// TestSignatureBySum: a request signed by Sign verifies by its declared
// body hash (before the body is read) and by its body, and not with
// another body's hash.
func TestSignatureBySum(t *testing.T) {
	k, err := gm.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"records":[]}`)
	req, _ := http.NewRequest(http.MethodPost, "https://hub.example/v1/records?x=1", bytes.NewReader(body))
	if err := wire.Sign(req, body, "T-ABC", time.UnixMilli(1_790_000_000_000), func(m []byte) ([]byte, error) { return k.Sign(nil, m) }); err != nil {
		t.Fatal(err)
	}
	a, err := wire.ParseAuth(req.Header)
	if err != nil {
		t.Fatal(err)
	}
	sum, ok := wire.ParseContentSM3(req.Header.Get(wire.HeaderContentSM3))
	if !ok || sum != gm.SM3(body) {
		t.Fatalf("content hash header %q", req.Header.Get(wire.HeaderContentSM3))
	}
	if !a.VerifySum(k.Public(), req.Method, req.URL.RequestURI(), sum) || !a.Verify(k.Public(), req.Method, req.URL.RequestURI(), body) {
		t.Fatal("signature does not verify")
	}
	if a.VerifySum(k.Public(), req.Method, req.URL.RequestURI(), gm.SM3([]byte("other"))) {
		t.Fatal("signature verifies another body's hash")
	}
	for _, bad := range []string{"", "00", string(bytes.Repeat([]byte("A"), 64)), string(bytes.Repeat([]byte("g"), 64))} {
		if _, ok := wire.ParseContentSM3(bad); ok {
			t.Errorf("ParseContentSM3(%q) accepted", bad)
		}
	}
}

// FuzzParsePin: a pin file parses to exactly one CA or one SPKI hash, or
// gives ErrPin.
func FuzzParsePin(f *testing.F) {
	seed, err := os.ReadFile("testdata/pin.pem")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(append(append([]byte{}, seed...), seed...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := wire.ParsePin(b)
		if err != nil {
			if !errors.Is(err, wire.ErrPin) {
				t.Fatalf("error class: %v", err)
			}
			return
		}
		if (p.CA == nil) == (p.SPKI == nil) {
			t.Fatalf("pin %+v", p)
		}
	})
}

func TestParsePin(t *testing.T) {
	seed, _ := os.ReadFile("testdata/pin.pem")
	if p, err := wire.ParsePin(seed); err != nil || p.SPKI == nil || p.SPKI[0] != 0xab {
		t.Fatalf("seed pin: %+v %v", p, err)
	}
	for _, bad := range [][]byte{nil, []byte("not pem"), append(append([]byte{}, seed...), seed...),
		[]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")} {
		if _, err := wire.ParsePin(bad); !errors.Is(err, wire.ErrPin) {
			t.Errorf("ParsePin(%q): %v", bad, err)
		}
	}
}
