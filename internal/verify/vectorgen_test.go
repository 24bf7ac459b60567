package verify_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// The vector generator. It builds a deterministic PKI and writes contexts
// and cases under testdata/vectors; `go test -run TestVectors -update`
// regenerates them. The expected results are written by hand below from the
// specification, never taken from the verifier.

var (
	cst       = credential.CST()
	vecT      = time.Date(2026, 11, 27, 10, 0, 0, 0, cst) // the check time of the main context
	vecTStr   = vecT.Format(time.RFC3339)
	long      = time.Date(2018, 1, 1, 0, 0, 0, 0, cst)
	longUntil = time.Date(2040, 12, 31, 23, 59, 59, 0, cst)
)

type gen struct {
	t       *testing.T
	n       int
	root    *issuer.Authority
	cas     map[string]*issuer.Authority
	signers map[string]*issuer.Signer
	cases   []Vector
}

func (g *gen) rand() io.Reader {
	g.n++
	return gm.DeterministicReader([]byte(fmt.Sprintf("rtc1-vectors/%d", g.n)))
}

func (g *gen) key(label string) *gm.PrivateKey {
	k, err := gm.ScalarFromSeed([]byte("rtc1-vectors/key/" + label))
	if err != nil {
		g.t.Fatal(err)
	}
	return k
}

func (g *gen) must(err error) {
	g.t.Helper()
	if err != nil {
		g.t.Fatal(err)
	}
}

func writeVectors(t *testing.T) {
	g := &gen{t: t, cas: map[string]*issuer.Authority{}, signers: map[string]*issuer.Signer{}}
	os.RemoveAll(vectorDir)
	g.must(os.MkdirAll(filepath.Join(vectorDir, "cases"), 0o755))
	g.buildMain()
	g.example()
	g.limits()
	g.header()
	g.trustCases()
	g.claimsCases()
	g.timeCases()
	g.statusCases()
	g.clarifications()
	for _, v := range g.cases {
		b, err := json.MarshalIndent(v, "", "  ")
		g.must(err)
		g.must(os.WriteFile(filepath.Join(vectorDir, "cases", v.Name+".json"), append(b, '\n'), 0o644))
	}
}

func (g *gen) writeContext(name string, anchors, bundle []byte) {
	dir := filepath.Join(vectorDir, "contexts", name)
	g.must(os.MkdirAll(dir, 0o755))
	g.must(os.WriteFile(filepath.Join(dir, "anchors.pem"), anchors, 0o644))
	g.must(os.WriteFile(filepath.Join(dir, "bundle.pem"), bundle, 0o644))
}

func (g *gen) ca(parent *issuer.Authority, prefix, cn string, serial int64) *issuer.Authority {
	a, err := parent.IssueCA(g.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: cn}, Prefix: prefix, Serial: serial,
		NotBefore: long, NotAfter: longUntil, Key: g.key("ca/" + cn)})
	g.must(err)
	g.cas[cn] = a
	return a
}

func (g *gen) signer(parent *issuer.Authority, name string, serial int64, from, until time.Time) *issuer.Signer {
	s, err := parent.IssueSigner(g.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: name}, Serial: serial,
		NotBefore: from, NotAfter: until, Key: g.key("signer/" + name)})
	g.must(err)
	g.signers[name] = s
	return s
}

func (g *gen) list(s *issuer.Signer, l credential.StatusList) []byte {
	cose, err := s.SignStatusList(g.rand(), &l)
	g.must(err)
	return cose
}

func ts(t time.Time) int64 { return t.Unix() }
func days(n int) time.Time { return vecT.AddDate(0, 0, n) }

