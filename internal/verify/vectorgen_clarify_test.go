package verify_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/fxamacker/cbor/v2"
	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/issuer"
)

// The vectors of the RTC1 1.1 clarifications (items 1–21). Each names the
// items it pins in Covers as "clarification:N"; TestVectors checks that
// every item has one. Expected results are written from the specification.

// cov names clarification items for Covers.
func cov(items ...int) []string {
	out := make([]string, len(items))
	for i, n := range items {
		out[i] = fmt.Sprintf("clarification:%d", n)
	}
	return out
}

// clarifications writes every clarification vector.
func (g *gen) clarifications() {
	g.clarifyText()
	g.clarifyCBOR()
	g.clarifyClaims()
	g.clarifyProfile()
	g.clarifyOneCA()
	g.clarifyChains()
	g.clarifyCRLs()
	g.clarifyReimport()
	g.clarifyLists()
	g.clarifyIDHash()
	g.clarifyHistory()
	g.clarifyTime()
}

// --- bundles with expected import reports

// vbundle is a bundle file under construction with the outcome each block
// must have when imported.
type vbundle struct {
	pem      []byte
	outcomes []string
	notes    []string
}

func (b *vbundle) block(typ string, der []byte, outcome, note string) {
	b.pem = append(b.pem, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})...)
	b.outcomes = append(b.outcomes, outcome)
	if outcome == "skipped" {
		b.notes = append(b.notes, fmt.Sprintf("block %d: %s", len(b.outcomes), note))
	}
}

func (b *vbundle) cert(der []byte) { b.block("CERTIFICATE", der, "stored", "") }
func (b *vbundle) crl(der []byte)  { b.block("X509 CRL", der, "stored", "") }
func (b *vbundle) list(c []byte)   { b.block("RTC STATUS LIST", c, "stored", "") }
func (b *vbundle) refuse(typ string, der []byte, why string) {
	b.block(typ, der, "skipped", why)
}
func (b *vbundle) same(typ string, der []byte) { b.block(typ, der, "unchanged", "") }

// writeContextImports writes a context whose bundles are imported in order
// with the outcomes recorded in them (imports.json).
func (g *gen) writeContextImports(name string, bundles ...*vbundle) {
	dir := filepath.Join(vectorDir, "contexts", name)
	g.must(os.MkdirAll(dir, 0o755))
	g.must(os.WriteFile(filepath.Join(dir, "anchors.pem"), issuer.CertPEM(g.root.DER), 0o644))
	var imp Imports
	for i, b := range bundles {
		file := "bundle.pem"
		if i > 0 {
			file = fmt.Sprintf("bundle-%d.pem", i+1)
		}
		g.must(os.WriteFile(filepath.Join(dir, file), b.pem, 0o644))
		complete := true
		for _, o := range b.outcomes {
			complete = complete && o != "skipped"
		}
		imp.Imports = append(imp.Imports, ImportStep{File: file, Outcomes: b.outcomes, Complete: complete, Notes: b.notes})
	}
	j, err := json.MarshalIndent(imp, "", "  ")
	g.must(err)
	g.must(os.WriteFile(filepath.Join(dir, "imports.json"), append(j, '\n'), 0o644))
}

// --- certificates built directly, for profiles issuer.Tweak cannot make

func subject(cn, prefix string) pkix.Name {
	n := pkix.Name{Country: []string{"CN"}, CommonName: cn}
	if prefix != "" {
		n.ExtraNames = []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 5}, Value: prefix}}
	}
	return n
}

func caTmpl(cn, prefix string, serial int64, from, until time.Time) *smx509.Certificate {
	return &smx509.Certificate{SerialNumber: big.NewInt(serial), Subject: subject(cn, prefix), NotBefore: from, NotAfter: until,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true, SignatureAlgorithm: smx509.SM2WithSM3}
}

func signerTmpl(cn string, serial int64) *smx509.Certificate {
	return &smx509.Certificate{SerialNumber: big.NewInt(serial), Subject: subject(cn, ""), NotBefore: long, NotAfter: longUntil,
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, SignatureAlgorithm: smx509.SM2WithSM3}
}

// issueRaw signs tmpl with parent's key for the public key pub.
func (g *gen) issueRaw(parent *issuer.Authority, tmpl *smx509.Certificate, pub any) []byte {
	der, err := smx509.CreateCertificate(g.rand(), tmpl, parent.Cert, pub, parent.Key.Signer())
	g.must(err)
	return der
}

// authority issues a CA from a template with key label keyLabel.
func (g *gen) authority(parent *issuer.Authority, tmpl *smx509.Certificate, keyLabel string) *issuer.Authority {
	k := g.key(keyLabel)
	der := g.issueRaw(parent, tmpl, k.Public().Crypto())
	c, err := smx509.ParseCertificate(der)
	g.must(err)
	return &issuer.Authority{Cert: c, DER: der, Key: k}
}

// signerRaw issues a signer from a template with key label keyLabel.
func (g *gen) signerRaw(parent *issuer.Authority, tmpl *smx509.Certificate, keyLabel string) *issuer.Signer {
	k := g.key(keyLabel)
	der := g.issueRaw(parent, tmpl, k.Public().Crypto())
	c, err := smx509.ParseCertificate(der)
	g.must(err)
	return &issuer.Signer{Cert: c, DER: der, Key: k, KID: credential.KID(der)}
}

// signWith returns a code for cred signed by s at iat.
func (g *gen) signWith(s *issuer.Signer, cred map[int64]any, iat time.Time) *code {
	return &code{g: g, signer: s, claims: map[int64]any{1: cred[9], 6: ts(iat), -70000: cred}}
}

// emptyList is a fresh full status list of s for issuerCode (so codes under
// its CA are not STATUS_UNKNOWN), revoking the given ids.
func (g *gen) emptyList(s *issuer.Signer, issuerCode string, seq uint64, revoked ...string) []byte {
	l := credential.StatusList{Issuer: issuerCode, Sequence: seq, ThisUpdate: ts(days(-1)), NextUpdate: ts(days(6))}
	for _, id := range revoked {
		l.Entries = append(l.Entries, credential.StatusEntry{IDHash: credential.IDHash(id), Status: credential.StatusRevoked, Since: ts(days(-10))})
	}
	return g.list(s, l)
}

// rawList signs a status-list payload given as a CBOR map whose values may
// be cbor.RawMessage, for lists the encoder would not write.
func (g *gen) rawList(s *issuer.Signer, m map[any]any) []byte {
	payload, err := credential.MarshalDeterministic(m)
	g.must(err)
	cose, err := s.Sign(g.rand(), payload)
	g.must(err)
	return cose
}

// entry is one status entry as generic CBOR.
func entry(id string, status uint64, since any) []any {
	h := credential.IDHash(id)
	return []any{h[:], status, since}
}

// rawCOSE builds a tagged COSE_Sign1 from raw parts, signed by s.
func (g *gen) rawCOSE(s *issuer.Signer, protected, unprotected, payload []byte) []byte {
	sig, err := s.Key.Sign(g.rand(), (&credential.Sign1{Protected: protected, Payload: payload}).SigStructure())
	g.must(err)
	var b []byte
	b = append(b, 0xd2, 0x84)
	b = append(append(b, head(2, uint64(len(protected)))...), protected...)
	b = append(b, unprotected...)
	b = append(append(b, head(2, uint64(len(payload)))...), payload...)
	return append(append(b, head(2, uint64(len(sig)))...), sig...)
}

func rawText(cose []byte) string { return credential.Prefix + credential.Base45Encode(zlibBytes(cose)) }

// --- 1, 2, 20: the text layers

