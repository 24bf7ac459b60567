package hub_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

func seed(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzDecodeEnroll(f *testing.F) {
	f.Add(seed(f, "enroll.json"))
	f.Add([]byte(`{"token":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := hub.DecodeEnroll(b); err != nil && !errors.Is(err, hub.ErrBadInput) {
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}

func FuzzDecodePush(f *testing.F) {
	f.Add(seed(f, "push.json"))
	f.Add([]byte(`{"records":[]}`))
	// Corners where JSON decoders part: duplicate and differently cased
	// keys, nulls, escapes and blanks in base64, trailing data.
	f.Add([]byte(`{"records":[{"body":"AA==","sig":"AA=="}],"records":null}`))
	f.Add([]byte(`{"Records":[{"BODY":"AA==","sig":null}]}`))
	f.Add([]byte(`{"records":[{"body":"\u0041A==","sig":"AA\r\n=="}]} `))
	f.Add([]byte(`{"records":[{"body":"AA==","sig":"AA=="}]}{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := hub.DecodePush(b)
		// encoding/json, strict as DecodePush: what one accepts, the
		// other accepts, with the same records.
		var std wire.PushRequest
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		stdErr := dec.Decode(&std)
		if stdErr == nil && dec.More() {
			stdErr = errors.New("trailing data")
		}
		if stdErr == nil && (len(std.Records) == 0 || len(std.Records) > wire.MaxBatch) {
			stdErr = errors.New("batch size")
		}
		if err != nil {
			if !errors.Is(err, hub.ErrBadInput) {
				t.Fatalf("unexpected error class: %v", err)
			}
			if stdErr == nil {
				t.Fatalf("refused what encoding/json accepts: %v", err)
			}
			return
		}
		if stdErr != nil {
			t.Fatalf("accepted what encoding/json refuses (%v)", stdErr)
		}
		if !reflect.DeepEqual(req.Records, std.Records) {
			t.Fatalf("records differ from encoding/json's:\n%+v\n%+v", req.Records, std.Records)
		}
		if len(req.Records) == 0 || len(req.Records) > wire.MaxBatch {
			t.Fatalf("accepted a batch of %d", len(req.Records))
		}
	})
}

func FuzzParseQueries(f *testing.F) {
	f.Add(strings.TrimSpace(string(seed(f, "query.txt"))))
	f.Add(strings.TrimSpace(string(seed(f, "status.txt"))))
	f.Add(strings.TrimSpace(string(seed(f, "flags.txt"))))
	keys, err := hub.NewKeys(make([]byte, 16), make([]byte, 16))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		if _, err := hub.ParseRecordQuery(v, keys); err != nil && !errors.Is(err, hub.ErrBadInput) {
			t.Fatalf("record query: %v", err)
		}
		if _, err := hub.ParseStatusQuery(v.Get); err != nil && !errors.Is(err, hub.ErrBadInput) {
			t.Fatalf("status query: %v", err)
		}
		fq, err := hub.ParseFlagQuery(v)
		if err != nil {
			if !errors.Is(err, hub.ErrBadInput) {
				t.Fatalf("flag query: %v", err)
			}
			return
		}
		if !fq.From.IsZero() && !fq.To.IsZero() && fq.To.Before(fq.From) {
			t.Fatalf("accepted a range ending before it starts: %v", q)
		}
	})
}

func FuzzParseAuth(f *testing.F) {
	f.Add("T-1", "1795744800000", "00112233445566778899aabbccddeeff", strings.Repeat("A", 88))
	f.Fuzz(func(t *testing.T, dev, ts, nonce, sig string) {
		h := http.Header{}
		h.Set(wire.HeaderDevice, dev)
		h.Set(wire.HeaderTime, ts)
		h.Set(wire.HeaderNonce, nonce)
		h.Set(wire.HeaderSignature, sig)
		a, err := wire.ParseAuth(h)
		if err != nil {
			if !errors.Is(err, wire.ErrBadAuth) && !errors.Is(err, wire.ErrMissingAuth) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(a.Sig) != 64 || len(a.Nonce) != 32 {
			t.Fatalf("accepted %+v", a)
		}
	})
}

func TestParseRecordQuery(t *testing.T) {
	keys, _ := hub.NewKeys(make([]byte, 16), make([]byte, 16))
	tests := []struct {
		name    string
		q       string
		wantErr error
	}{
		{name: "seed", q: strings.TrimSpace(string(mustRead(t, "query.txt")))},
		{name: "bad time", q: "from=yesterday", wantErr: hub.ErrBadInput},
		{name: "bad verdict", q: "verdict=OK", wantErr: hub.ErrBadInput},
		{name: "bad kind", q: "kind=4", wantErr: hub.ErrBadInput},
		{name: "bad page", q: "page=xyz", wantErr: hub.ErrBadInput},
		{name: "limit too big", q: "limit=5000", wantErr: hub.ErrBadInput},
		{name: "empty plate", q: "plate=%C2%B7", wantErr: hub.ErrBadInput},
		{name: "stop too long", q: "stop=" + strings.Repeat("s", 129), wantErr: hub.ErrBadInput},
		{name: "to before from", q: "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", wantErr: hub.ErrBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.q)
			if _, err := hub.ParseRecordQuery(v, keys); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// Plates match whatever their spelling.
	if string(keys.PlateHash("粤b·12345")) != string(keys.PlateHash("粤B 12345")) {
		t.Fatal("plate normalisation")
	}
}

func TestParseFlagQuery(t *testing.T) {
	tests := []struct {
		name    string
		q       string
		wantErr error
	}{
		{name: "seed", q: strings.TrimSpace(string(mustRead(t, "flags.txt")))},
		{name: "empty", q: ""},
		{name: "only to", q: "to=2026-11-27T10:00:00%2B08:00"},
		{name: "bad from", q: "from=last+week", wantErr: hub.ErrBadInput},
		{name: "to before from", q: "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", wantErr: hub.ErrBadInput},
		{name: "bad page", q: "page=xyz", wantErr: hub.ErrBadInput},
		{name: "limit 0", q: "limit=0", wantErr: hub.ErrBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.q)
			if _, err := hub.ParseFlagQuery(v); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	v, _ := url.ParseQuery(strings.TrimSpace(string(mustRead(t, "flags.txt"))))
	q, _ := hub.ParseFlagQuery(v)
	if q.Device != "T-1" || q.Kind != "gap" || q.Limit != 50 || q.From.Month() != 11 || q.To.Month() != 12 || q.After == ([16]byte{}) {
		t.Fatalf("seed parsed as %+v", q)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8443", true}, {"[::1]:8443", true}, {"localhost:1", true},
		{":8443", false}, {"0.0.0.0:8443", false}, {"192.0.2.1:8443", false}, {"garbage", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := hub.IsLoopback(tt.addr); got != tt.want {
				t.Fatalf("IsLoopback(%q) = %v", tt.addr, got)
			}
		})
	}
}