// buildMain writes the main context: root → 广东 44 → 深圳 4403, 四川 51,
// 广西 45 (revoked by the root's CRL), with signers and status lists.
func (g *gen) buildMain() {
	root, err := issuer.NewRoot(g.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: "RTC1 测试向量根CA"}, Serial: 1,
		NotBefore: long, NotAfter: longUntil, Key: g.key("root")})
	g.must(err)
	g.root = root
	gd := g.ca(root, "44", "测试广东CA", 0x44)
	sz := g.ca(gd, "4403", "测试深圳CA", 0x4403)
	sc := g.ca(root, "51", "测试四川CA", 0x51)
	gx := g.ca(root, "45", "测试广西CA", 0x45)
	g.signer(sz, "sz", 1, days(-1000), days(1000))
	g.signer(gd, "gd", 2, days(-1000), days(1000))
	g.signer(sc, "sc", 3, days(-1000), days(1000))
	g.signer(gx, "gx", 4, days(-1000), days(1000))
	g.signer(gd, "gd-expired", 5, days(-1000), days(-100))
	g.signer(gd, "gd-future", 6, days(100), days(1000))
	g.signer(gd, "gd-revoked", 7, days(-1000), days(1000))
	g.signer(gd, "gd-revoked-expired", 8, days(-1000), days(-100))
	gdCRL, err := gd.CRL(g.rand(), 2, days(-1), days(29), []issuer.Revocation{
		{Serial: big.NewInt(7), At: days(-50)}, {Serial: big.NewInt(8), At: days(-50)}})
	g.must(err)
	rootCRL, err := root.CRL(g.rand(), 1, days(-1), days(89), []issuer.Revocation{{Serial: big.NewInt(0x45), At: days(-20)}})
	g.must(err)
	h := credential.IDHash
	var b issuer.Bundle
	for _, s := range []string{"sz", "gd", "sc", "gx", "gd-expired", "gd-future", "gd-revoked", "gd-revoked-expired"} {
		b.AddCert(g.signers[s].DER)
	}
	b.AddCert(sz.DER)
	b.AddCert(gd.DER)
	b.AddCert(sc.DER)
	b.AddCert(gx.DER)
	b.AddCRL(gdCRL)
	b.AddCRL(rootCRL)
	// 440300 under the 深圳 CA: a full list and a delta.
	b.AddStatusList(g.list(g.signers["sz"], credential.StatusList{Issuer: "440300", Sequence: 2, Base: 1, ThisUpdate: ts(days(-1)), NextUpdate: ts(days(6)),
		Entries: []credential.StatusEntry{{IDHash: h("V-SUSPENDED"), Status: credential.StatusSuspended, Since: ts(days(-1))},
			{IDHash: h("V-REACTIVATED"), Status: credential.StatusActive, Since: ts(days(-1))}}}))
	b.AddStatusList(g.list(g.signers["sz"], credential.StatusList{Issuer: "440300", Sequence: 1, ThisUpdate: ts(days(-3)), NextUpdate: ts(days(4)),
		Entries: []credential.StatusEntry{
			{IDHash: h("V-REVOKED"), Status: credential.StatusRevoked, Since: ts(days(-10))},
			{IDHash: h("V-REACTIVATED"), Status: credential.StatusSuspended, Since: ts(days(-30))},
			{IDHash: h("V-FUTURE"), Status: credential.StatusRevoked, Since: ts(vecT.Add(time.Hour))},
			{IDHash: h("V-EXPIRED-REVOKED"), Status: credential.StatusRevoked, Since: ts(days(-10))},
		}}))
	// 440300 under the 广东 CA: speaks only for codes whose signer the 广东 CA issued.
	b.AddStatusList(g.list(g.signers["gd"], credential.StatusList{Issuer: "440300", Sequence: 9, ThisUpdate: ts(days(-1)), NextUpdate: ts(days(6)),
		Entries: []credential.StatusEntry{{IDHash: h("V-OWN-CA-ONLY"), Status: credential.StatusRevoked, Since: ts(days(-5))}}}))
	b.AddStatusList(g.list(g.signers["gd"], credential.StatusList{Issuer: "440100", Sequence: 4, ThisUpdate: ts(days(-2)), NextUpdate: ts(days(5))}))
	// 510100: past its nextUpdate. 510700: within nextUpdate but older than 7 days.
	b.AddStatusList(g.list(g.signers["sc"], credential.StatusList{Issuer: "510100", Sequence: 3, ThisUpdate: ts(days(-9)), NextUpdate: ts(days(-2))}))
	b.AddStatusList(g.list(g.signers["sc"], credential.StatusList{Issuer: "510700", Sequence: 3, ThisUpdate: ts(days(-8)), NextUpdate: ts(days(20))}))
	anchors := issuer.CertPEM(root.DER)
	g.writeContext("main", anchors, b.PEM())

	// stale-crl: the same, but the 广东 CA's newest CRL is past its nextUpdate.
	staleCRL, err := gd.CRL(g.rand(), 3, days(-40), days(-10), nil)
	g.must(err)
	var s issuer.Bundle
	s.AddCert(gd.DER)
	s.AddCert(g.signers["gd"].DER)
	s.AddCRL(staleCRL)
	s.AddStatusList(g.list(g.signers["gd"], credential.StatusList{Issuer: "440100", Sequence: 4, ThisUpdate: ts(days(-2)), NextUpdate: ts(days(5))}))
	g.writeContext("stale-crl", anchors, s.PEM())
}

// --- building codes

type code struct {
	g         *gen
	signer    *issuer.Signer
	claims    map[int64]any // CWT claims; key -70000 holds the credential map
	protected []byte
	unprot    map[any]any
	payload   []byte // overrides claims when set
	cose      []byte // overrides everything when set
	mutSig    func([]byte) []byte
	mutCOSE   func([]byte) []byte
	mutZlib   func([]byte) []byte
}

func vehicle(id, auth string) map[int64]any {
	return map[int64]any{0: uint64(1), 1: uint64(3), 3: "粤交运管深字" + id + "号", 4: id, 5: "测试运输有限公司", 6: uint64(2),
		7: "91440300MA5TEST001", 8: "测试交通运输局", 9: auth, 11: "2026-01-01", 12: "2029-12-31",
		40: "粤B12345", 41: "黄", 48: "2027-06-30"}
}

func (g *gen) code(signer string, cred map[int64]any, iat time.Time) *code {
	claims := map[int64]any{1: cred[9], 6: ts(iat), -70000: cred}
	return &code{g: g, signer: g.signers[signer], claims: claims}
}

func (c *code) text() string {
	z := zlibBytes(c.textCOSE())
	if c.mutZlib != nil {
		z = c.mutZlib(z)
	}
	return credential.Prefix + credential.Base45Encode(z)
}