func (g *gen) clarifyText() {
	good := g.valid().text()
	body := good[len(credential.Prefix):]
	g.add("prefix-leading-zero-version", "RTC01: is not RTC1: but another version", cov(1), "RTC01:"+body, "INVALID", "UNSUPPORTED_VERSION")
	g.add("prefix-version-zero", "RTC0: is another version", cov(1), "RTC0:"+body, "INVALID", "UNSUPPORTED_VERSION")
	g.add("prefix-other-version-not-examined", "nothing after another version's prefix is examined: RTC2: followed by text that is not Base45",
		cov(1), "RTC2:this is not base45 at all!", "INVALID", "UNSUPPORTED_VERSION")
	over := "RTC2:" + strings.Repeat("0", credential.MaxTextLength-len("RTC2:")+1)
	g.add("limit-text-over-other-version", "a text of 4,297 characters with another version's prefix is both too long and of another version",
		cov(1, 20), over, "INVALID", "MALFORMED", "UNSUPPORTED_VERSION")
	over1 := credential.Prefix + strings.Repeat("0", credential.MaxTextLength-len(credential.Prefix)+1)
	g.add("limit-text-over-rtc1", "a text of 4,297 characters with the RTC1: prefix is only too long", cov(1), over1, "INVALID", "MALFORMED")
	one := g.valid()
	one.mutZlib = func(z []byte) []byte { return append(z, 0x00) }
	g.add("limit-zlib-one-trailing-byte", "one byte after the end of the zlib stream", cov(2), one.text(), "INVALID", "MALFORMED")
}

// --- 3, 4, 5, 6, 7: CBOR, tags, headers, integers of a code

