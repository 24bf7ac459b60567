package hubcmd_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/pquerna/otp/totp"
	"github.com/roadcheck/roadcheck/internal/clock"
	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/hubcmd"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// TestAuditListAndVerify: what terminals and supervisors did is in `rchub
// audit list`; `rchub audit verify` passes on the log the hub wrote and
// fails (exit 1) once an entry is edited in the database file.
func TestAuditListAndVerify(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	s := serve(t, clk, "--db", db, "--demo")
	devTok, supTok := s.tokens(t)
	tm := newTerminal(t, clk)
	if err := tm.enroll(s.url, devTok); err != nil {
		t.Fatal(err)
	}
	tm.record(t, 2)
	if _, err := tm.push(s.url); err != nil {
		t.Fatal(err)
	}
	get(t, s.url+"/v1/records", supTok, nil)
	get(t, s.url+"/v1/records", "rcsup_stolen", nil)
	if r := rchub(t, clk, "token", "create", "--db", db, "--jurisdiction", "4403"); r.code != hubcmd.ExitOK { // through the admin socket
		t.Fatalf("token create: %d %q", r.code, r.stderr)
	}
	if code := s.stop(); code != hubcmd.ExitOK {
		t.Fatalf("serve: %d %s", code, s.err.String())
	}
	r := rchub(t, clk, "audit", "list", "--db", db, "--json")
	var entries []wire.AuditEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil || r.code != hubcmd.ExitOK {
		t.Fatalf("audit list --json: %d %v %s", r.code, err, r.stderr)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action+" "+e.Outcome] = true
	}
	for _, want := range []string{"device.enroll ok", "POST /v1/records ok", "GET /v1/records ok", "GET /v1/records denied", "token.create ok"} {
		if !seen[want] {
			t.Errorf("no %q in the audit log: %v", want, seen)
		}
	}
	r = rchub(t, clk, "audit", "list", "--db", db, "--who", tm.rec.DeviceID())
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "POST /v1/records") || strings.Contains(r.stdout, "GET /v1/records") {
		t.Fatalf("audit list --who: %d %q", r.code, r.stdout)
	}
	if r := rchub(t, clk, "audit", "list", "--db", db, "--from", "2030-01-01T00:00:00Z"); r.code != hubcmd.ExitOK || r.stdout != "" {
		t.Fatalf("audit list --from the future: %q", r.stdout)
	}
	r = rchub(t, clk, "audit", "verify", "--db", db)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "intact") {
		t.Fatalf("verify: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Someone with the database file changes who queried.
	b, err := storage.Open(context.Background(), db, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(storage.BucketHubAudit)
		k := binary.BigEndian.AppendUint64(nil, 3)
		var m map[int]any
		if err := cbor.Unmarshal(bk.Get(k), &m); err != nil {
			return err
		}
		m[2] = "nobody"
		v, _ := cbor.Marshal(m)
		return bk.Put(k, v)
	})
	b.Close()
	r = rchub(t, clk, "audit", "verify", "--db", db)
	if r.code != hubcmd.ExitProblems || !strings.Contains(r.stdout, "PROBLEM edited at entry 3") {
		t.Fatalf("verify after an edit: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestDeviceListEscapes: ids and labels that got into a database are
// printed escaped, never raw.
func TestDeviceListEscapes(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	ctx := context.Background()
	b, err := storage.Open(ctx, db, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := hub.NewBoltStore(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	h := gm.SM3([]byte("tok"))
	st.PutToken(ctx, hub.Token{Hash: h, Role: hub.RoleDevice, Created: t0, Expires: t0.Add(time.Hour)})
	if err := st.Enroll(ctx, h, hub.Device{ID: "T-A\u200bB", PublicKey: []byte{1}, Label: "\x1b[2J深圳", Enrolled: t0, NextSeq: 1}, t0); err != nil {
		t.Fatal(err)
	}
	b.Close()
	r := rchub(t, clk, "device", "list", "--db", db)
	if r.code != hubcmd.ExitOK || strings.ContainsAny(r.stdout, "\x1b\u200b") || !strings.Contains(r.stdout, `T-A\u200bB`) || !strings.Contains(r.stdout, `\x1b[2J深圳`) {
		t.Fatalf("device list: %q", r.stdout)
	}
}

// TestKeysWrappedByKEK: a hub's keys move into a keyring wrapped by a KEK
// kept elsewhere; without the KEK it does not start; off loopback it does
// not start with unwrapped keys.
func TestKeysWrappedByKEK(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	kekDir := t.TempDir()
	kek := filepath.Join(kekDir, "hub.kek")
	os.WriteFile(kek, []byte(strings.Repeat("ab", 16)+"\n"), 0o600)
	loose := filepath.Join(kekDir, "loose.kek")
	os.WriteFile(loose, []byte(strings.Repeat("ab", 16)+"\n"), 0o644)
	other := filepath.Join(kekDir, "other.kek")
	os.WriteFile(other, []byte(strings.Repeat("cd", 16)+"\n"), 0o600)

	s := serve(t, clk, "--db", db, "--demo") // a hub on its legacy key file
	devTok, _ := s.tokens(t)
	tm := newTerminal(t, clk)
	if err := tm.enroll(s.url, devTok); err != nil {
		t.Fatal(err)
	}
	s.stop()
	if r := rchub(t, clk, "keys", "wrap", "--db", db, "--kek-file", loose); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "chmod 600") {
		t.Fatalf("KEK readable by others: %d %q", r.code, r.stderr)
	}
	r := rchub(t, clk, "keys", "wrap", "--db", db, "--kek-file", kek)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "moved the keys") {
		t.Fatalf("keys wrap: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(db + ".key"); !os.IsNotExist(err) {
		t.Fatalf("the legacy key file is still there: %v", err)
	}
	raw, _ := os.ReadFile(hub.KeyringPath(db))
	if len(raw) == 0 {
		t.Fatal("no keyring")
	}
	if r := rchub(t, clk, "serve", "--db", db, "--listen", "127.0.0.1:0"); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "wrapped") {
		t.Fatalf("serve without the KEK: %d %q", r.code, r.stderr)
	}
	if r := rchub(t, clk, "serve", "--db", db, "--listen", "127.0.0.1:0", "--kek-file", other); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "does not open") {
		t.Fatalf("serve with another KEK: %d %q", r.code, r.stderr)
	}
	s = serve(t, clk, "--db", db, "--kek-file", kek)
	// The terminal enrolled before still seals its pushes to the same key.
	tm.record(t, 1)
	if rep, err := tm.push(s.url); err != nil || rep.Accepted != 1 {
		t.Fatalf("push after wrapping: %+v %v", rep, err)
	}
	s.stop()
	if r := rchub(t, clk, "keys", "public", "--db", db, "--kek-file", kek); r.code != hubcmd.ExitOK || strings.Count(r.stdout, "BEGIN PUBLIC KEY") != 3 {
		t.Fatalf("keys public: %d %q", r.code, r.stdout)
	}
	if r := rchub(t, clk, "audit", "verify", "--db", db, "--kek-file", kek); r.code != hubcmd.ExitOK {
		t.Fatalf("audit verify with the keyring: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Off loopback, keys in the clear are refused (before anything listens).
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	cert, key := selfSigned(t)
	if r := rchub(t, clk, "serve", "--db", fresh, "--listen", "0.0.0.0:0", "--tls-cert", cert, "--tls-key", key); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "key-encryption key") {
		t.Fatalf("off loopback without a KEK: %d %q", r.code, r.stderr)
	}
}

// selfSigned writes a self-signed ECDSA certificate and its key (mode 0600).
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub.example"}, DNSNames: []string{"hub.example"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// TestTLSPinAndKeyMode: rchub tls pin prints the SPKI pin a terminal
// enrols with; a TLS key readable by others is refused.
func TestTLSPinAndKeyMode(t *testing.T) {
	clk := clock.NewFake(t0)
	cert, key := selfSigned(t)
	r := rchub(t, clk, "tls", "pin", "--cert", cert)
	p, err := wire.ParsePin([]byte(r.stdout))
	if r.code != hubcmd.ExitOK || err != nil || p.SPKI == nil {
		t.Fatalf("tls pin: %d %q %v", r.code, r.stdout, err)
	}
	data, _ := os.ReadFile(cert)
	b, _ := pem.Decode(data)
	c, _ := x509.ParseCertificate(b.Bytes)
	if !p.MatchesSPKI(c) {
		t.Fatal("the pin does not match the certificate")
	}
	// A bundle is not a pin.
	if _, err := wire.ParsePin(append(append([]byte{}, data...), data...)); err == nil {
		t.Fatal("a bundle of two certificates taken as a pin")
	}
	os.Chmod(key, 0o644)
	db := filepath.Join(t.TempDir(), "hub.db")
	if r := rchub(t, clk, "serve", "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "group or others") {
		t.Fatalf("TLS key mode 0644: %d %q", r.code, r.stderr)
	}
}

// TestAccountsSignIn: an administrator creates a supervisor account; the
// supervisor signs in with password and TOTP and queries; a disabled
// account cannot sign in.
func TestAccountsSignIn(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("correct horse battery\n"), 0o600)
	s := serve(t, clk, "--db", db, "--demo")
	// Through the admin socket, while the hub serves.
	r := rchub(t, clk, "account", "create", "--db", db, "--role", "viewer", "--jurisdiction", "44", "--password-file", pw, "alice")
	m := regexp.MustCompile(`(?m)^([A-Z2-7]{16,})$`).FindStringSubmatch(r.stdout)
	if r.code != hubcmd.ExitOK || m == nil || !strings.Contains(r.stdout, "otpauth://totp/") {
		t.Fatalf("account create: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := rchub(t, clk, "account", "create", "--db", db, "--role", "viewer", "--jurisdiction", "44", "alice"); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "--password-file") {
		t.Fatalf("account create without a password file: %d %q", r.code, r.stderr)
	}
	signIn := func() int {
		code, _ := totp.GenerateCode(m[1], clk.Now())
		body, _ := json.Marshal(wire.SignInRequest{Name: "alice", Password: "correct horse battery", Code: code})
		resp, err := http.Post(s.url+wire.PathSession, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sr wire.SessionResponse
		json.NewDecoder(resp.Body).Decode(&sr)
		if resp.StatusCode == http.StatusOK {
			if code := get(t, s.url+"/v1/records", sr.Token, nil); code != http.StatusOK {
				t.Fatalf("query with the session: %d", code)
			}
		}
		return resp.StatusCode
	}
	if code := signIn(); code != http.StatusOK {
		t.Fatalf("sign in: %d", code)
	}
	r = rchub(t, clk, "account", "list", "--db", db)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "alice\tviewer\t44\tactive") {
		t.Fatalf("account list: %q", r.stdout)
	}
	if r := rchub(t, clk, "account", "disable", "--db", db, "alice"); r.code != hubcmd.ExitOK {
		t.Fatalf("disable: %d %q", r.code, r.stderr)
	}
	clk.Advance(time.Minute)
	if code := signIn(); code != http.StatusUnauthorized {
		t.Fatalf("sign in of a disabled account: %d", code)
	}
	s.stop()
	r = rchub(t, clk, "audit", "list", "--db", db, "--who", "operator")
	if !strings.Contains(r.stdout, "account.create") || !strings.Contains(r.stdout, "account.disable") || !strings.Contains(r.stdout, "admin socket") {
		t.Fatalf("admin actions in the audit log: %q", r.stdout)
	}
	if strings.Contains(r.stdout, "correct horse") {
		t.Fatal("a password in the audit log")
	}
}

// TestKeysRotate: `rchub keys rotate` adds a key version while the hub is
// stopped (refused while it serves the bbolt file); a terminal that still
// seals to the earlier encryption key keeps pushing, the rotation is in
// the audit log, and the log verifies across the checkpoint keys.
func TestKeysRotate(t *testing.T) {
	clk := clock.NewFake(t0)
	db := filepath.Join(t.TempDir(), "hub.db")
	kek := filepath.Join(t.TempDir(), "hub.kek")
	os.WriteFile(kek, []byte(strings.Repeat("ab", 16)+"\n"), 0o600)
	s := serve(t, clk, "--db", db, "--demo", "--kek-file", kek)
	devTok, _ := s.tokens(t)
	tm := newTerminal(t, clk)
	if err := tm.enroll(s.url, devTok); err != nil {
		t.Fatal(err)
	}
	tm.record(t, 1)
	if rep, err := tm.push(s.url); err != nil || rep.Accepted != 1 {
		t.Fatalf("push: %+v %v", rep, err)
	}
	if r := rchub(t, clk, "keys", "rotate", "--db", db, "--kek-file", kek); r.code != hubcmd.ExitError || !strings.Contains(r.stderr, "stop the hub") {
		t.Fatalf("rotate while serving: %d %q", r.code, r.stderr)
	}
	s.stop()
	r := rchub(t, clk, "keys", "rotate", "--db", db, "--kek-file", kek)
	if r.code != hubcmd.ExitOK || !strings.Contains(r.stdout, "from key version 0 to 1") {
		t.Fatalf("keys rotate: %d %q %q", r.code, r.stdout, r.stderr)
	}
	s = serve(t, clk, "--db", db, "--kek-file", kek)
	tm.record(t, 1)
	if rep, err := tm.push(s.url); err != nil || rep.Accepted != 1 {
		t.Fatalf("push sealed to the earlier key after the rotation: %+v %v", rep, err)
	}
	s.stop()
	if r := rchub(t, clk, "audit", "verify", "--db", db, "--kek-file", kek); r.code != hubcmd.ExitOK {
		t.Fatalf("audit verify across key versions: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// The public checkpoint keys of both versions verify it without the keyring.
	r = rchub(t, clk, "keys", "public", "--db", db, "--kek-file", kek)
	blocks := strings.SplitAfter(r.stdout, "-----END PUBLIC KEY-----\n")
	if r.code != hubcmd.ExitOK || len(blocks) != 5 { // encryption, checkpoint, policy, earlier checkpoint, ""
		t.Fatalf("keys public after a rotation: %d %q", r.code, r.stdout)
	}
	pubs := filepath.Join(t.TempDir(), "checkpoint.pem")
	os.WriteFile(pubs, []byte(blocks[1]+blocks[3]), 0o644)
	if r := rchub(t, clk, "audit", "verify", "--db", db, "--pub", pubs); r.code != hubcmd.ExitOK {
		t.Fatalf("audit verify --pub with both checkpoint keys: %d %q %q", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(pubs, []byte(blocks[1]), 0o644)
	if r := rchub(t, clk, "audit", "verify", "--db", db, "--pub", pubs); r.code != hubcmd.ExitProblems {
		t.Fatalf("audit verify --pub with the new checkpoint key alone: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = rchub(t, clk, "audit", "list", "--db", db, "--json")
	var entries []wire.AuditEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || (e.Action == "keys.rotate" && strings.Contains(e.Detail, "version 0 to 1"))
	}
	if !found {
		t.Fatalf("no keys.rotate entry in %q", r.stdout)
	}
}
