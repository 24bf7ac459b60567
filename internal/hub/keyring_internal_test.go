package hub

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// A keyring written before keyrings held a policy key opens with the
// policy key derived from its index key — the same on every replica, and
// the file is not rewritten.
func TestOldKeyringDerivesItsPolicyKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db.keyring")
	enc, _ := gm.GenerateKey(nil)
	sign, _ := gm.GenerateKey(nil)
	m := &keyMaterial{Data: bytes.Repeat([]byte{1}, gm.SM4KeySize), Index: bytes.Repeat([]byte{2}, gm.SM4KeySize)}
	var err error
	if m.Enc, err = enc.MarshalPKCS8(); err != nil {
		t.Fatal(err)
	}
	if m.Sign, err = sign.MarshalPKCS8(); err != nil {
		t.Fatal(err)
	}
	if err := writeKeyring(path, m, nil, false); err != nil {
		t.Fatal(err)
	}
	kr, err := OpenKeyringAt(path, "", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := NewKeys(m.Data, m.Index)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Keys.PolicyKey() == nil || !kr.Keys.PolicyKey().Equal(legacy.PolicyKey()) || !kr.Keys.EncryptionKey().Equal(enc.Public()) {
		t.Fatal("an old keyring's policy key is not the derived one")
	}
	f, err := readKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := f.open(nil); err != nil || opened.Policy != nil {
		t.Fatalf("the keyring was rewritten: %v", err)
	}
}