func (g *gen) clarifyCBOR() {
	kid := g.signers["sz"].KID[:]
	sz := g.signers["sz"]
	validPayload := func() []byte {
		p, err := credential.MarshalDeterministic(g.valid().claims)
		g.must(err)
		return p
	}

	// 3: non-deterministic encodings are accepted; duplicates are compared
	// as decoded values; container keys are refused everywhere.
	p := validPayload()
	i := bytes.Index(p, []byte{0x06, 0x1a}) // iat: 0x1a + 4 bytes
	long8 := append([]byte{0x06, 0x1b, 0, 0, 0, 0}, p[i+2:i+6]...)
	nonShortest := append(append(append([]byte{0xb8, 0x03}, p[1:i]...), long8...), p[i+6:]...)
	ns := g.valid()
	ns.payload = nonShortest
	g.add("cbor-non-shortest-heads", "the claims map's head and iat in non-shortest form: accepted, the signature covers the bytes as received",
		cov(3), ns.text(), "VALID")
	c := g.valid()
	enc := func(v any) []byte {
		b, err := credential.MarshalDeterministic(v)
		g.must(err)
		return b
	}
	unsorted := append([]byte{0xa3}, enc(int64(-70000))...)
	unsorted = append(unsorted, enc(c.claims[-70000])...)
	unsorted = append(append(unsorted, enc(6)...), enc(c.claims[6])...)
	unsorted = append(append(unsorted, enc(1)...), enc(c.claims[1])...)
	c.payload = unsorted
	g.add("cbor-unsorted-keys", "claims map keys in descending order: accepted", cov(3), c.text(), "VALID")
	dup := g.valid()
	dup.payload = append(append([]byte{0xa4}, validPayload()[1:]...), 0x18, 0x06, 0x01)
	g.add("cbor-duplicate-key-non-shortest", "iat twice, once as 0x06 and once as 0x18 0x06: the same key as decoded values", cov(3),
		dup.text(), "INVALID", "MALFORMED")
	arrKey := g.valid()
	arrKey.claims[-70001] = cbor.RawMessage{0xa1, 0x81, 0x01, 0x02}
	g.add("cbor-array-key-unknown-claim", "an unknown claim holding a map whose key is an array", cov(3), arrKey.text(), "INVALID", "MALFORMED")
	mapKey := g.valid()
	mapKey.claims[-70000].(map[int64]any)[70] = cbor.RawMessage{0xa1, 0xa0, 0x01}
	g.add("cbor-map-key-unknown-credential-key", "an unknown credential key holding a map whose key is a map", cov(3), mapKey.text(), "INVALID", "MALFORMED")
	prot := mustProt(g, kid)
	g.add("cbor-array-key-unprotected", "an unprotected header whose key is an array", cov(3, 6),
		rawText(g.rawCOSE(sz, prot, []byte{0xa1, 0x81, 0x01, 0x01}, validPayload())), "INVALID", "MALFORMED")

	// 4: tags.
	for _, t := range []struct {
		name, desc string
		pre        []byte
	}{
		{"cose-cwt-tag", "a CWT tag (61) around the COSE_Sign1 tag", []byte{0xd8, 0x3d}},
		{"cose-tag-18-twice", "tag 18 twice", []byte{0xd2}},
		{"cose-self-described-tag", "the self-described CBOR tag (55799) around the COSE_Sign1 tag", []byte{0xd9, 0xd9, 0xf7}},
	} {
		c := g.valid()
		pre := t.pre
		c.mutCOSE = func(b []byte) []byte { return append(append([]byte{}, pre...), b...) }
		g.add(t.name, t.desc+": only one optional tag 18 may wrap a COSE_Sign1", cov(4), c.text(), "INVALID", "MALFORMED")
	}
	untaggedSelf := g.valid()
	untaggedSelf.mutCOSE = func(b []byte) []byte { return append([]byte{0xd9, 0xd9, 0xf7}, b[1:]...) }
	g.add("cose-self-described-untagged", "the self-described CBOR tag in place of tag 18", cov(4), untaggedSelf.text(), "INVALID", "MALFORMED")
	iatTag := g.valid()
	iatTag.claims[6] = cbor.Tag{Number: 1, Content: ts(days(-30))}
	g.add("iat-epoch-time-tag", "iat as an epoch-time tag (1): a tagged value where an integer is defined (step 1)", cov(4, 7), iatTag.text(), "INVALID", "MALFORMED")
	iatSelf := g.valid()
	iatSelf.claims[6] = cbor.Tag{Number: 55799, Content: ts(days(-30))}
	g.add("iat-self-described-tag", "iat wrapped in the self-described CBOR tag", cov(4), iatSelf.text(), "INVALID", "MALFORMED")
	holder := g.valid()
	holder.claims[-70000].(map[int64]any)[5] = cbor.Tag{Number: 100, Content: "测试运输有限公司"}
	g.add("claims-tagged-holder", "a tagged holder name has the wrong type (step 6)", cov(4), holder.text(), "INVALID", "MALFORMED")
	credTag := g.valid()
	credTag.claims[-70000] = cbor.Tag{Number: 100, Content: credTag.claims[-70000]}
	g.add("claims-tagged-credential-map", "the credential claims map wrapped in a tag", cov(4), credTag.text(), "INVALID", "MALFORMED")
	unknownTags := g.valid()
	cr := unknownTags.claims[-70000].(map[int64]any)
	unknownTags.claims[-70001] = []byte("@mark-1@")
	cr[61], cr[62], cr[63] = []byte("@mark-2@"), []byte("@mark-3@"), []byte("@mark-4@")
	raw, err := credential.MarshalDeterministic(unknownTags.claims)
	g.must(err)
	// The encoder refuses tags 0 and 2 with these contents: put them in
	// the bytes afterwards.
	for mark, v := range map[string][]byte{
		"@mark-1@": {0xc0, 0x6a, 'n', 'o', 't', ' ', 'a', ' ', 'd', 'a', 't', 'e'}, // tag 0 around text that is no date
		"@mark-2@": {0xc2, 0x61, 'A'},                                              // a bignum tag around text
		"@mark-3@": {0xa1, 0xc2, 0x41, 0x01, 0x00},                                 // a bignum as a map key
		"@mark-4@": {0xd9, 0xd9, 0xf7, 0xc1, 0x01},                                 // nested tags
	} {
		raw = bytes.Replace(raw, append([]byte{0x48}, mark...), v, 1)
	}
	unknownTags.payload = raw
	g.add("tags-in-unknown-claims", "tags inside unknown claims and keys are ignored, whatever their content", cov(4), unknownTags.text(), "VALID")

	// 5: protected header.
	protected := func(m map[int]any) *code {
		c := g.valid()
		p, err := credential.MarshalDeterministic(m)
		g.must(err)
		c.protected = p
		return c
	}
	g.add("alg-bytes", "alg as a byte string: another type, MALFORMED before step 2", cov(5), protected(map[int]any{1: []byte{0x01}, 4: kid}).text(), "INVALID", "MALFORMED")
	g.add("alg-tagged", "alg -65600 inside a tag", cov(4, 5), protected(map[int]any{1: cbor.Tag{Number: 100, Content: credential.AlgSM2SM3}, 4: kid}).text(), "INVALID", "MALFORMED")
	algUnprot := protected(map[int]any{4: kid})
	algUnprot.unprot = map[any]any{int64(1): int64(credential.AlgSM2SM3)}
	g.add("alg-unprotected-only", "alg only in the unprotected header: absent", cov(5), algUnprot.text(), "INVALID", "MALFORMED")
	g.add("alg-big-negative", "alg -2^64 is an integer, another alg", cov(5), protected(map[int]any{1: cbor.RawMessage{0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 4: kid}).text(), "INVALID", "UNSUPPORTED_ALG")
	g.add("header-crit", "a protected crit parameter: RTC1 defines no critical parameter", cov(5), protected(map[int]any{1: credential.AlgSM2SM3, 2: []any{int64(3)}, 3: "application/cwt", 4: kid}).text(), "INVALID", "MALFORMED")
	g.add("header-unknown-parameter", "other protected parameters (content type) are ignored", cov(5), protected(map[int]any{1: credential.AlgSM2SM3, 3: "application/cwt", 4: kid}).text(), "VALID")
	g.add("kid-text", "kid as text", cov(5), protected(map[int]any{1: credential.AlgSM2SM3, 4: string(kid)}).text(), "INVALID", "MALFORMED")
	g.add("kid-tagged", "kid inside a tag", cov(4, 5), protected(map[int]any{1: credential.AlgSM2SM3, 4: cbor.Tag{Number: 100, Content: kid}}).text(), "INVALID", "MALFORMED")
	g.add("kid-missing-alg-wrong", "no kid and alg -7: MALFORMED in step 1 before step 2 judges the alg", cov(5), protected(map[int]any{1: -7}).text(), "INVALID", "MALFORMED")

	// 6: unprotected header.
	ign := g.valid()
	ign.unprot = map[any]any{int64(1): "not an alg", int64(2): []any{int64(1)}, int64(4): []byte{1, 2, 3}, "x": cbor.Tag{Number: 0, Content: "?"}}
	g.add("unprotected-contents-ignored", "an unprotected header holding a text alg, crit, a 3-byte kid and a tagged value: ignored", cov(6), ign.text(), "VALID")
	g.add("unprotected-array", "an unprotected header that is an array", cov(6), rawText(g.rawCOSE(sz, prot, []byte{0x80}, validPayload())), "INVALID", "MALFORMED")
	g.add("unprotected-duplicate-key", "an unprotected header with a key twice", cov(3, 6), rawText(g.rawCOSE(sz, prot, []byte{0xa2, 0x01, 0x01, 0x01, 0x02}, validPayload())), "INVALID", "MALFORMED")
	g.add("unprotected-tagged", "an unprotected header map inside a tag", cov(4, 6), rawText(g.rawCOSE(sz, prot, []byte{0xd8, 0x64, 0xa0}, validPayload())), "INVALID", "MALFORMED")

	// 7: integer times of a code.
	for _, t := range []struct {
		name, desc string
		key        int64
		v          any
	}{
		{"iat-beyond-int64", "iat 2^63, beyond int64 (step 1)", 6, uint64(1) << 63},
		{"iat-below-int64", "iat -2^63-1, below int64 (step 1)", 6, cbor.RawMessage{0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"iat-bignum", "iat as a bignum (tag 2) (step 1)", 6, cbor.RawMessage{0xc2, 0x44, 0x69, 0x00, 0x00, 0x00}},
		{"exp-beyond-int64", "exp 2^63, beyond int64 (step 6)", 4, uint64(1) << 63},
		{"exp-bignum", "exp as a bignum (tag 2) (step 6)", 4, cbor.RawMessage{0xc2, 0x44, 0x7f, 0x00, 0x00, 0x00}},
		{"exp-float", "exp as a float (step 6)", 4, float64(ts(days(1)))},
	} {
		c := g.valid()
		c.claims[t.key] = t.v
		g.add(t.name, t.desc, cov(7), c.text(), "INVALID", "MALFORMED")
	}
	maxIat := g.valid()
	maxIat.claims[6] = cbor.RawMessage{0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	g.add("iat-int64-min", "iat -2^63 is an int64 (a chain is not valid then)", cov(7), maxIat.text(), "INVALID", "CHAIN_INVALID")
}

// --- 7, 8, 9, 20: claims

func (g *gen) clarifyClaims() {
	mod := func(f func(cl, cr map[int64]any)) *code {
		c := g.valid()
		f(c.claims, c.claims[-70000].(map[int64]any))
		return c
	}
	g.add("claims-exp-before-iat", "exp one second before iat", cov(8), mod(func(cl, _ map[int64]any) { cl[4] = cl[6].(int64) - 1 }).text(), "INVALID", "MALFORMED")
	eq := g.code("sz", vehicle("44030012922026000001", "440300"), vecT.Add(-100*time.Second))
	eq.claims[4] = eq.claims[6]
	g.add("claims-exp-equals-iat", "exp equal to iat is allowed", cov(8), eq.text(), "VALID")
	g.add("claims-until-equals-from", "validUntil equal to validFrom: a one-day licence, valid today", cov(8, 21),
		mod(func(_, cr map[int64]any) { cr[11], cr[12] = "2026-11-27", "2026-11-27" }).text(), "VALID")
	g.add("claims-issued-after-until", "issued may be any date, even after validUntil", cov(8),
		mod(func(_, cr map[int64]any) { cr[10] = "2031-06-01" }).text(), "VALID")
	g.add("claims-plate-colour-empty", "plateColour present but empty", cov(9), mod(func(_, cr map[int64]any) { cr[41] = "" }).text(), "INVALID", "MALFORMED")
	g.add("claims-plate-colour-yellow-green", "plateColour 黄绿", cov(9), mod(func(_, cr map[int64]any) { cr[41] = "黄绿" }).text(), "VALID")
	g.add("claims-date-year-0000", "validFrom in year 0000", cov(9), mod(func(_, cr map[int64]any) { cr[11] = "0000-01-01" }).text(), "INVALID", "MALFORMED")
	g.add("claims-date-year-9999", "validUntil 9999-12-31", cov(9), mod(func(_, cr map[int64]any) { cr[12] = "9999-12-31" }).text(), "VALID")
	g.add("claims-authority-code-fullwidth", "authorityCode and iss in full-width digits", cov(9),
		mod(func(cl, cr map[int64]any) { cr[9], cl[1] = "４４０３００", "４４０３００" }).text(), "INVALID", "MALFORMED")
	g.add("claims-authority-code-not-in-table", "authorityCode 449999 is not checked against GB/T 2260", cov(9),
		g.code("gd", vehicle("44999912922026000001", "449999"), days(-30)).text(), "LIMITED", "STATUS_UNKNOWN")
	g.add("claims-empty-number", "a required text field (number) that is empty", cov(9), mod(func(_, cr map[int64]any) { cr[3] = "" }).text(), "INVALID", "MALFORMED")
	g.add("claims-empty-title", "an optional text field (title) may be empty", cov(9), mod(func(_, cr map[int64]any) { cr[2] = "" }).text(), "VALID")
	k1 := map[int64]any{0: uint64(1), 1: uint64(1), 3: "440304198203151234", 4: "44030012902026000001", 5: "张三", 6: uint64(1),
		7: "440304198203151234", 8: "测试交通运输局", 9: "440300", 11: "2026-01-01", 12: "2029-12-31", 20: []any{"道路危险货物运输驾驶员", ""}}
	g.add("kind1-empty-category", "a category that is empty text", cov(9), g.code("sz", k1, days(-30)).text(), "INVALID", "MALFORMED")

	// 20: step 6 reports MALFORMED and ISSUER_MISMATCH together.
	sc := func(f func(cl, cr map[int64]any)) string {
		c := g.code("sc", vehicle("44030012922026000001", "440300"), days(-30))
		f(c.claims, c.claims[-70000].(map[int64]any))
		return c.text()
	}
	g.add("claims-malformed-and-issuer-mismatch", "a 四川 signer signs a 深圳 licence with an empty holder: both reasons of step 6", cov(20),
		sc(func(_, cr map[int64]any) { cr[5] = "" }), "INVALID", "MALFORMED", "ISSUER_MISMATCH")
	g.add("claims-iss-differs-and-issuer-mismatch", "iss 510100 differs from authorityCode 440300, which is outside the 四川 signer's jurisdiction", cov(20),
		sc(func(cl, _ map[int64]any) { cl[1] = "510100" }), "INVALID", "MALFORMED", "ISSUER_MISMATCH")
	g.add("claims-malformed-code-not-six-digits", "authorityCode 44030 is not six digits: MALFORMED only", cov(20),
		sc(func(cl, cr map[int64]any) { cr[9], cl[1] = "44030", "44030" }), "INVALID", "MALFORMED")
	g.add("claims-malformed-inside-jurisdiction", "a malformed licence inside the signer's jurisdiction: MALFORMED only", cov(20),
		sc(func(cl, cr map[int64]any) { cr[9], cl[1], cr[5] = "510100", "510100", "" }), "INVALID", "MALFORMED")
}

// --- 10, 11: certificate profile

func (g *gen) clarifyProfile() {
	root := g.root
	cred := func(id string) map[int64]any { return vehicle(id, "440100") }
	ca := g.authority(root, caTmpl("测试规格CA", "44", 0x1001, long, longUntil), "ca/profile")
	var b vbundle
	b.cert(ca.DER)

	// 10: key not SM2.
	pk, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{0x17}, 32))
	g.must(err)
	p256 := g.issueRaw(ca, signerTmpl("测试P256签名", 0x1101), &pk.PublicKey)
	b.refuse("CERTIFICATE", p256, "key not SM2")
	p256Signer := &issuer.Signer{DER: p256, Key: g.key("signer/p256-stand-in"), KID: credential.KID(p256)}
	g.addIn("profile", "profile-signer-key-not-sm2", "the signer certificate carries a P-256 key: refused at import", cov(10),
		g.signWith(p256Signer, cred("P-1"), days(-30)).text(), "INVALID", "UNKNOWN_SIGNER")

	// 10: signature not SM2-with-SM3 (SM2 key, ECDSA-with-SHA256 signature).
	notSM3 := g.resignSHA256(ca, g.signerRaw(ca, signerTmpl("测试SHA256签名", 0x1102), "signer/sha256").DER)
	b.refuse("CERTIFICATE", notSM3, "signature ecdsa-with-SHA256, not SM2-with-SM3")
	notSM3Signer := &issuer.Signer{DER: notSM3, Key: g.key("signer/sha256"), KID: credential.KID(notSM3)}
	g.addIn("profile", "profile-signer-signature-not-sm3", "the signer certificate is signed ecdsa-with-SHA256: refused at import", cov(10),
		g.signWith(notSM3Signer, cred("P-2"), days(-30)).text(), "INVALID", "UNKNOWN_SIGNER")

	// 10: keyUsage without digitalSignature.
	t := signerTmpl("测试无数字签名用途", 0x1103)
	t.KeyUsage = x509.KeyUsageKeyEncipherment
	noDS := g.signerRaw(ca, t, "signer/no-ds")
	b.refuse("CERTIFICATE", noDS.DER, "keyUsage lacks digitalSignature")
	g.addIn("profile", "profile-signer-without-digital-signature", "a signer whose keyUsage lacks digitalSignature: refused at import", cov(10),
		g.signWith(noDS, cred("P-3"), days(-30)).text(), "INVALID", "UNKNOWN_SIGNER")

	// 10: CA=true: a CA certificate, never a signer.
	t = signerTmpl("测试CA标志签名", 0x1104)
	t.IsCA, t.KeyUsage = true, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign
	caNoPrefix := g.signerRaw(ca, t, "signer/ca-no-prefix")
	b.refuse("CERTIFICATE", caNoPrefix.DER, "CA=true without a jurisdiction prefix: fails the CA rules")
	g.addIn("profile", "profile-ca-flag-refused", "a would-be signer with CA=true and no prefix is refused as a CA", cov(10),
		g.signWith(caNoPrefix, cred("P-4"), days(-30)).text(), "INVALID", "UNKNOWN_SIGNER")
	t = caTmpl("测试CA标志签名二", "4401", 0x1105, long, longUntil)
	t.KeyUsage |= x509.KeyUsageDigitalSignature
	caAsSigner := g.signerRaw(ca, t, "signer/ca-with-prefix")
	b.cert(caAsSigner.DER)
	g.addIn("profile", "profile-ca-flag-not-a-signer", "a certificate with CA=true that meets the CA rules is stored as a CA; its kid is not a signer's", cov(10),
		g.signWith(caAsSigner, cred("P-5"), days(-30)).text(), "INVALID", "UNKNOWN_SIGNER")

	// 10: no basicConstraints at all: a signer.
	t = signerTmpl("测试无基本约束签名", 0x1106)
	t.BasicConstraintsValid = false
	noBC := g.signerRaw(ca, t, "signer/no-bc")
	b.cert(noBC.DER)
	b.list(g.emptyList(noBC, "440100", 1))
	g.addIn("profile", "profile-signer-without-basic-constraints", "a signer without basicConstraints (CA=false implied) is a signer", cov(10),
		g.signWith(noBC, cred("P-6"), days(-30)).text(), "VALID")

	// 11: critical extensions.
	t = signerTmpl("测试关键扩展签名", 0x1107)
	t.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 156, 999, 1}, Critical: true, Value: []byte{0x05, 0x00}}}
	critical := g.signerRaw(ca, t, "signer/critical")
	b.refuse("CERTIFICATE", critical.DER, "a critical private extension")
	g.addIn("profile", "profile-critical-extension", "a signer with a critical extension other than basicConstraints and keyUsage", cov(11),
		g.signWith(critical, cred("P-7"), days(-30)).text(), "INVALID", "UNKNOWN_SIGNER")
	t = signerTmpl("测试非关键扩展签名", 0x1108)
	t.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 156, 999, 1}, Critical: false, Value: []byte{0x05, 0x00}}}
	nonCritical := g.signerRaw(ca, t, "signer/non-critical")
	b.cert(nonCritical.DER)
	g.addIn("profile", "profile-non-critical-extension", "the same extension, not critical, is ignored", cov(11),
		g.signWith(nonCritical, cred("P-8"), days(-30)).text(), "VALID")
	t = caTmpl("测试名称约束CA", "44", 0x1109, long, longUntil)
	t.PermittedDNSDomainsCritical, t.PermittedDNSDomains = true, []string{"example.cn"}
	nc := g.authority(root, t, "ca/name-constraints")
	ncSigner := g.signerRaw(nc, signerTmpl("测试名称约束签名", 0x110a), "signer/name-constraints")
	b.refuse("CERTIFICATE", nc.DER, "critical name constraints")
	b.refuse("CERTIFICATE", ncSigner.DER, "its only issuer was refused")
	g.addIn("profile", "profile-critical-name-constraints", "a CA with critical name constraints is refused, and so is its signer", cov(11),
		g.signWith(ncSigner, cred("P-9"), days(-30)).text(), "INVALID", "UNKNOWN_SIGNER")

	// 11: pathLenConstraint.
	zero := caTmpl("测试路径长度零CA", "44", 0x110b, long, longUntil)
	zero.MaxPathLen, zero.MaxPathLenZero = 0, true
	pl0 := g.authority(root, zero, "ca/pathlen-0")
	b.cert(pl0.DER)
	sub0 := g.authority(pl0, caTmpl("测试路径零下级CA", "4401", 0x110c, long, longUntil), "ca/pathlen-0-sub")
	b.refuse("CERTIFICATE", sub0.DER, "pathLenConstraint 0 of its issuer allows no CA below it")
	sub0Signer := g.signerRaw(sub0, signerTmpl("测试路径零下级签名", 0x110d), "signer/pathlen-0-sub")
	b.refuse("CERTIFICATE", sub0Signer.DER, "its only issuer was refused")
	pl0Signer := g.signerRaw(pl0, signerTmpl("测试路径零签名", 0x110e), "signer/pathlen-0")
	b.cert(pl0Signer.DER)
	b.list(g.emptyList(pl0Signer, "440100", 1))
	g.addIn("profile", "pathlen-zero-sub-ca", "a CA below a CA with pathLenConstraint 0 is refused, and its signer with it", cov(11),
		g.signWith(sub0Signer, cred("P-10"), days(-30)).text(), "INVALID", "UNKNOWN_SIGNER")
	g.addIn("profile", "pathlen-zero-signer", "a signer directly below a CA with pathLenConstraint 0 is fine", cov(11),
		g.signWith(pl0Signer, cred("P-11"), days(-30)).text(), "VALID")
	one := caTmpl("测试路径长度一CA", "44", 0x110f, long, longUntil)
	one.MaxPathLen = 1
	pl1 := g.authority(root, one, "ca/pathlen-1")
	sub1 := g.authority(pl1, caTmpl("测试路径一下级CA", "4401", 0x1110, long, longUntil), "ca/pathlen-1-sub")
	sub1Signer := g.signerRaw(sub1, signerTmpl("测试路径一下级签名", 0x1111), "signer/pathlen-1-sub")
	b.cert(pl1.DER)
	b.cert(sub1.DER)
	b.cert(sub1Signer.DER)
	b.list(g.emptyList(sub1Signer, "440100", 1))
	g.addIn("profile", "pathlen-one-sub-ca", "one CA below a CA with pathLenConstraint 1 is allowed", cov(11),
		g.signWith(sub1Signer, cred("P-12"), days(-30)).text(), "VALID")
	g.writeContextImports("profile", &b)
}

