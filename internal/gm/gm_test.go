package gm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm4"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GM/T 0004-2012 (GB/T 32905) appendix A.
func TestSM3StandardVectors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{name: "abc", in: []byte("abc"), want: "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{name: "abcd x16", in: bytes.Repeat([]byte("abcd"), 16), want: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SM3(tt.in)
			if hex.EncodeToString(got[:]) != tt.want {
				t.Fatalf("SM3 = %x, want %s", got, tt.want)
			}
			h := NewSM3()
			h.Write(tt.in)
			if !bytes.Equal(h.Sum(nil), got[:]) {
				t.Fatal("streaming SM3 differs from SM3")
			}
		})
	}
}

// GM/T 0002-2012 (GB/T 32907) appendix A, example 1 and 2.
func TestSM4StandardVectors(t *testing.T) {
	key := mustHex(t, "0123456789abcdeffedcba9876543210")
	b, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	block := append([]byte(nil), key...)
	b.Encrypt(block, block)
	if got := hex.EncodeToString(block); got != "681edf34d206965e86b3e94f536e4246" {
		t.Fatalf("one round = %s", got)
	}
	block = append(block[:0], key...)
	for i := 0; i < 1000000; i++ {
		b.Encrypt(block, block)
	}
	if got := hex.EncodeToString(block); got != "595298c7c6fd271f0402f804c33d3f66" {
		t.Fatalf("10^6 rounds = %s", got)
	}
}

// GM/T 0003.5-2012 (GB/T 32918.5-2017) appendix A: signature on the
// recommended curve, message "message digest", default ID.
func TestSM2StandardSignatureVector(t *testing.T) {
	pub, err := ParsePublicKeyUncompressed(mustHex(t, "04"+
		"09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"+
		"CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"))
	if err != nil {
		t.Fatal(err)
	}
	sig := mustHex(t, "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"+
		"B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
	msg := []byte("message digest")
	ok, err := pub.Verify(msg, sig)
	if err != nil || !ok {
		t.Fatalf("standard vector: ok=%v err=%v", ok, err)
	}
	bad := append([]byte(nil), sig...)
	bad[63] ^= 1
	if ok, _ := pub.Verify(msg, bad); ok {
		t.Fatal("flipped signature verified")
	}
	if ok, _ := pub.Verify([]byte("message digesT"), sig); ok {
		t.Fatal("other message verified")
	}
	// The private key of the same vector derives the same public key.
	priv, err := NewPrivateKeyFromScalar(mustHex(t, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"))
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Public().Equal(pub) {
		t.Fatal("private scalar does not give the vector's public key")
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("RTC1 Sig_structure")
	for i := 0; i < 64; i++ { // exercises left-padding of short r or s
		sig, err := k.Sign(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != SignatureSize {
			t.Fatalf("len = %d", len(sig))
		}
		if ok, err := k.Public().Verify(msg, sig); !ok || err != nil {
			t.Fatalf("round trip failed: %v %v", ok, err)
		}
	}
}

func TestVerifyLength(t *testing.T) {
	k, _ := GenerateKey(nil)
	tests := []struct {
		name    string
		sig     []byte
		wantErr error
	}{
		{name: "empty", sig: nil, wantErr: ErrSignatureLength},
		{name: "63 bytes", sig: make([]byte, 63), wantErr: ErrSignatureLength},
		{name: "DER-length", sig: make([]byte, 72), wantErr: ErrSignatureLength},
		{name: "zeros", sig: make([]byte, 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := k.Public().Verify([]byte("m"), tt.sig)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if ok {
				t.Fatal("verified")
			}
		})
	}
}

func TestKeySerialisation(t *testing.T) {
	k, _ := GenerateKey(nil)
	der, err := k.MarshalPKCS8()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ParsePKCS8(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.Public().MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	p2, err := ParsePKIX(pub)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Equal(k2.Public()) {
		t.Fatal("round-tripped keys differ")
	}
	if _, err := ParsePKCS8([]byte{1, 2, 3}); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestAEAD(t *testing.T) {
	key := bytes.Repeat([]byte{7}, SM4KeySize)
	a, err := NewAEAD(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := a.Seal([]byte("张三 440301199001011234"), []byte("record-1"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := a.Open(sealed, []byte("record-1"))
	if err != nil || string(pt) != "张三 440301199001011234" {
		t.Fatalf("open: %q %v", pt, err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	other, _ := NewAEAD(bytes.Repeat([]byte{8}, SM4KeySize), nil)
	tests := []struct {
		name    string
		a       *AEAD
		sealed  []byte
		ad      string
		wantErr error
	}{
		{name: "tampered", a: a, sealed: tampered, ad: "record-1", wantErr: ErrDecrypt},
		{name: "wrong ad", a: a, sealed: sealed, ad: "record-2", wantErr: ErrDecrypt},
		{name: "wrong key", a: other, sealed: sealed, ad: "record-1", wantErr: ErrDecrypt},
		{name: "truncated", a: a, sealed: sealed[:10], ad: "record-1", wantErr: ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.a.Open(tt.sealed, []byte(tt.ad)); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := NewAEAD(key[:15], nil); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("short key: %v", err)
	}
}

func TestDeterministicSignatures(t *testing.T) {
	k, err := ScalarFromSeed([]byte("demo/signer"))
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := ScalarFromSeed([]byte("demo/signer"))
	if !k.Public().Equal(k2.Public()) {
		t.Fatal("same seed gave different keys")
	}
	msg := []byte("payload")
	var first []byte
	for i := 0; i < 20; i++ { // gmsm reads a throw-away byte at random
		sig, err := k.Sign(DeterministicReader([]byte("nonce-seed")), msg)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = sig
		} else if !bytes.Equal(first, sig) {
			t.Fatalf("signature %d differs", i)
		}
	}
	if ok, _ := k.Public().Verify(msg, first); !ok {
		t.Fatal("deterministic signature does not verify")
	}
	other, _ := k.Sign(DeterministicReader([]byte("other-seed")), msg)
	if bytes.Equal(other, first) {
		t.Fatal("different seeds gave the same signature")
	}
}
