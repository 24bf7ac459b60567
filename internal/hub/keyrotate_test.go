package hub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/account"
	"github.com/roadcheck/roadcheck/internal/hub/audit"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/hub/wire/envelope"
	"github.com/roadcheck/roadcheck/internal/records"
)

// TestKeyRotation: after rchub keys rotate (twice), the hub seals new data
// under the new version, publishes the new encryption key, and still opens
// everything earlier versions sealed — record evidence (reveals), TOTP
// secrets (sign-in), pushes sealed to the old encryption key — and the
// audit log verifies across the checkpoint keys of every version (and not
// with the current key alone).
func TestKeyRotation(t *testing.T) {
	h := newSecHub(t, hub.Security{RequireSealed: true})
	ctx := context.Background()
	d := h.enroll("T-ROT", "44")
	enr, err := h.srv.Accounts().CreateAccount(ctx, "rose", account.Administrator, "44", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	oldEnc := h.keys.EncryptionKey()
	ids := []string{pushSealed(t, d, oldEnc)}
	tok, key := signInWith(t, h, "rose", enr.Secret)
	revealPlate(t, h, tok, key, d.id, ids[0])

	var versions []uint32
	for range 2 {
		h.stop()
		rot, err := hub.RotateKeyring(hub.KeyringPath(h.path), nil)
		if err != nil {
			t.Fatal(err)
		}
		h.keys = rot.Keyring.Keys
		versions = append(versions, rot.To)
		h.clk.Advance(time.Minute) // a fresh TOTP code
		h.start()

		if !h.keys.EncryptionKey().Equal(getHubKey(t, d)) || h.keys.EncryptionKey().Equal(oldEnc) {
			t.Fatal("GET /v1/hubkey does not give the new encryption key")
		}
		// A terminal that has not fetched the new key yet, and one that has.
		ids = append(ids, pushSealed(t, d, oldEnc), pushSealed(t, d, h.keys.EncryptionKey()))
		tok, key = signInWith(t, h, "rose", enr.Secret) // TOTP secret sealed under version 0
		for _, id := range ids {
			revealPlate(t, h, tok, key, d.id, id)
		}
	}
	if versions[0] != 1 || versions[1] != 2 || h.keys.Version() != 2 || len(h.keys.SigningKeys()) != 3 {
		t.Fatalf("versions %v, current %d, %d signing keys", versions, h.keys.Version(), len(h.keys.SigningKeys()))
	}

	h.stop()
	st, err := audit.NewBoltStore(ctx, mustOpen(t, h.path))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := audit.VerifyKeys(ctx, st, h.keys.SigningKeys()); err != nil || !r.OK() || r.Checkpoints < 3 {
		t.Fatalf("verify with every key version: %+v %v", r, err)
	}
	if r, err := audit.Verify(ctx, st, h.keys.SigningKey()); err != nil || r.OK() {
		t.Fatalf("verify with the current key alone passed: %+v %v", r, err)
	}
}

// TestDataSealerVersions: a sealed value names its key version; one that
// names a version the keyring does not hold is refused as such; a wrapped
// keyring stays wrapped after rotation.
func TestDataSealerVersions(t *testing.T) {
	dir := t.TempDir()
	kek := bytes.Repeat([]byte{7}, hub.KEKSize)
	path := dir + "/hub.keyring"
	kr, err := hub.OpenKeyringAt(path, "", kek, true)
	if err != nil {
		t.Fatal(err)
	}
	v0, err := kr.Keys.SecretSealer().Seal([]byte("secret 0"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	rot, err := hub.RotateKeyring(path, kek)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.OpenKeyringAt(path, "", nil, false); !errors.Is(err, hub.ErrKEK) {
		t.Fatalf("rotated keyring opens without its KEK: %v", err)
	}
	s := rot.Keyring.Keys.SecretSealer()
	v1, err := s.Seal([]byte("secret 1"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(v1, []byte("RK\x01\x01")) || bytes.HasPrefix(v0, []byte("RK\x01")) {
		t.Fatalf("headers: v0 %x…, v1 %x…", v0[:4], v1[:4])
	}
	for i, c := range []struct {
		sealed []byte
		ad     string
		want   string
		err    error
	}{
		{v0, "ad", "secret 0", nil},
		{v1, "ad", "secret 1", nil},
		{v1, "other ad", "", gm.ErrDecrypt},
		{append([]byte("RK\x01\x09"), v1[4:]...), "ad", "", hub.ErrKeyVersion},
	} {
		got, err := s.Open(c.sealed, []byte(c.ad))
		if !errors.Is(err, c.err) || string(got) != c.want {
			t.Errorf("case %d: %q %v, want %q %v", i, got, err, c.want, c.err)
		}
	}
}

// pushSealed pushes the device's next record sealed to key and returns
// its id.
func pushSealed(t *testing.T, d *device, key *gm.PublicKey) string {
	t.Helper()
	rec := d.record(d.h.clk.Now(), records.ID{}, 0)
	plain, _ := json.Marshal(wire.PushRequest{Records: []wire.PushRecord{rec}})
	sealed, err := envelope.Marshal(key, envelope.TypePush, plain)
	if err != nil {
		t.Fatal(err)
	}
	req := d.signedRequest(http.MethodPost, "/v1/records", sealed)
	req.Header.Set("Content-Type", envelope.ContentType)
	code, res, _ := do(t, req)
	if code != http.StatusOK || statusOf(t, res, 0).Status != wire.StatusAccepted {
		t.Fatalf("sealed push: %d %+v", code, res)
	}
	return res.Results[0].ID
}

func getHubKey(t *testing.T, d *device) *gm.PublicKey {
	t.Helper()
	resp, err := http.DefaultClient.Do(d.signedRequest(http.MethodGet, wire.PathHubKey, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var hk wire.HubKeyResponse
	if err := json.NewDecoder(resp.Body).Decode(&hk); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("hubkey: %d %v", resp.StatusCode, err)
	}
	pub, err := gm.ParsePKIX(hk.HubKey)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// signInWith signs an existing account in with its TOTP secret.
func signInWith(t *testing.T, h *secHub, name, secret string) (string, *gm.PrivateKey) {
	t.Helper()
	code, err := totp.GenerateCode(secret, h.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := gm.GenerateKey(rand.Reader)
	der, _ := key.Public().MarshalPKIX()
	b, _ := json.Marshal(wire.SignInRequest{Name: name, Password: "correct horse battery", Code: code, Key: der})
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+wire.PathSession, bytes.NewReader(b))
	var sr wire.SessionResponse
	if st := h.send(req, &sr); st != http.StatusOK || sr.Token == "" {
		t.Fatalf("sign in %s: %d", name, st)
	}
	return sr.Token, key
}

// revealPlate reveals a record and checks its evidence opened.
func revealPlate(t *testing.T, h *secHub, tok string, key *gm.PrivateKey, dev, id string) {
	t.Helper()
	b, _ := json.Marshal(wire.RevealRequest{Device: dev, ID: id, Reason: "key rotation test"})
	req, _ := http.NewRequest(http.MethodPost, h.http.URL+wire.PathReveal, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reveal %s: %d %s", id, resp.StatusCode, sealed)
	}
	plain, err := envelope.Unmarshal(sealed, key, envelope.TypeReveal)
	if err != nil {
		t.Fatal(err)
	}
	var v wire.RecordView
	if err := json.Unmarshal(plain, &v); err != nil || v.Plate != "粤B5D832" || v.HolderID != "440305199001011234" {
		t.Fatalf("revealed %s: %+v %v", id, v, err)
	}
}