// addIn adds a case in context ctx at vecT.
func (g *gen) addIn(ctx, name, desc string, covers []string, qr, verdict string, reasons ...string) {
	g.addAt(name, desc, covers, ctx, vecT, qr, verdict, reasons...)
}

// resignSHA256 turns der into a certificate signed ecdsa-with-SHA256 by
// ca's SM2 key (an ECDSA signature over the SHA-256 digest, on the SM2
// curve): well formed, but not SM2-with-SM3.
func (g *gen) resignSHA256(ca *issuer.Authority, der []byte) []byte {
	sm3OID := []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75}
	shaOID := []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}
	var cert struct {
		TBS    asn1.RawValue
		SigAlg pkix.AlgorithmIdentifier
		Sig    asn1.BitString
	}
	_, err := asn1.Unmarshal(der, &cert)
	g.must(err)
	tbs := bytes.Replace(cert.TBS.FullBytes, sm3OID, shaOID, 1)
	digest := sha256.Sum256(tbs)
	sig, err := sm2.SignASN1(g.rand(), ca.Key.Signer(), digest[:], crypto.SHA256)
	g.must(err)
	out, err := asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg pkix.AlgorithmIdentifier
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	g.must(err)
	return out
}

// --- 12: one CA, several certificates

func (g *gen) clarifyOneCA() {
	root := g.root
	var b vbundle
	// A renewed CA: two certificates, same Subject, same key.
	r1 := g.authority(root, caTmpl("测试续期CA", "44", 0x1201, long, days(-100)), "ca/renewed")
	r2 := g.authority(root, caTmpl("测试续期CA", "44", 0x1202, days(-150), longUntil), "ca/renewed")
	b.cert(r1.DER)
	b.cert(r2.DER)
	sr := g.signerRaw(r1, signerTmpl("测试续期被吊销签名", 0x1203), "signer/renewed-revoked")
	sc := g.signerRaw(r2, signerTmpl("测试续期签名", 0x1204), "signer/renewed")
	sl := g.signerRaw(r2, signerTmpl("测试续期清单签名", 0x1205), "signer/renewed-list")
	b.cert(sr.DER)
	b.cert(sc.DER)
	b.cert(sl.DER)
	crl, err := r1.CRL(g.rand(), 1, days(-1), days(29), []issuer.Revocation{{Serial: sr.Cert.SerialNumber, At: days(-5)}})
	g.must(err)
	b.crl(crl)
	// thisUpdate days(-1): only r2 is valid then, so the list's chain runs
	// through r2.
	b.list(g.emptyList(sl, "440100", 1, "V-ONE-CA"))
	// A key rollover: same Subject, another key: another CA.
	kOld := g.authority(root, caTmpl("测试换钥CA", "44", 0x1206, long, longUntil), "ca/rollover-old")
	kNew := g.authority(root, caTmpl("测试换钥CA", "44", 0x1207, long, longUntil), "ca/rollover-new")
	b.cert(kOld.DER)
	b.cert(kNew.DER)
	so := g.signerRaw(kOld, signerTmpl("测试旧钥签名", 0x77), "signer/rollover-old")
	sn := g.signerRaw(kNew, signerTmpl("测试新钥签名", 0x77), "signer/rollover-new")
	b.cert(so.DER)
	b.cert(sn.DER)
	oldCRL, err := kOld.CRL(g.rand(), 1, days(-1), days(29), []issuer.Revocation{{Serial: big.NewInt(0x77), At: days(-5)}})
	g.must(err)
	b.crl(oldCRL)
	b.list(g.emptyList(sn, "440100", 1))
	g.writeContextImports("one-ca", &b)
	cred := func(id string) map[int64]any { return vehicle(id, "440100") }
	g.addIn("one-ca", "one-ca-crl-other-certificate", "the CA's CRL (verified with its key, found first under its older certificate) revokes a signer whatever certificate of the CA its chain passes through",
		cov(12), g.signWith(sr, cred("V-ONE-CA-2"), days(-120)).text(), "INVALID", "SIGNER_REVOKED")
	g.addIn("one-ca", "one-ca-status-list-other-certificate", "a list whose signer chains through the renewed certificate applies to a code whose chain passes through the older one",
		cov(12), g.signWith(sc, cred("V-ONE-CA"), days(-200)).text(), "INVALID", "LICENCE_REVOKED")
	g.addIn("one-ca", "one-ca-status-list-same-certificate", "the same list, a code whose chain passes through the renewed certificate",
		cov(12), g.signWith(sc, cred("V-ONE-CA"), days(-30)).text(), "INVALID", "LICENCE_REVOKED")
	g.addIn("one-ca", "key-rollover-crl-own-ca", "a CRL belongs to the CA whose key verifies it: it revokes serial 0x77 of the old key's CA",
		cov(12), g.signWith(so, cred("V-ROLL-1"), days(-30)).text(), "INVALID", "SIGNER_REVOKED")
	g.addIn("one-ca", "key-rollover-crl-other-ca", "the same Subject with another key is another CA: the old key's CRL does not revoke serial 0x77 of the new key",
		cov(12), g.signWith(sn, cred("V-ROLL-2"), days(-30)).text(), "VALID")
}

