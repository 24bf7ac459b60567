package gm

import (
	"bytes"
	"errors"
	"testing"
)

func TestSM2EncryptRoundTrip(t *testing.T) {
	k, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("0123456789abcdef")
	ct, err := k.Public().Encrypt(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != len(msg)+SM2Overhead {
		t.Fatalf("ciphertext of %d bytes for %d", len(ct), len(msg))
	}
	again, _ := k.Public().Encrypt(nil, msg)
	if bytes.Equal(ct, again) {
		t.Fatal("two encryptions of one message are equal")
	}
	pt, err := k.Decrypt(ct)
	if err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("decrypt: %x %v", pt, err)
	}
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name string
		key  *PrivateKey
		ct   []byte
	}{
		{name: "other key", key: other, ct: ct},
		{name: "tampered", key: k, ct: flipped},
		{name: "short", key: k, ct: ct[:SM2Overhead]},
		{name: "empty", key: k, ct: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.key.Decrypt(tt.ct); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("err %v, want ErrDecrypt", err)
			}
		})
	}
	if _, err := k.Public().Encrypt(nil, nil); !errors.Is(err, ErrEncrypt) {
		t.Fatalf("empty message: %v", err)
	}
}
