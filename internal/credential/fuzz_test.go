package credential

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedTexts returns QR texts found in testdata: the worked example and the
// conformance vectors of package verify.
func seedTexts(f *testing.F) []string {
	f.Helper()
	out := []string{string(readExample(f, "code.txt"))}
	files, _ := filepath.Glob(filepath.Join("..", "verify", "testdata", "vectors", "cases", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var v struct {
			QR string `json:"qr"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			f.Fatal(err)
		}
		out = append(out, v.QR)
	}
	return out
}

// FuzzParse feeds arbitrary text to the QR decoder: it must never panic,
// every failure must wrap one of the sentinel errors, and claims decoding of
// anything that parses must not panic either.
func FuzzParse(f *testing.F) {
	for _, s := range seedTexts(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(d.Sign1.KID) != KIDSize {
			t.Fatalf("parsed with kid of %d bytes", len(d.Sign1.KID))
		}
		if c, err := d.Claims(); err == nil {
			if c.Issuer != c.Credential.AuthorityCode || !c.Credential.Kind.Valid() {
				t.Fatalf("accepted inconsistent claims: %+v", c)
			}
			if _, err := json.Marshal(c); err != nil {
				t.Fatal(err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("claims error wraps no sentinel: %v", err)
		}
	})
}

// FuzzBase45 checks that decoding never panics and that whatever decodes
// re-encodes to the same text.
func FuzzBase45(f *testing.F) {
	for _, s := range seedTexts(f) {
		f.Add(strings.TrimPrefix(s, Prefix))
	}
	f.Add("GGW")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Base45Decode(s)
		if err != nil {
			return
		}
		if got := Base45Encode(b); got != s {
			t.Fatalf("round trip %q → %x → %q", s, b, got)
		}
	})
}

// FuzzParseStatusList feeds arbitrary bytes to the status-list parser.
func FuzzParseStatusList(f *testing.F) {
	payload, _ := hex.DecodeString(strings.TrimSpace(string(readExample(f, "statuslist-payload.hex"))))
	cose, err := EncodeSign1(make([]byte, KIDSize), payload, func([]byte) ([]byte, error) { return make([]byte, 64), nil })
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cose)
	f.Add(readHex(f, "cose.hex"))
	bundles, _ := filepath.Glob(filepath.Join("..", "verify", "testdata", "vectors", "contexts", "*", "*.pem"))
	for _, name := range bundles {
		rest, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			if blk.Type == "RTC STATUS LIST" {
				f.Add(blk.Bytes)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, l, err := ParseStatusList(b)
		// The iterator form agrees with the slice form.
		var yielded []StatusEntry
		_, h, ferr := ParseStatusListFunc(b, func(e StatusEntry) error { yielded = append(yielded, e); return nil })
		if (err == nil) != (ferr == nil) {
			t.Fatalf("forms disagree: %v / %v", err, ferr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !errors.Is(ferr, ErrMalformed) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if *h != *l.Header() || len(yielded) != len(l.Entries) {
			t.Fatalf("forms disagree: %+v / %+v", h, l.Header())
		}
		for i := range yielded {
			if yielded[i] != l.Entries[i] {
				t.Fatalf("entry %d differs between forms", i)
			}
		}
		if l.Sequence == 0 || l.Base >= l.Sequence || len(l.Issuer) != 6 {
			t.Fatalf("accepted an invalid list: %+v", l)
		}
		// Re-encoding a parsed list and parsing again gives the same list.
		p, err := l.EncodePayload()
		if err != nil {
			t.Fatal(err)
		}
		c2, _ := EncodeSign1(make([]byte, KIDSize), p, func([]byte) ([]byte, error) { return []byte{}, nil })
		_, l2, err := ParseStatusList(c2)
		if err != nil || l2.Sequence != l.Sequence || len(l2.Entries) != len(l.Entries) {
			t.Fatalf("re-parse: %v", err)
		}
		for i := range l.Entries {
			if !bytes.Equal(l.Entries[i].IDHash[:], l2.Entries[i].IDHash[:]) {
				t.Fatal("entries differ after re-encoding")
			}
		}
	})
}