// --- 13: several chains

func (g *gen) clarifyChains() {
	root := g.root
	cross := g.authority(root, caTmpl("测试交叉认证CA", "00", 0x1301, long, longUntil), "ca/cross")
	pair := func(cn, key string, aUntil time.Time, serial int64) (a, b *issuer.Authority) {
		a = g.authority(root, caTmpl(cn, "44", serial, long, aUntil), key)
		b = g.authority(cross, caTmpl(cn, "44", serial+1, long, longUntil), key)
		return a, b
	}
	a1, b1 := pair("测试多链甲CA", "ca/multi-1", longUntil, 0x1310)
	a2, b2 := pair("测试多链乙CA", "ca/multi-2", days(-100), 0x1320)
	s1 := g.signerRaw(a1, signerTmpl("测试多链甲签名", 0x1311), "signer/multi-1")
	t := signerTmpl("测试多链甲过期签名", 0x1312)
	t.NotBefore, t.NotAfter = days(-1000), days(-100)
	s1x := g.signerRaw(a1, t, "signer/multi-1-expired")
	s2 := g.signerRaw(a2, signerTmpl("测试多链乙签名", 0x1321), "signer/multi-2")
	t = signerTmpl("测试多链乙过期签名", 0x1322)
	t.NotBefore, t.NotAfter = days(-1000), days(-100)
	s2x := g.signerRaw(a2, t, "signer/multi-2-expired")
	var b vbundle
	for _, der := range [][]byte{cross.DER, a1.DER, b1.DER, a2.DER, b2.DER, s1.DER, s1x.DER, s2.DER, s2x.DER} {
		b.cert(der)
	}
	crossCRL, err := cross.CRL(g.rand(), 1, days(-1), days(29), []issuer.Revocation{{Serial: b1.Cert.SerialNumber, At: days(-5)}, {Serial: b2.Cert.SerialNumber, At: days(-5)}})
	g.must(err)
	b.crl(crossCRL)
	p1CRL, err := a1.CRL(g.rand(), 1, days(-1), days(29), []issuer.Revocation{{Serial: s1x.Cert.SerialNumber, At: days(-5)}})
	g.must(err)
	b.crl(p1CRL)
	b.list(g.emptyList(s1, "440100", 1))
	g.writeContextImports("multichain", &b)
	cred := func(id string) map[int64]any { return vehicle(id, "440100") }
	g.addIn("multichain", "multi-chain-one-revoked", "two chains (through the root and through a cross-certificate); the cross-certificate is revoked, the other chain passes",
		cov(13), g.signWith(s1, cred("M-1"), days(-30)).text(), "VALID")
	g.addIn("multichain", "multi-chain-valid-chain-revoked", "the chain through the root is not valid at iat, the chain through the revoked cross-certificate is: SIGNER_REVOKED only",
		cov(13), g.signWith(s2, cred("M-2"), days(-30)).text(), "INVALID", "SIGNER_REVOKED")
	g.addIn("multichain", "multi-chain-none-valid-one-revoked", "no chain is valid at iat and only one has a listed certificate: CHAIN_INVALID only",
		cov(13), g.signWith(s2x, cred("M-3"), days(-30)).text(), "INVALID", "CHAIN_INVALID")
	g.addIn("multichain", "multi-chain-none-valid-all-revoked", "no chain is valid at iat and every chain has a listed certificate (the signer, on its CA's CRL): both reasons",
		cov(13, 20), g.signWith(s1x, cred("M-4"), days(-30)).text(), "INVALID", "CHAIN_INVALID", "SIGNER_REVOKED")

	// TRUST_STALE looks at the CRLs of every chain that passes.
	crossS := g.authority(root, caTmpl("测试交叉认证CA二", "00", 0x1330, long, longUntil), "ca/cross-2")
	a3 := g.authority(root, caTmpl("测试多链丙CA", "44", 0x1331, long, longUntil), "ca/multi-3")
	b3 := g.authority(crossS, caTmpl("测试多链丙CA", "44", 0x1332, long, longUntil), "ca/multi-3")
	s3 := g.signerRaw(a3, signerTmpl("测试多链丙签名", 0x1333), "signer/multi-3")
	var st vbundle
	for _, der := range [][]byte{crossS.DER, a3.DER, b3.DER, s3.DER} {
		st.cert(der)
	}
	staleCRL, err := crossS.CRL(g.rand(), 1, days(-40), days(-10), nil)
	g.must(err)
	st.crl(staleCRL)
	st.list(g.emptyList(s3, "440100", 1))
	g.writeContextImports("multichain-stale", &st)
	g.addIn("multichain-stale", "multi-chain-stale-crl-on-other-chain", "both chains pass; the CRL of the cross-certifying CA on the second chain is past its nextUpdate",
		cov(13), g.signWith(s3, cred("M-5"), days(-30)).text(), "LIMITED", "TRUST_STALE")
}