// textCOSE returns the COSE bytes the code carries.
func (c *code) textCOSE() []byte {
	g := c.g
	cose := c.cose
	if cose == nil {
		payload := c.payload
		if payload == nil {
			var err error
			payload, err = credential.MarshalDeterministic(c.claims)
			g.must(err)
		}
		prot := c.protected
		if prot == nil {
			var err error
			prot, err = credential.MarshalDeterministic(map[int]any{1: credential.AlgSM2SM3, 4: c.signer.KID[:]})
			g.must(err)
		}
		unprot := c.unprot
		if unprot == nil {
			unprot = map[any]any{}
		}
		r := g.rand()
		var err error
		cose, err = credential.EncodeSign1Raw(prot, unprot, payload, func(m []byte) ([]byte, error) {
			sig, err := c.signer.Key.Sign(r, m)
			if err == nil && c.mutSig != nil {
				sig = c.mutSig(sig)
			}
			return sig, err
		})
		g.must(err)
	}
	if c.mutCOSE != nil {
		cose = c.mutCOSE(cose)
	}
	return cose
}

func zlibBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// head encodes a CBOR major type and argument in preferred form.
func head(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n <= 0xff:
		return []byte{major<<5 | 24, byte(n)}
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
	}
	return binary.BigEndian.AppendUint64([]byte{major<<5 | 27}, n)
}

// nested returns depth levels of arrays around 0: [[...[0]...]].
func nested(depth int) cbor.RawMessage {
	var b []byte
	for i := 0; i < depth; i++ {
		b = append(b, 0x81)
	}
	return append(b, 0x00)
}

func (g *gen) add(name, desc string, covers []string, qr, verdict string, reasons ...string) {
	g.addAt(name, desc, covers, "main", vecT, qr, verdict, reasons...)
}

func (g *gen) addAt(name, desc string, covers []string, ctx string, at time.Time, qr, verdict string, reasons ...string) {
	v := Vector{Name: name, Description: desc, Covers: covers, Context: ctx, CheckTime: at.Format(time.RFC3339Nano), QR: qr}
	v.Policy.ClockSkewSeconds, v.Policy.MaxTrustAgeSeconds = 300, 7*24*3600
	v.Expected.Verdict = verdict
	v.Expected.Reasons = append([]string{}, reasons...)
	g.cases = append(g.cases, v)
}

// --- the cases

func (g *gen) example() {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "credential", "testdata", "example", name))
		g.must(err)
		return b
	}
	g.writeContext("spec-example", read("anchor.pem"), read("bundle.pem"))
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, cst)
	g.addAt("spec-example-valid", "the worked example of the specification, checked at its stated time", nil, "spec-example", at,
		string(read("code.txt")), "VALID")
}

func (g *gen) valid() *code {
	return g.code("sz", vehicle("44030012922026000001", "440300"), days(-30))
}

