package hub

import (
	"bytes"
	"io"
	"testing"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// TestLegacySealedValueThatLooksVersioned: a value sealed before versions
// existed (no header) whose random nonce happens to begin with the version
// header still opens under the version-0 key after a rotation.
func TestLegacySealedValueThatLooksVersioned(t *testing.T) {
	key0, key1 := bytes.Repeat([]byte{1}, gm.SM4KeySize), bytes.Repeat([]byte{2}, gm.SM4KeySize)
	nonce := io.MultiReader(bytes.NewReader([]byte(sealMagic+"\x01")), bytes.NewReader(make([]byte, gm.GCMNonceSize)))
	a0, err := gm.NewAEAD(key0, nonce)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := newDataSealer(0, a0).Seal([]byte("totp secret"), []byte("ad"))
	if err != nil || !bytes.HasPrefix(legacy, []byte(sealMagic+"\x01")) {
		t.Fatalf("sealed %x %v", legacy, err)
	}
	a0, _ = gm.NewAEAD(key0, nil)
	a1, _ := gm.NewAEAD(key1, nil)
	rotated := newDataSealer(1, a1)
	rotated.keys[0] = a0
	if pt, err := rotated.Open(legacy, []byte("ad")); err != nil || string(pt) != "totp secret" {
		t.Fatalf("legacy value after rotation: %q %v", pt, err)
	}
}

// FuzzDataSealerOpen: no sealed value panics Open, whatever header it
// claims; only what Seal made opens.
func FuzzDataSealerOpen(f *testing.F) {
	a0, _ := gm.NewAEAD(bytes.Repeat([]byte{1}, gm.SM4KeySize), nil)
	a1, _ := gm.NewAEAD(bytes.Repeat([]byte{2}, gm.SM4KeySize), nil)
	s := newDataSealer(1, a1)
	s.keys[0] = a0
	v1, _ := s.Seal([]byte("secret"), []byte("ad"))
	v0, _ := newDataSealer(0, a0).Seal([]byte("secret"), []byte("ad"))
	for _, seed := range [][]byte{v0, v1, []byte(sealMagic), []byte(sealMagic + "\xff\xff\xff\xff\xff\xff"), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := s.Open(b, []byte("ad"))
		if err == nil && string(pt) != "secret" {
			t.Fatalf("opened %x to %q", b, pt)
		}
	})
}