// --- 14: CRLs

func (g *gen) clarifyCRLs() {
	root := g.root
	var b vbundle
	t := caTmpl("测试无吊销签名权CA", "44", 0x1401, long, longUntil)
	t.KeyUsage = x509.KeyUsageCertSign
	noSign := g.authority(root, t, "ca/no-crlsign")
	sn := g.signerRaw(noSign, signerTmpl("测试无吊销签名权签名", 0x1402), "signer/no-crlsign")
	b.cert(noSign.DER)
	b.cert(sn.DER)
	// x509 will not sign a CRL for a certificate without cRLSign: sign it
	// with the CA's key through a copy of its certificate that has it.
	patched := *noSign.Cert
	patched.KeyUsage |= x509.KeyUsageCRLSign
	crl, err := (&issuer.Authority{Cert: &patched, Key: noSign.Key}).CRL(g.rand(), 1, days(-1), days(29), []issuer.Revocation{{Serial: sn.Cert.SerialNumber, At: days(-5)}})
	g.must(err)
	b.refuse("X509 CRL", crl, "its CA's keyUsage lacks cRLSign")
	b.list(g.emptyList(sn, "440100", 1))
	noNext := g.authority(root, caTmpl("测试无下次更新CA", "44", 0x1403, long, longUntil), "ca/no-next-update")
	su := g.signerRaw(noNext, signerTmpl("测试无下次更新签名", 0x1404), "signer/no-next-update")
	b.cert(noNext.DER)
	b.cert(su.DER)
	b.crl(g.crlWithoutNextUpdate(noNext))
	b.list(g.emptyList(su, "440100", 1))
	g.writeContextImports("crl-rules", &b)
	cred := func(id string) map[int64]any { return vehicle(id, "440100") }
	g.addIn("crl-rules", "crl-without-crlsign-refused", "a CRL of a CA whose keyUsage lacks cRLSign is refused: the signer it lists is not revoked",
		cov(14), g.signWith(sn, cred("C-1"), days(-30)).text(), "VALID")
	g.addIn("crl-rules", "crl-without-next-update-stale", "a stored CRL without nextUpdate is always stale",
		cov(14), g.signWith(su, cred("C-2"), days(-30)).text(), "LIMITED", "TRUST_STALE")
}

// crlWithoutNextUpdate issues a CRL of a with no nextUpdate (x509 cannot
// write one): the TBSCertList of a normal CRL without its nextUpdate,
// signed again.
func (g *gen) crlWithoutNextUpdate(a *issuer.Authority) []byte {
	der, err := a.CRL(g.rand(), 1, days(-1), days(29), nil)
	g.must(err)
	var crl struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}
	_, err = asn1.Unmarshal(der, &crl)
	g.must(err)
	// TBSCertList: version, signature, issuer, thisUpdate, nextUpdate, ...
	rest := crl.TBS.Bytes
	var fields [][]byte
	for len(rest) > 0 {
		var v asn1.RawValue
		rest, err = asn1.Unmarshal(rest, &v)
		g.must(err)
		fields = append(fields, v.FullBytes)
	}
	if len(fields) < 5 || (fields[4][0] != asn1.TagUTCTime && fields[4][0] != asn1.TagGeneralizedTime) {
		g.t.Fatal("unexpected TBSCertList layout")
	}
	fields = append(fields[:4], fields[5:]...)
	tbs, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: bytes.Join(fields, nil)})
	g.must(err)
	sig, err := sm2.SignASN1(g.rand(), a.Key.Signer(), tbs, sm2.DefaultSM2SignerOpts)
	g.must(err)
	out, err := asn1.Marshal(struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, crl.SigAlg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	g.must(err)
	rl, err := smx509.ParseRevocationList(out)
	g.must(err)
	if !rl.NextUpdate.IsZero() || rl.CheckSignatureFrom(a.Cert) != nil {
		g.t.Fatal("CRL without nextUpdate did not come out right")
	}
	return out
}

// --- 15, 16: re-import and unknown block types