func (g *gen) limits() {
	good := g.valid().text()
	g.add("valid-baseline", "a plain valid kind-3 code; every other case varies one thing", nil, good, "VALID")

	// Text length: 4296 characters pass the length check, 4297 fail it.
	// Find a padding that lands exactly on the limit (random-looking text
	// defeats compression, so grow with incompressible bytes instead).
	noise := func(n int) string {
		var sb strings.Builder
		r := gm.DeterministicReader([]byte("noise"))
		buf := make([]byte, 32)
		for sb.Len() < n {
			r.Read(buf)
			for _, x := range buf {
				sb.WriteByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[int(x)%62])
			}
		}
		return sb.String()[:n]
	}
	var atLimit, overLimit string
	// Base45 lengths are never 1 mod 3, so 4,296 characters (4,291 after
	// the prefix) cannot be a well-formed code: 4,295 is the longest.
	for n := 2000; n < 6000 && (atLimit == "" || overLimit == ""); n++ {
		c := g.valid()
		c.claims[-70000].(map[int64]any)[99] = noise(n)
		txt := c.text()
		switch len(txt) {
		case credential.MaxTextLength - 1:
			atLimit = txt
		case credential.MaxTextLength + 1:
			if overLimit == "" {
				overLimit = txt
			}
		}
	}
	if atLimit == "" || overLimit == "" {
		g.t.Fatal("could not build text-length vectors")
	}
	g.add("limit-text-4295", "a valid code of 4,295 characters, the longest well-formed text within the 4,296 limit, is accepted", []string{"limit:text-length"}, atLimit, "VALID")
	g.add("limit-text-over", "a code of more than 4,296 characters is refused before decoding", []string{"limit:text-length"}, overLimit, "INVALID", "MALFORMED")

	// Inflated size: exactly 16 KiB passes, one byte more fails.
	sized := func(total int) string {
		c := g.valid()
		cred := c.claims[-70000].(map[int64]any)
		cred[99] = ""
		base := len(c.textCOSE())
		pad := total - base
		// a text string's head grows by 2 bytes past 255 and 1 more past 65535
		cred[99] = strings.Repeat("0", pad-2)
		if n := len(c.textCOSE()); n != total {
			cred[99] = strings.Repeat("0", pad-2-(n-total))
		}
		if n := len(c.textCOSE()); n != total {
			g.t.Fatalf("inflated size %d, want %d", n, total)
		}
		return c.text()
	}
	g.add("limit-inflated-16384", "a valid code whose COSE inflates to exactly 16,384 bytes is accepted", []string{"limit:inflated-size"}, sized(credential.MaxCOSESize), "VALID")
	g.add("limit-inflated-16385", "a code whose COSE inflates to 16,385 bytes is refused (zip bomb guard)", []string{"limit:inflated-size"}, sized(credential.MaxCOSESize+1), "INVALID", "MALFORMED")

	// Depth in the payload: 16 levels in all pass, 17 fail; tags add none.
	depth := func(levels int, tags bool) string {
		c := g.valid()
		inner := nested(levels - 2) // payload map is level 1, credential map level 2
		if tags {
			inner = append([]byte{0xd8, 0x64, 0xd8, 0x64}, inner...) // tag 100 twice
		}
		c.claims[-70000].(map[int64]any)[98] = cbor.RawMessage(inner)
		return c.text()
	}
	g.add("limit-depth-payload-16", "payload nesting of exactly 16 levels (in an unknown key) is accepted", []string{"limit:depth-payload"}, depth(16, false), "VALID")
	g.add("limit-depth-payload-17", "payload nesting of 17 levels is refused", []string{"limit:depth-payload"}, depth(17, false), "INVALID", "MALFORMED")
	g.add("limit-depth-tags-free", "tags do not count as levels: 16 levels with tags inside is accepted", []string{"limit:depth-payload"}, depth(16, true), "VALID")

	protDepth := func(levels int) string {
		c := g.valid()
		p, err := credential.MarshalDeterministic(map[int]any{1: credential.AlgSM2SM3, 4: c.signer.KID[:], 33: cbor.RawMessage(nested(levels - 1))})
		g.must(err)
		c.protected = p
		return c.text()
	}
	g.add("limit-depth-protected-16", "a protected header nested 16 levels deep is accepted", []string{"limit:depth-protected"}, protDepth(16), "VALID")
	g.add("limit-depth-protected-17", "a protected header nested 17 levels deep is refused", []string{"limit:depth-protected"}, protDepth(17), "INVALID", "MALFORMED")

	coseDepth := func(levels int) string {
		c := g.valid()
		c.unprot = map[any]any{int64(33): cbor.RawMessage(nested(levels - 2))} // COSE array 1, unprotected map 2
		return c.text()
	}
	g.add("limit-depth-cose-16", "a COSE structure nested 16 levels deep (through the unprotected header) is accepted", []string{"limit:depth-cose"}, coseDepth(16), "VALID")
	g.add("limit-depth-cose-17", "a COSE structure nested 17 levels deep is refused", []string{"limit:depth-cose"}, coseDepth(17), "INVALID", "MALFORMED")

	// Duplicate map keys, in the payload, the credential and the protected header.
	dupPayload := g.valid()
	payload, err := credential.MarshalDeterministic(dupPayload.claims)
	g.must(err)
	// claims map of 3 pairs (0xa3): add a second iat.
	dup := append([]byte{0xa4}, payload[1:]...)
	dup = append(dup, 0x06, 0x01)
	dupPayload.payload = dup
	g.add("limit-duplicate-key-payload", "the claims set holds iat twice", []string{"limit:duplicate-keys"}, dupPayload.text(), "INVALID", "MALFORMED")
	dupProt := g.valid()
	prot, err := credential.MarshalDeterministic(map[int]any{1: credential.AlgSM2SM3, 4: dupProt.signer.KID[:]})
	g.must(err)
	dupProt.protected = append(append([]byte{0xa3}, prot[1:]...), 0x01, 0x3a, 0x00, 0x01, 0x00, 0x3f)
	g.add("limit-duplicate-key-protected", "the protected header holds alg twice", []string{"limit:duplicate-keys"}, dupProt.text(), "INVALID", "MALFORMED")

	// Indefinite lengths.
	indef := g.valid()
	p2, err := credential.MarshalDeterministic(indef.claims)
	g.must(err)
	indef.payload = append(append([]byte{0xbf}, p2[1:]...), 0xff) // the same map, indefinite length
	g.add("limit-indefinite-map", "the claims set is an indefinite-length map", []string{"limit:indefinite-length"}, indef.text(), "INVALID", "MALFORMED")

	// Trailing bytes after the COSE structure.
	trail := g.valid()
	trail.mutCOSE = func(b []byte) []byte { return append(b, 0x00) }
	g.add("limit-trailing-bytes", "a byte follows the COSE_Sign1", []string{"limit:trailing-bytes"}, trail.text(), "INVALID", "MALFORMED")

	// Base45.
	body := good[len(credential.Prefix):]
	g.add("limit-base45-lowercase", "lower-case letters are not Base45", []string{"limit:base45-alphabet"}, credential.Prefix+strings.ToLower(body[:3])+body[3:], "INVALID", "MALFORMED")
	g.add("limit-base45-triple", "a triple decoding above 65535 (\"GGW\" = 65536)", []string{"limit:base45-triple"}, credential.Prefix+"GGW"+body[3:], "INVALID", "MALFORMED")
	g.add("limit-base45-pair", "a final pair decoding above 255 (\"GG\" = 736)", []string{"limit:base45-pair"}, credential.Prefix+body[:len(body)-len(body)%3]+"GG", "INVALID", "MALFORMED")
	g.add("limit-base45-dangling", "a single character left over after the last triple", []string{"limit:base45-alphabet"}, credential.Prefix+body[:len(body)-len(body)%3]+"0", "INVALID", "MALFORMED")

	// zlib.
	raw := g.valid()
	rawCOSE := raw.textCOSE()
	g.add("limit-zlib-missing", "uncompressed COSE after Base45 is not accepted", []string{"limit:zlib-required"}, credential.Prefix+credential.Base45Encode(rawCOSE), "INVALID", "MALFORMED")
	bad := g.valid()
	bad.mutZlib = func(z []byte) []byte { z[len(z)-1] ^= 0xff; return z }
	g.add("limit-zlib-checksum", "a zlib stream with a wrong Adler-32", []string{"limit:zlib-required"}, bad.text(), "INVALID", "MALFORMED")
	tail := g.valid()
	tail.mutZlib = func(z []byte) []byte { return append(z, 0x00, 0x00) }
	g.add("limit-zlib-trailing", "bytes after the end of the zlib stream", []string{"limit:zlib-required"}, tail.text(), "INVALID", "MALFORMED")

	// Prefix.
	g.add("prefix-other-version", "RTC2: is a version this terminal does not know", nil, "RTC2:"+body, "INVALID", "UNSUPPORTED_VERSION")
	g.add("prefix-long-version", "RTC10: is another version too", nil, "RTC10:"+body, "INVALID", "UNSUPPORTED_VERSION")
	g.add("prefix-eu-dcc", "an EU DCC (HC1:) is not an RTC1 code", nil, "HC1:"+body, "INVALID", "MALFORMED")
	g.add("prefix-lowercase", "the prefix is case sensitive", nil, "rtc1:"+body, "INVALID", "MALFORMED")
	g.add("prefix-no-number", "RTC: without a version number", nil, "RTC:"+body, "INVALID", "MALFORMED")
	g.add("empty-text", "an empty scan", nil, "", "INVALID", "MALFORMED")
}

