package policy

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
)

var update = flag.Bool("update", false, "rewrite testdata/*.policy")

func key(t testing.TB, seed string) *gm.PrivateKey {
	t.Helper()
	k, err := gm.ScalarFromSeed([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var issued = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func hubPolicy() Policy {
	return Policy{Source: SourceHub, Seq: 3, Issued: issued, ClockSkew: 120 * time.Second, MaxTrustAge: 72 * time.Hour, AutoLock: 3 * time.Minute}
}

func devicePolicy() Policy {
	return Policy{Source: SourceDevice, Seq: 1, Issued: issued, Device: "T-0001", Supervisor: "9001",
		ClockSkew: 600 * time.Second, MaxTrustAge: 14 * 24 * time.Hour, AutoLock: 10 * time.Minute}
}

// The signed files in testdata are the fuzz seeds and the format's
// examples; -update rewrites them.
func TestGoldenFiles(t *testing.T) {
	hub, dev := key(t, "hub"), key(t, "device")
	for name, p := range map[string]struct {
		p Policy
		k *gm.PrivateKey
	}{"hub.policy": {hubPolicy(), hub}, "device-wide.policy": {devicePolicy(), dev}} {
		data, err := Sign(p.p, func(m []byte) ([]byte, error) { return p.k.Sign(gm.DeterministicReader([]byte(name)), m) })
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s differs from what Sign writes:\n%s", name, data)
		}
	}
}

func TestSignVerify(t *testing.T) {
	hub, dev, other := key(t, "hub"), key(t, "device"), key(t, "other")
	keys := Keys{Hub: hub.Public(), Device: dev.Public(), DeviceID: "T-0001"}
	signed := func(p Policy, k *gm.PrivateKey) []byte {
		t.Helper()
		data, err := SignWithKey(p, k)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	wideHub := hubPolicy()
	wideHub.ClockSkew = 3600 * time.Second
	wideHubSup := wideHub
	wideHubSup.Supervisor = "9001"
	otherDevice := devicePolicy()
	otherDevice.Device = "T-0002"
	tamper := func(data []byte, from, to string) []byte { return bytes.Replace(data, []byte(from), []byte(to), 1) }
	tests := []struct {
		name    string
		data    []byte
		keys    Keys
		want    Policy
		wantErr error
	}{
		{name: "hub", data: signed(hubPolicy(), hub), keys: keys, want: hubPolicy()},
		{name: "device, wider bounds signed by a supervisor", data: signed(devicePolicy(), dev), keys: keys, want: devicePolicy()},
		{name: "hub, wide with a supervisor", data: signed(wideHubSup, hub), keys: keys, want: wideHubSup},
		{name: "hub policy signed by another key", data: signed(hubPolicy(), other), keys: keys, wantErr: ErrBadSignature},
		{name: "device policy signed by the hub key", data: signed(devicePolicy(), hub), keys: keys, wantErr: ErrBadSignature},
		{name: "skew loosened by hand", data: tamper(signed(hubPolicy(), hub), "clock-skew-seconds: 120", "clock-skew-seconds: 300"), keys: keys, wantErr: ErrBadSignature},
		{name: "another device", data: signed(otherDevice, dev), keys: keys, wantErr: ErrWrongDevice},
		{name: "no hub key", data: signed(hubPolicy(), hub), keys: Keys{Device: dev.Public(), DeviceID: "T-0001"}, wantErr: ErrNoKey},
		{name: "device key unknown (locked)", data: signed(devicePolicy(), dev), keys: Keys{Hub: hub.Public()}, wantErr: ErrNoKey},
		{name: "not a policy", data: []byte("RTC1:HELLO"), keys: keys, wantErr: ErrMalformed},
		{name: "field renamed", data: tamper(signed(hubPolicy(), hub), "seq:", "Seq:"), keys: keys, wantErr: ErrMalformed},
		{name: "leading zero", data: tamper(signed(hubPolicy(), hub), "seq: 3", "seq: 03"), keys: keys, wantErr: ErrMalformed},
		{name: "trailing data", data: append(signed(hubPolicy(), hub), "x\n"...), keys: keys, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.data, tt.keys)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			got.Digest = [gm.SM3Size]byte{}
			if got != tt.want {
				t.Errorf("policy %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSignRefusesOutOfBounds(t *testing.T) {
	hub := key(t, "hub")
	tests := []struct {
		name    string
		mod     func(*Policy)
		wantErr error
	}{
		{name: "wider skew without a supervisor", mod: func(p *Policy) { p.ClockSkew = 301 * time.Second }, wantErr: ErrOutOfBounds},
		{name: "wider age without a supervisor", mod: func(p *Policy) { p.MaxTrustAge = 8 * 24 * time.Hour }, wantErr: ErrOutOfBounds},
		{name: "beyond the ceiling even for a supervisor", mod: func(p *Policy) { p.Supervisor = "9001"; p.ClockSkew = 3601 * time.Second }, wantErr: ErrOutOfBounds},
		{name: "age beyond the ceiling", mod: func(p *Policy) { p.Supervisor = "9001"; p.MaxTrustAge = 31 * 24 * time.Hour }, wantErr: ErrOutOfBounds},
		{name: "auto-lock off", mod: func(p *Policy) { p.AutoLock = 0 }, wantErr: ErrOutOfBounds},
		{name: "device policy without device", mod: func(p *Policy) { p.Source = SourceDevice; p.Supervisor = "9001" }, wantErr: ErrMalformed},
		{name: "default source", mod: func(p *Policy) { p.Source = SourceDefault }, wantErr: ErrMalformed},
		{name: "id with a space", mod: func(p *Policy) { p.Supervisor = "90 01" }, wantErr: ErrMalformed},
		{name: "fractional seconds", mod: func(p *Policy) { p.ClockSkew = 1500 * time.Millisecond }, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := hubPolicy()
			tt.mod(&p)
			if _, err := SignWithKey(p, hub); !errors.Is(err, tt.wantErr) {
				t.Errorf("Sign: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestLoadSave(t *testing.T) {
	ctx := context.Background()
	dev := key(t, "device")
	keys := Keys{Device: dev.Public(), DeviceID: "T-0001"}
	path := FileFor(filepath.Join(t.TempDir(), "terminal.db"))
	if !strings.HasSuffix(path, "terminal.db.policy") {
		t.Errorf("file %s", path)
	}
	if p, err := Load(ctx, path, keys); err != nil || p != Default() {
		t.Fatalf("missing file: %v %+v", err, p)
	}
	data, err := SignWithKey(devicePolicy(), dev)
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(ctx, path, []byte("junk")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Save junk: %v", err)
	}
	if err := Save(ctx, path, data); err != nil {
		t.Fatal(err)
	}
	p, err := Load(ctx, path, keys)
	if err != nil || p.ClockSkew != 600*time.Second || p.Digest != gm.SM3(data) || p.DigestHex() == "" {
		t.Fatalf("Load: %v %+v", err, p)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v %v", fi.Mode(), err)
	}
	// Edited by hand: refused, the default in force.
	if err := os.WriteFile(path, bytes.Replace(data, []byte("600"), []byte("900"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := Load(ctx, path, keys); !errors.Is(err, ErrBadSignature) || p != Default() {
		t.Errorf("edited file: %v %+v", err, p)
	}
	if got := Default().Verify(); got.ClockSkew != 300*time.Second || got.MaxTrustAge != 7*24*time.Hour {
		t.Errorf("default verify policy %+v", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"hub.policy", "device-wide.policy"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(signingPrefix))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		// What parses is canonical: signing the same values gives the
		// same message.
		if !bytes.Equal(s.Policy.body(), s.Message) || !bytes.HasPrefix(data, s.Message) {
			t.Fatalf("parsed policy is not canonical")
		}
	})
}