func (g *gen) clarifyReimport() {
	ca := g.authority(g.root, caTmpl("测试重导CA", "44", 0x1501, long, longUntil), "ca/reimport")
	sg := g.signerRaw(ca, signerTmpl("测试重导签名", 0x1502), "signer/reimport")
	sr := g.signerRaw(ca, signerTmpl("测试重导被吊销签名", 0x1503), "signer/reimport-revoked")
	crl1, err := ca.CRL(g.rand(), 1, days(-10), days(20), nil)
	g.must(err)
	crl2, err := ca.CRL(g.rand(), 2, days(-1), days(29), []issuer.Revocation{{Serial: sr.Cert.SerialNumber, At: days(-2)}})
	g.must(err)
	h := credential.IDHash
	full := g.list(sg, credential.StatusList{Issuer: "440100", Sequence: 1, ThisUpdate: ts(days(-3)), NextUpdate: ts(days(4)),
		Entries: []credential.StatusEntry{{IDHash: h("V-RE-1"), Status: credential.StatusRevoked, Since: ts(days(-10))}}})
	delta := g.list(sg, credential.StatusList{Issuer: "440100", Sequence: 2, Base: 1, ThisUpdate: ts(days(-1)), NextUpdate: ts(days(6)),
		Entries: []credential.StatusEntry{{IDHash: h("V-RE-2"), Status: credential.StatusRevoked, Since: ts(days(-2))}}})
	other := g.list(sg, credential.StatusList{Issuer: "440100", Sequence: 2, ThisUpdate: ts(days(-1)), NextUpdate: ts(days(6)),
		Entries: []credential.StatusEntry{{IDHash: h("V-RE-3"), Status: credential.StatusRevoked, Since: ts(days(-2))}}})
	keyDER, err := g.key("signer/reimport").MarshalPKCS8()
	g.must(err)

	var b1, b2, b3, b4 vbundle
	b1.cert(ca.DER)
	b1.cert(sg.DER)
	b1.cert(sr.DER)
	b1.crl(crl1)
	b1.list(full)
	b1.list(delta)
	b1.refuse("PRIVATE KEY", keyDER, "a PEM block of another type")
	b1.refuse("RTC STATUS LIST V2", []byte{0xa0}, "a PEM block of another type")
	b2.crl(crl2)
	b3.same("CERTIFICATE", g.root.DER)
	b3.same("CERTIFICATE", ca.DER)
	b3.same("CERTIFICATE", sg.DER)
	b3.same("CERTIFICATE", sr.DER)
	b3.same("X509 CRL", crl2)
	b3.same("RTC STATUS LIST", full)
	b3.same("RTC STATUS LIST", delta)
	b4.refuse("X509 CRL", crl1, "a CRL older than the stored one")
	b4.refuse("RTC STATUS LIST", other, "another list with the stored sequence (rollback)")
	g.writeContextImports("reimport", &b1, &b2, &b3, &b4)
	cred := func(id string) map[int64]any { return vehicle(id, "440100") }
	g.addIn("reimport", "reimport-delta-still-applies", "after importing everything again the delta's revocation stands", cov(15),
		g.signWith(sg, cred("V-RE-2"), days(-30)).text(), "INVALID", "LICENCE_REVOKED")
	g.addIn("reimport", "reimport-full-list-still-applies", "after importing everything again the full list's revocation stands", cov(15),
		g.signWith(sg, cred("V-RE-1"), days(-30)).text(), "INVALID", "LICENCE_REVOKED")
	g.addIn("reimport", "reimport-rollback-refused", "a different list with the stored sequence is refused", cov(15),
		g.signWith(sg, cred("V-RE-3"), days(-30)).text(), "VALID")
	g.addIn("reimport", "reimport-newest-crl-stays", "an older CRL imported after the newer one does not replace it", cov(15),
		g.signWith(sr, cred("V-RE-4"), days(-30)).text(), "INVALID", "SIGNER_REVOKED")
	g.addIn("reimport", "unknown-block-type-skipped", "blocks of other types in the bundle are reported and skipped; the rest is stored", cov(16),
		g.signWith(sg, cred("V-RE-5"), days(-30)).text(), "VALID")
}

// --- 7, 9, 17: list import rules

func (g *gen) clarifyLists() {
	root := g.root
	ca := g.authority(root, caTmpl("测试清单CA", "44", 0x1701, long, longUntil), "ca/lists")
	bad := g.authority(root, caTmpl("测试清单撤销CA", "44", 0x1702, long, longUntil), "ca/lists-revoked")
	sg := g.signerRaw(ca, signerTmpl("测试清单签名", 0x1703), "signer/lists")
	sr := g.signerRaw(ca, signerTmpl("测试清单被吊销签名", 0x1704), "signer/lists-revoked")
	sx := g.signerRaw(bad, signerTmpl("测试清单撤销CA签名", 0x1705), "signer/lists-ca-revoked")
	var b vbundle
	for _, der := range [][]byte{ca.DER, bad.DER, sg.DER, sr.DER, sx.DER} {
		b.cert(der)
	}
	// Revocations dated after the lists' thisUpdate: they count anyway.
	caCRL, err := ca.CRL(g.rand(), 1, days(-1), days(29), []issuer.Revocation{{Serial: sr.Cert.SerialNumber, At: days(-1).Add(time.Hour)}})
	g.must(err)
	rootCRL, err := root.CRL(g.rand(), 1, days(-1), days(89), []issuer.Revocation{{Serial: bad.Cert.SerialNumber, At: days(-1).Add(time.Hour)}})
	g.must(err)
	b.crl(caCRL)
	b.crl(rootCRL)
	this, next := ts(days(-2)), ts(days(5))
	payload := func(issuerCode string, seq, base uint64, entries ...any) map[any]any {
		return map[any]any{int64(1): issuerCode, int64(2): seq, int64(3): base, int64(4): this, int64(5): next, int64(6): entries}
	}
	since := ts(days(-10))
	b.refuse("RTC STATUS LIST", g.rawList(sr, payload("440101", 1, 0, entry("L-101", 1, since))), "its signer is on its CA's CRL")
	b.refuse("RTC STATUS LIST", g.rawList(sx, payload("440102", 1, 0, entry("L-102", 1, since))), "its signer's CA is on the root's CRL")
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("440103", 0, 0, entry("L-103", 1, since))), "sequence 0")
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("440104", 3, 3, entry("L-104", 1, since))), "base not below sequence")
	p := payload("440105", 1, 0, entry("L-105", 1, since))
	p[int64(5)] = this - 1
	b.refuse("RTC STATUS LIST", g.rawList(sg, p), "nextUpdate before thisUpdate")
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("440106", 1, 0, entry("L-106", 1, since), entry("L-106", 2, since))), "an idHash twice")
	p = payload("440107", 1, 0, entry("L-107", 1, since))
	p[int64(7)], p["x"], p[int64(-1)] = "future", cbor.Tag{Number: 0, Content: "?"}, []any{uint64(1)}
	b.list(g.rawList(sg, p))
	b.list(g.rawList(sg, payload("440108", 5, 0, entry("L-108A", 1, since))))
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("440108", 5, 0, entry("L-108B", 1, since))), "the same sequence as the list before it (rollback)")
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("440109", 1, 0, entry("L-109", 1, cbor.RawMessage{0xc2, 0x44, 0x69, 0, 0, 0}))), "since as a bignum")
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("440110", 1, 0, entry("L-110", 1, uint64(math.MaxInt64)+1))), "since beyond int64")
	p = payload("440111", 1, 0, entry("L-111", 1, since))
	p[int64(4)] = cbor.Tag{Number: 1, Content: this}
	b.refuse("RTC STATUS LIST", g.rawList(sg, p), "thisUpdate as an epoch-time tag")
	p = payload("440112", 1, 0, entry("L-112", 1, since))
	p[int64(5)] = cbor.RawMessage{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	b.refuse("RTC STATUS LIST", g.rawList(sg, p), "nextUpdate beyond int64")
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("44011", 1, 0, entry("L-113", 1, since))), "issuer of five digits")
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("４４０１１４", 1, 0, entry("L-114", 1, since))), "issuer in full-width digits")
	b.refuse("RTC STATUS LIST", g.rawList(sg, payload("440115", 1, 0, entry("L-115", 3, since))), "status 3")
	g.writeContextImports("list-rules", &b)
	code := func(id, auth string) string { return g.signWith(sg, vehicle(id, auth), days(-30)).text() }
	for _, t := range []struct{ name, desc, id, auth string }{
		{"list-refused-revoked-signer", "a list whose signer is on its CA's CRL (revoked after the list's thisUpdate) is refused", "L-101", "440101"},
		{"list-refused-sequence-0", "a list with sequence 0 is refused", "L-103", "440103"},
		{"list-refused-base-not-below-sequence", "a delta whose base is not below its sequence is refused", "L-104", "440104"},
		{"list-refused-next-before-this", "a list whose nextUpdate is before its thisUpdate is refused", "L-105", "440105"},
		{"list-refused-duplicate-idhash", "a list holding an idHash twice is refused whole", "L-106", "440106"},
		{"list-refused-since-bignum", "a list with a bignum since is refused (clarification 7)", "L-109", "440109"},
		{"list-refused-since-beyond-int64", "a list with a since beyond int64 is refused (clarification 7)", "L-110", "440110"},
		{"list-refused-this-update-tagged", "a list whose thisUpdate is tagged is refused (clarifications 4, 7)", "L-111", "440111"},
		{"list-refused-next-update-beyond-int64", "a list whose nextUpdate is beyond int64 is refused (clarification 7)", "L-112", "440112"},
		{"list-refused-status-3", "a list with a status 3 is refused whole", "L-115", "440115"},
	} {
		g.addIn("list-rules", t.name, t.desc+": its licences have no status", cov(17, 7, 9), code(t.id, t.auth), "LIMITED", "STATUS_UNKNOWN")
	}
	g.addIn("list-rules", "list-unknown-payload-keys-ignored", "a list with unknown payload keys (integer, text, tagged) is stored", cov(17),
		code("L-107", "440107"), "INVALID", "LICENCE_REVOKED")
	g.addIn("list-rules", "list-equal-sequence-first-applies", "of two lists of one issuer with equal sequences, the first in block order applies", cov(17),
		code("L-108A", "440108"), "INVALID", "LICENCE_REVOKED")
	g.addIn("list-rules", "list-equal-sequence-later-refused", "and the later, different one is a rollback", cov(17),
		code("L-108B", "440108"), "VALID")
}