func (g *gen) header() {
	untagged := g.valid()
	untagged.mutCOSE = func(b []byte) []byte { return b[1:] } // drop tag 18 (0xd2)
	g.add("cose-untagged", "decoders accept COSE_Sign1 without its tag", nil, untagged.text(), "VALID")
	otherTag := g.valid()
	otherTag.mutCOSE = func(b []byte) []byte { return append([]byte{0xd8, 0x62}, b[1:]...) } // tag 98 (COSE_Sign)
	g.add("cose-wrong-tag", "a COSE_Sign (tag 98) is not a COSE_Sign1", nil, otherTag.text(), "INVALID", "MALFORMED")

	protected := func(m map[int]any) *code {
		c := g.valid()
		p, err := credential.MarshalDeterministic(m)
		g.must(err)
		c.protected = p
		return c
	}
	kid := g.signers["sz"].KID[:]
	g.add("alg-es256", "alg -7 (ES256) is not SM2-with-SM3", nil, protected(map[int]any{1: -7, 4: kid}).text(), "INVALID", "UNSUPPORTED_ALG")
	g.add("alg-text", "a text alg is another alg", nil, protected(map[int]any{1: "SM2", 4: kid}).text(), "INVALID", "UNSUPPORTED_ALG")
	g.add("alg-missing", "no alg at all: the header is malformed (choice: MALFORMED, not UNSUPPORTED_ALG)", nil, protected(map[int]any{4: kid}).text(), "INVALID", "MALFORMED")
	unprotKID := protected(map[int]any{1: credential.AlgSM2SM3})
	unprotKID.unprot = map[any]any{int64(4): kid}
	g.add("kid-unprotected-only", "a kid only in the unprotected header is ignored", nil, unprotKID.text(), "INVALID", "MALFORMED")
	g.add("kid-9-bytes", "a kid of 9 bytes (choice: MALFORMED)", nil, protected(map[int]any{1: credential.AlgSM2SM3, 4: append(append([]byte{}, kid...), 0)}).text(), "INVALID", "MALFORMED")
	both := protected(map[int]any{1: -7})
	g.add("alg-and-kid-wrong", "steps stop at the first failure: a missing kid (step 1) beats a wrong alg (step 2)", nil, both.text(), "INVALID", "MALFORMED")
	detached := g.valid()
	detached.cose = mustCOSE(g, []any{mustProt(g, kid), map[any]any{}, nil, make([]byte, 64)})
	g.add("payload-detached", "a detached (null) payload is not allowed", nil, detached.text(), "INVALID", "MALFORMED")
	arr := g.valid()
	arr.payload = []byte{0x82, 0x06, 0x01}
	g.add("payload-not-map", "the payload is an array", nil, arr.text(), "INVALID", "MALFORMED")
	noIat := g.valid()
	delete(noIat.claims, 6)
	g.add("iat-missing", "no iat", nil, noIat.text(), "INVALID", "MALFORMED")
	textIat := g.valid()
	textIat.claims[6] = "2026-10-28T10:00:00+08:00"
	g.add("iat-text", "iat as text", nil, textIat.text(), "INVALID", "MALFORMED")
	floatIat := g.valid()
	floatIat.claims[6] = float64(days(-30).Unix())
	g.add("iat-float", "iat as a float", nil, floatIat.text(), "INVALID", "MALFORMED")
}

func mustProt(g *gen, kid []byte) []byte {
	p, err := credential.MarshalDeterministic(map[int]any{1: credential.AlgSM2SM3, 4: kid})
	g.must(err)
	return p
}

func mustCOSE(g *gen, arr []any) []byte {
	b, err := credential.MarshalDeterministic(cbor.Tag{Number: 18, Content: arr})
	g.must(err)
	return b
}

