package credential

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/roadcheck/roadcheck/internal/gm"
)

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "example", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readHex(t testing.TB, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimSpace(string(readExample(t, name))))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWorkedExample checks every stage of the specification's worked example.
func TestWorkedExample(t *testing.T) {
	text := string(readExample(t, "code.txt"))
	cose, err := DecodeText(text)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cose, readHex(t, "cose.hex")) {
		t.Fatal("COSE bytes differ from the example")
	}
	d, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Sign1.AlgOK {
		t.Fatal("alg not recognised")
	}
	if got := hex.EncodeToString(d.Sign1.KID); got != "0b20fc7facc7bf70" {
		t.Fatalf("kid = %s", got)
	}
	if !bytes.Equal(d.Sign1.Payload, readHex(t, "payload.hex")) {
		t.Fatal("payload differs")
	}
	if !bytes.Equal(d.Sign1.SigStructure(), readHex(t, "sigstructure.hex")) {
		t.Fatal("Sig_structure differs")
	}
	blk, _ := pem.Decode(readExample(t, "signer.pem"))
	if kid := KID(blk.Bytes); hex.EncodeToString(kid[:]) != "0b20fc7facc7bf70" {
		t.Fatalf("KID(cert) = %x", kid)
	}
	cert, err := smx509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := gm.NewPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := pub.Verify(d.Sign1.SigStructure(), d.Sign1.Signature); !ok || err != nil {
		t.Fatalf("signature: %v %v", ok, err)
	}
	c, err := d.Claims()
	if err != nil {
		t.Fatal(err)
	}
	cr := c.Credential
	if c.IssuedAt != 1793494800 || c.HasExpiry || cr.Kind != KindVehicle || cr.Vehicle.Plate != "粤B12345" ||
		cr.AuthorityCode != "440300" || cr.ValidUntil.String() != "2030-10-31" || cr.Vehicle.ReviewUntil.String() != "2027-10-31" ||
		cr.Holder != "示例运输有限公司" || cr.HolderIDType != HolderIDCreditCode {
		t.Fatalf("claims = %+v %+v", c, cr.Vehicle)
	}
	// Our deterministic encoder reproduces the issuer's bytes exactly.
	payload, err := c.EncodePayload()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(payload, d.Sign1.Payload) {
		t.Fatalf("re-encoded payload differs:\n got %x\nwant %x", payload, d.Sign1.Payload)
	}
	m, _ := cr.Map()
	rtc, _ := MarshalDeterministic(m)
	if !bytes.Equal(rtc, readHex(t, "credential.hex")) {
		t.Fatal("re-encoded credential claims differ")
	}
	if h := IDHash(cr.ID); hex.EncodeToString(h[:]) != "dda1b81bdd9bcb9295d16bcae828dd22" {
		t.Fatalf("IDHash = %x", h)
	}
}

func TestExampleSignRoundTrip(t *testing.T) {
	key, err := gm.NewPrivateKeyFromScalar(readHex(t, "signer-key.hex"))
	if err != nil {
		t.Fatal(err)
	}
	payload := readHex(t, "payload.hex")
	kid := readHex(t, "cose.hex")[12:20]
	cose, err := EncodeSign1(kid, payload, func(m []byte) ([]byte, error) { return key.Sign(nil, m) })
	if err != nil {
		t.Fatal(err)
	}
	text := EncodeText(cose)
	d, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := key.Public().Verify(d.Sign1.SigStructure(), d.Sign1.Signature); !ok {
		t.Fatal("own signature does not verify")
	}
	// Everything but the signature matches the example byte for byte.
	want := readHex(t, "cose.hex")
	if !bytes.Equal(cose[:len(cose)-64], want[:len(want)-64]) {
		t.Fatal("COSE framing differs from the example")
	}
}