// --- 18: idHash over the bytes as encoded

func (g *gen) clarifyIDHash() {
	composed, decomposed := "44030012922026ÉTÉ", "44030012922026E\u0301TE\u0301"
	var b vbundle
	b.cert(g.cas["测试广东CA"].DER)
	b.cert(g.cas["测试深圳CA"].DER)
	b.cert(g.signers["sz"].DER)
	b.list(g.list(g.signers["sz"], credential.StatusList{Issuer: "440300", Sequence: 1, ThisUpdate: ts(days(-1)), NextUpdate: ts(days(6)),
		Entries: []credential.StatusEntry{{IDHash: credential.IDHash(composed), Status: credential.StatusRevoked, Since: ts(days(-10))}}}))
	g.writeContextImports("idhash", &b)
	g.addIn("idhash", "idhash-exact-bytes", "the list revokes the id as encoded (precomposed É)", cov(18),
		g.code("sz", vehicle(composed, "440300"), days(-30)).text(), "INVALID", "LICENCE_REVOKED")
	g.addIn("idhash", "idhash-no-normalisation", "the same id in decomposed form (E + U+0301) is another idHash: no Unicode normalisation", cov(18),
		g.code("sz", vehicle(decomposed, "440300"), days(-30)).text(), "VALID")
}

// --- 19: status history

func (g *gen) clarifyHistory() {
	sz := g.signers["sz"]
	h := credential.IDHash
	var b vbundle
	b.cert(g.cas["测试广东CA"].DER)
	b.cert(g.cas["测试深圳CA"].DER)
	b.cert(sz.DER)
	b.list(g.list(sz, credential.StatusList{Issuer: "440300", Sequence: 1, ThisUpdate: ts(days(-3)), NextUpdate: ts(days(4)),
		Entries: []credential.StatusEntry{
			{IDHash: h("H-LIFT"), Status: credential.StatusRevoked, Since: ts(days(-10))},
			{IDHash: h("H-LATE"), Status: credential.StatusRevoked, Since: ts(vecT.Add(time.Hour))},
			{IDHash: h("H-SWAP"), Status: credential.StatusSuspended, Since: ts(days(-10))},
		}}))
	b.list(g.list(sz, credential.StatusList{Issuer: "440300", Sequence: 2, Base: 1, ThisUpdate: ts(days(-1)), NextUpdate: ts(days(6)),
		Entries: []credential.StatusEntry{
			{IDHash: h("H-LIFT"), Status: credential.StatusActive, Since: ts(vecT.Add(time.Hour))},
			{IDHash: h("H-LATE"), Status: credential.StatusSuspended, Since: ts(days(-1))},
			{IDHash: h("H-SWAP"), Status: credential.StatusRevoked, Since: ts(vecT.Add(time.Hour))},
		}}))
	b.list(g.list(sz, credential.StatusList{Issuer: "440301", Sequence: 1, ThisUpdate: ts(days(-3)), NextUpdate: ts(days(4)),
		Entries: []credential.StatusEntry{{IDHash: h("H-RESET"), Status: credential.StatusRevoked, Since: ts(days(-10))}}}))
	b.list(g.list(sz, credential.StatusList{Issuer: "440301", Sequence: 2, ThisUpdate: ts(days(-1)), NextUpdate: ts(days(6))}))
	g.writeContextImports("history", &b)
	v := func(id, auth string) string { return g.code("sz", vehicle(id, auth), days(-30)).text() }
	later := vecT.Add(2 * time.Hour)
	g.addIn("history", "status-lift-not-yet", "a status-0 entry with a future since does not yet lift the revocation", cov(19),
		v("H-LIFT", "440300"), "INVALID", "LICENCE_REVOKED")
	g.addAt("status-lift-later", "after its since the status-0 entry lifts it", cov(19), "history", later, v("H-LIFT", "440300"), "VALID")
	g.addIn("history", "status-later-entry-earlier-since", "a revocation with a future since, then a suspension applied later with a past since: suspended now", cov(19),
		v("H-LATE", "440300"), "INVALID", "LICENCE_SUSPENDED")
	g.addAt("status-later-entry-wins", "once both are in effect the entry applied last (the suspension) gives the status", cov(19), "history", later,
		v("H-LATE", "440300"), "INVALID", "LICENCE_SUSPENDED")
	g.addIn("history", "status-change-not-yet", "a suspension stays until the revocation that replaces it takes effect", cov(19),
		v("H-SWAP", "440300"), "INVALID", "LICENCE_SUSPENDED")
	g.addAt("status-change-later", "then the revocation applies", cov(19), "history", later, v("H-SWAP", "440300"), "INVALID", "LICENCE_REVOKED")
	g.addIn("history", "status-full-list-resets", "a new full list replaces all earlier entries: the revocation of the first full list is gone", cov(19),
		v("H-RESET", "440301"), "VALID")
}

// --- 21: the check time is an instant

func (g *gen) clarifyTime() {
	licence := func(from, until string) string {
		cred := vehicle("44030012922026000001", "440300")
		cred[11], cred[12] = from, until
		return g.code("sz", cred, days(-30)).text()
	}
	g.addAt("licence-last-millisecond", "23:59:59.999 UTC+8 on validUntil is still within the day", cov(21), "main",
		time.Date(2026, 11, 27, 23, 59, 59, 999_000_000, cst), licence("2020-01-01", "2026-11-27"), "VALID")
	g.addAt("licence-before-midnight-fraction", "23:59:59.999 UTC+8 the day before validFrom is before it", cov(21), "main",
		time.Date(2026, 11, 27, 23, 59, 59, 999_000_000, cst), licence("2026-11-28", "2030-01-01"), "INVALID", "LICENCE_NOT_YET_VALID")
	dyn := g.code("sz", vehicle("44030012922026000001", "440300"), vecT.Add(-10*time.Minute))
	dyn.claims[4] = ts(vecT) - 300
	dynText := dyn.text()
	g.addAt("dynamic-exp-fraction-expired", "exp 300.5 s before the check time: expired (the fraction counts)", cov(21), "main",
		vecT.Add(500*time.Millisecond), dynText, "INVALID", "CODE_EXPIRED")
	g.addAt("dynamic-exp-exact-skew", "exp exactly 300 s before the check time: within the skew", cov(21), "main", vecT, dynText, "VALID")
	iat := g.code("sz", vehicle("44030012922026000001", "440300"), vecT.Add(300*time.Second)).text()
	g.addAt("iat-fraction-not-yet-valid", "iat 300.5 s after the check time", cov(21), "main", vecT.Add(-500*time.Millisecond), iat, "INVALID", "CODE_NOT_YET_VALID")
	future := g.code("sz", vehicle("V-FUTURE", "440300"), days(-30)).text()
	g.addAt("status-since-fraction-before", "half a second before an entry's since it is not in effect", cov(21), "main",
		vecT.Add(time.Hour-500*time.Millisecond), future, "VALID")
	g.addAt("status-since-exact", "at its since it is", cov(21, 19), "main", vecT.Add(time.Hour), future, "INVALID", "LICENCE_REVOKED")
	plain := g.code("sz", vehicle("44030012922026000009", "440300"), days(-30)).text()
	g.addPolicy("status-next-update-fraction", "half a second after the list's nextUpdate it is stale", cov(21), "main",
		days(6).Add(500*time.Millisecond), 30*24*3600, plain, "LIMITED", "TRUST_STALE")
	g.addPolicy("status-next-update-exact", "at the list's nextUpdate it is not yet stale", cov(21), "main",
		days(6), 30*24*3600, plain, "VALID")
}

// addPolicy is addAt with another maximum trust age.
func (g *gen) addPolicy(name, desc string, covers []string, ctx string, at time.Time, maxAge int64, qr, verdict string, reasons ...string) {
	g.addAt(name, desc, covers, ctx, at, qr, verdict, reasons...)
	g.cases[len(g.cases)-1].Policy.MaxTrustAgeSeconds = maxAge
}