func (g *gen) trustCases() {
	cred := vehicle("44030012922026000001", "440300")
	g.add("unknown-signer", "a kid that matches no stored signer", nil, g.straySigned(cred), "INVALID", "UNKNOWN_SIGNER")
	gdCred := vehicle("44010012922026000001", "440100")
	g.add("chain-expired-signer", "the signer expired before iat", nil, g.code("gd-expired", gdCred, days(-30)).text(), "INVALID", "CHAIN_INVALID")
	g.add("chain-signer-not-yet", "iat before the signer's notBefore", nil, g.code("gd-future", gdCred, days(-30)).text(), "INVALID", "CHAIN_INVALID")
	g.add("chain-expired-signer-old-iat", "a code signed while its (now expired) signer was valid stays valid", nil, g.code("gd-expired", gdCred, days(-200)).text(), "VALID")
	g.add("signer-revoked", "the signer is on its CA's CRL", nil, g.code("gd-revoked", gdCred, days(-30)).text(), "INVALID", "SIGNER_REVOKED")
	g.add("signer-revoked-before-revocation", "revocation applies whatever its date: a code signed before it fails too", nil, g.code("gd-revoked", gdCred, days(-300)).text(), "INVALID", "SIGNER_REVOKED")
	g.add("ca-revoked", "the signer's CA is on the root's CRL", nil, g.code("gx", vehicle("45010012922026000001", "450100"), days(-30)).text(), "INVALID", "SIGNER_REVOKED")
	g.add("chain-invalid-and-revoked", "both findings of step 4 are reported (choice)", nil, g.code("gd-revoked-expired", gdCred, days(-30)).text(), "INVALID", "CHAIN_INVALID", "SIGNER_REVOKED")
	flip := g.valid()
	flip.mutSig = func(s []byte) []byte { s[10] ^= 1; return s }
	g.add("signature-flipped", "one bit of r flipped", nil, flip.text(), "INVALID", "BAD_SIGNATURE")
	short := g.valid()
	short.mutSig = func(s []byte) []byte { return s[:63] }
	g.add("signature-63-bytes", "a signature of 63 bytes", nil, short.text(), "INVALID", "BAD_SIGNATURE")
	der := g.valid()
	der.mutSig = func(s []byte) []byte {
		return append([]byte{0x30, 0x44, 0x02, 0x20}, append(append(s[:32:32], 0x02, 0x20), s[32:]...)...)
	}
	g.add("signature-der", "an ASN.1 DER signature instead of raw r||s", nil, der.text(), "INVALID", "BAD_SIGNATURE")
	tampered := g.valid()
	tampered.mutCOSE = func(b []byte) []byte {
		i := bytes.Index(b, []byte("粤B12345"))
		b[i+len("粤B")] = '9'
		return b
	}
	g.add("payload-tampered", "the plate changed after signing", nil, tampered.text(), "INVALID", "BAD_SIGNATURE")
	g.add("issuer-mismatch-province", "a 四川 signer signs a 深圳 licence", nil, g.code("sc", cred, days(-30)).text(), "INVALID", "ISSUER_MISMATCH")
	g.add("issuer-mismatch-city", "the 深圳 CA (4403) may not speak for 广州 (440100)", nil, g.code("sz", gdCred, days(-30)).text(), "INVALID", "ISSUER_MISMATCH")
	g.add("issuer-province-covers-city", "the 广东 CA (44) covers 深圳 (440300)", nil, g.code("gd", vehicle("44030012922026000002", "440300"), days(-30)).text(), "VALID")
}

func (g *gen) straySigned(cred map[int64]any) string {
	stray, err := issuer.NewRoot(g.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: "stray"}, Serial: 9, NotBefore: long, NotAfter: longUntil, Key: g.key("stray-root")})
	g.must(err)
	s, err := stray.IssueSigner(g.rand(), issuer.CertRequest{Subject: issuer.Name{CommonName: "stray signer"}, Serial: 10, NotBefore: long, NotAfter: longUntil, Key: g.key("stray")})
	g.must(err)
	c := &code{g: g, signer: s, claims: map[int64]any{1: cred[9], 6: ts(days(-30)), -70000: cred}}
	return c.text()
}

