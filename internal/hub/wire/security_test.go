package wire_test

import (
	"bytes"
	"net/http"
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