func (g *gen) claimsCases() {
	type mod struct {
		name, desc string
		f          func(claims, cred map[int64]any)
		verdict    string
		reasons    []string
	}
	mal := []string{"MALFORMED"}
	mods := []mod{
		{"claims-missing-plate", "kind 3 without its plate", func(_, c map[int64]any) { delete(c, 40) }, "INVALID", mal},
		{"claims-kind-4", "kind 4 does not exist", func(_, c map[int64]any) { c[1] = uint64(4) }, "INVALID", mal},
		{"claims-version-2", "credential version 2", func(_, c map[int64]any) { c[0] = uint64(2) }, "INVALID", mal},
		{"claims-holder-id-type-3", "holderIdType 3", func(_, c map[int64]any) { c[6] = uint64(3) }, "INVALID", mal},
		{"claims-kind-negative", "kind -3 (not a uint)", func(_, c map[int64]any) { c[1] = int64(-3) }, "INVALID", mal},
		{"claims-bad-date", "validUntil 2029-02-30 is no calendar day", func(_, c map[int64]any) { c[12] = "2029-02-30" }, "INVALID", mal},
		{"claims-date-format", "validUntil 2029/12/31", func(_, c map[int64]any) { c[12] = "2029/12/31" }, "INVALID", mal},
		{"claims-until-before-from", "validUntil before validFrom (choice: MALFORMED)", func(_, c map[int64]any) { c[11], c[12] = "2027-01-01", "2026-01-01" }, "INVALID", mal},
		{"claims-iss-differs", "iss differs from authorityCode", func(cl, _ map[int64]any) { cl[1] = "440100" }, "INVALID", mal},
		{"claims-iss-missing", "no iss", func(cl, _ map[int64]any) { delete(cl, 1) }, "INVALID", mal},
		{"claims-authority-code-5-digits", "authorityCode of 5 digits", func(cl, c map[int64]any) { c[9], cl[1] = "44030", "44030" }, "INVALID", mal},
		{"claims-empty-holder", "a required text field that is empty (choice: MALFORMED)", func(_, c map[int64]any) { c[5] = "" }, "INVALID", mal},
		{"claims-plate-colour", "plateColour 红 is not in the list (choice: MALFORMED)", func(_, c map[int64]any) { c[41] = "红" }, "INVALID", mal},
		{"claims-optional-wrong-type", "capacity as an integer", func(_, c map[int64]any) { c[45] = uint64(18) }, "INVALID", mal},
		{"claims-cti-empty", "a cti of 0 bytes", func(cl, _ map[int64]any) { cl[7] = []byte{} }, "INVALID", mal},
		{"claims-cti-65", "a cti of 65 bytes", func(cl, _ map[int64]any) { cl[7] = make([]byte, 65) }, "INVALID", mal},
		{"claims-cti-64", "a cti of 64 bytes is fine", func(cl, _ map[int64]any) { cl[7] = make([]byte, 64) }, "VALID", nil},
		{"claims-rtc-missing", "no credential claims", func(cl, _ map[int64]any) { delete(cl, -70000) }, "INVALID", mal},
		{"claims-exp-text", "exp as text", func(cl, _ map[int64]any) { cl[4] = "soon" }, "INVALID", mal},
		{"claims-unknown-keys", "unknown claim and credential keys, integer and text, are ignored", func(cl, c map[int64]any) {
			cl[-70001], cl[2] = "future claim", "sub"
			c[60], c[-1] = map[any]any{"x": 1}, []any{1, 2}
		}, "VALID", nil},
		{"claims-other-kind-keys", "keys of another kind count as unknown even with wrong types", func(_, c map[int64]any) {
			c[20], c[30] = uint64(5), []any{uint64(1)}
		}, "VALID", nil},
	}
	for _, m := range mods {
		c := g.valid()
		cred := c.claims[-70000].(map[int64]any)
		m.f(c.claims, cred)
		g.add(m.name, m.desc, nil, c.text(), m.verdict, m.reasons...)
	}
	// Kind 1 without categories, with empty categories; kind 2 without scope.
	k1 := map[int64]any{0: uint64(1), 1: uint64(1), 3: "440304198203151234", 4: "44030012902026000001", 5: "张三", 6: uint64(1),
		7: "440304198203151234", 8: "测试交通运输局", 9: "440300", 11: "2026-01-01", 12: "2029-12-31", 20: []any{"道路危险货物运输驾驶员"}}
	g.add("kind1-valid", "a valid 从业资格证", nil, g.code("sz", k1, days(-30)).text(), "VALID")
	k1b := cloneMap(k1)
	k1b[20] = []any{}
	g.add("kind1-empty-categories", "categories must hold at least one entry", nil, g.code("sz", k1b, days(-30)).text(), "INVALID", "MALFORMED")
	k1c := cloneMap(k1)
	k1c[20] = []any{"驾驶员", uint64(1)}
	g.add("kind1-category-not-text", "a category that is not text", nil, g.code("sz", k1c, days(-30)).text(), "INVALID", "MALFORMED")
	k2 := map[int64]any{0: uint64(1), 1: uint64(2), 3: "粤交运管许可深字440300000001号", 4: "44030012912026000001", 5: "测试运输有限公司", 6: uint64(2),
		7: "91440300MA5TEST001", 8: "测试交通运输局", 9: "440300", 11: "2026-01-01", 12: "2029-12-31", 30: "道路普通货物运输"}
	g.add("kind2-valid", "a valid 经营许可证", nil, g.code("sz", k2, days(-30)).text(), "VALID")
	k2b := cloneMap(k2)
	delete(k2b, 30)
	g.add("kind2-missing-scope", "a 经营许可证 without scope", nil, g.code("sz", k2b, days(-30)).text(), "INVALID", "MALFORMED")
}

func cloneMap(m map[int64]any) map[int64]any {
	out := make(map[int64]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (g *gen) timeCases() {
	at := func(d time.Duration) *code {
		return g.code("sz", vehicle("44030012922026000001", "440300"), vecT.Add(d))
	}
	g.add("iat-within-skew", "iat 300 s after the check time is within the default skew", nil, at(300*time.Second).text(), "VALID")
	g.add("iat-future", "iat 301 s after the check time", nil, at(301*time.Second).text(), "INVALID", "CODE_NOT_YET_VALID")
	dyn := func(exp time.Duration) string {
		c := at(-10 * time.Minute)
		c.claims[4] = ts(vecT.Add(exp))
		c.claims[7] = []byte("0123456789abcdef")
		return c.text()
	}
	g.add("dynamic-valid", "a dynamic code within its exp", nil, dyn(4*time.Minute), "VALID")
	g.add("dynamic-exp-within-skew", "exp 300 s before the check time is within the skew", nil, dyn(-300*time.Second), "VALID")
	g.add("dynamic-expired", "exp 301 s before the check time", nil, dyn(-301*time.Second), "INVALID", "CODE_EXPIRED")
	expiredAndFuture := at(time.Hour)
	expiredAndFuture.claims[4] = ts(vecT.Add(-time.Hour))
	g.add("iat-future-and-expired", "exp before iat is MALFORMED (clarification 8), so step 7 never finds both of its reasons", cov(8), expiredAndFuture.text(), "INVALID", "MALFORMED")

	licence := func(from, until string) *code {
		cred := vehicle("44030012922026000001", "440300")
		cred[11], cred[12] = from, until
		return g.code("sz", cred, days(-30))
	}
	g.add("licence-not-yet-valid", "validFrom is tomorrow", nil, licence("2026-11-28", "2030-01-01").text(), "INVALID", "LICENCE_NOT_YET_VALID")
	g.addAt("licence-valid-from-midnight", "validFrom starts at 00:00:00 UTC+8", nil, "main", time.Date(2026, 11, 28, 0, 0, 0, 0, cst),
		licence("2026-11-28", "2030-01-01").text(), "VALID")
	g.addAt("licence-one-second-early", "23:59:59 UTC+8 the day before validFrom", nil, "main", time.Date(2026, 11, 27, 23, 59, 59, 0, cst),
		licence("2026-11-28", "2030-01-01").text(), "INVALID", "LICENCE_NOT_YET_VALID")
	g.add("licence-expired", "validUntil was yesterday", nil, licence("2020-01-01", "2026-11-26").text(), "INVALID", "LICENCE_EXPIRED")
	g.addAt("licence-last-second", "validUntil is inclusive through 23:59:59 UTC+8", nil, "main", time.Date(2026, 11, 27, 23, 59, 59, 0, cst),
		licence("2020-01-01", "2026-11-27").text(), "VALID")
	g.addAt("licence-day-after", "00:00:00 UTC+8 the day after validUntil", nil, "main", time.Date(2026, 11, 28, 0, 0, 0, 0, cst),
		licence("2020-01-01", "2026-11-27").text(), "INVALID", "LICENCE_EXPIRED")
	g.addAt("licence-utc-evening", "16:00 UTC on validUntil is already the next day in UTC+8", nil, "main", time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC),
		licence("2020-01-01", "2026-11-27").text(), "INVALID", "LICENCE_EXPIRED")

	review := func(d string) string {
		cred := vehicle("44030012922026000001", "440300")
		cred[48] = d
		return g.code("sz", cred, days(-30)).text()
	}
	g.add("review-overdue", "kind 3 whose reviewUntil is yesterday", nil, review("2026-11-26"), "LIMITED", "REVIEW_OVERDUE")
	g.add("review-today", "reviewUntil today is not overdue", nil, review("2026-11-27"), "VALID")
}

func (g *gen) statusCases() {
	v := func(id, auth, signer string) *code { return g.code(signer, vehicle(id, auth), days(-30)) }
	g.add("status-revoked", "the 440300 list revokes the licence", nil, v("V-REVOKED", "440300", "sz").text(), "INVALID", "LICENCE_REVOKED")
	g.add("status-suspended-by-delta", "the delta list suspends the licence", nil, v("V-SUSPENDED", "440300", "sz").text(), "INVALID", "LICENCE_SUSPENDED")
	g.add("status-reactivated-by-delta", "status 0 in a delta deletes an earlier suspension", nil, v("V-REACTIVATED", "440300", "sz").text(), "VALID")
	g.add("status-future-entry", "an entry takes effect at since: not yet", nil, v("V-FUTURE", "440300", "sz").text(), "VALID")
	g.addAt("status-future-entry-later", "and after since it applies", nil, "main", vecT.Add(2*time.Hour), v("V-FUTURE", "440300", "sz").text(), "INVALID", "LICENCE_REVOKED")
	g.add("status-own-ca-only", "a list of another CA for the same code does not apply (the 广东 CA's 440300 list)", nil, v("V-OWN-CA-ONLY", "440300", "sz").text(), "VALID")
	g.add("status-own-ca-applies", "the same list applies to codes whose signer the 广东 CA issued", nil, v("V-OWN-CA-ONLY", "440300", "gd").text(), "INVALID", "LICENCE_REVOKED")
	g.add("status-unknown", "no list stored for 440600", nil, v("44060012922026000001", "440600", "gd").text(), "LIMITED", "STATUS_UNKNOWN")
	g.add("status-stale-next-update", "the 510100 list is past its nextUpdate", nil, v("51010012922026000001", "510100", "sc").text(), "LIMITED", "TRUST_STALE")
	g.add("status-stale-age", "the 510700 list is older than 7 days", nil, v("51070012922026000001", "510700", "sc").text(), "LIMITED", "TRUST_STALE")
	g.addAt("crl-stale", "the newest CRL of the signer's CA is past its nextUpdate", nil, "stale-crl", vecT,
		v("44010012922026000001", "440100", "gd").text(), "LIMITED", "TRUST_STALE")
	many := vehicle("V-EXPIRED-REVOKED", "440300")
	many[12], many[48] = "2026-10-31", "2026-10-31"
	g.add("many-findings", "steps 8–10 are all reported, in step order", nil, g.code("sz", many, days(-400)).text(), "INVALID",
		"LICENCE_EXPIRED", "LICENCE_REVOKED", "REVIEW_OVERDUE")
	both := v("51010012922026000002", "510100", "sc")
	cred := both.claims[-70000].(map[int64]any)
	cred[48] = "2026-01-01"
	g.add("limited-two-warnings", "two warnings: TRUST_STALE then REVIEW_OVERDUE", nil, both.text(), "LIMITED", "TRUST_STALE", "REVIEW_OVERDUE")
}
