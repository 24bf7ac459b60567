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

// hubPolicyRetention is a hub policy that says how long records are kept.
func hubPolicyRetention() Policy {
	p := hubPolicy()
	p.Seq, p.Retention = 4, 14*24*time.Hour
	return p
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
	}{"hub.policy": {hubPolicy(), hub}, "device-wide.policy": {devicePolicy(), dev}, "hub-retention.policy": {hubPolicyRetention(), hub}} {
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
	withFloor := func(hubSeq, devSeq uint64) Keys {
		k := keys
		k.HubSeq, k.DeviceSeq = hubSeq, devSeq
		return k
	}
	golden := func(name string) []byte {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	retentionZero := hubPolicyRetention()
	retentionZero.Retention = 0
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
		{name: "with retention", data: signed(hubPolicyRetention(), hub), keys: keys, want: hubPolicyRetention()},
		{name: "golden without retention (signed before policies carried it)", data: golden("hub.policy"), keys: keys, want: hubPolicy()},
		{name: "golden with retention", data: golden("hub-retention.policy"), keys: keys, want: hubPolicyRetention()},
		{name: "retention shortened by hand", data: tamper(signed(hubPolicyRetention(), hub), "retention-days: 14", "retention-days: 1"), keys: keys, wantErr: ErrBadSignature},
		{name: "retention line dropped by hand", data: tamper(signed(hubPolicyRetention(), hub), "retention-days: 14\n", ""), keys: keys, wantErr: ErrBadSignature},
		{name: "retention 0 written", data: tamper(signed(hubPolicyRetention(), hub), "retention-days: 14", "retention-days: 0"), keys: keys, wantErr: ErrMalformed},
		{name: "hub policy at the sequence applied", data: signed(hubPolicy(), hub), keys: withFloor(3, 0), want: hubPolicy()},
		{name: "hub policy newer than the one applied", data: signed(hubPolicyRetention(), hub), keys: withFloor(3, 0), want: hubPolicyRetention()},
		{name: "hub policy older than the one applied (rollback)", data: signed(hubPolicy(), hub), keys: withFloor(4, 0), wantErr: ErrRollback},
		{name: "device policy older than the one applied (rollback)", data: signed(devicePolicy(), dev), keys: withFloor(0, 2), wantErr: ErrRollback},
		{name: "a device floor does not hold hub policies back", data: signed(hubPolicy(), hub), keys: withFloor(0, 9), want: hubPolicy()},
		{name: "rollback by another key is a bad signature first", data: signed(hubPolicy(), other), keys: withFloor(4, 0), wantErr: ErrBadSignature},
		{name: "no retention", data: signed(retentionZero, hub), keys: keys, want: retentionZero},
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
		{name: "negative skew", mod: func(p *Policy) { p.ClockSkew = -time.Second }, wantErr: ErrOutOfBounds},
		{name: "trust age under an hour", mod: func(p *Policy) { p.MaxTrustAge = 0 }, wantErr: ErrOutOfBounds},
		{name: "auto-lock over 30 minutes", mod: func(p *Policy) { p.AutoLock = 31 * time.Minute }, wantErr: ErrOutOfBounds},
		{name: "retention under a day", mod: func(p *Policy) { p.Retention = 12 * time.Hour }, wantErr: ErrMalformed},
		{name: "retention over a year", mod: func(p *Policy) { p.Retention = 366 * 24 * time.Hour }, wantErr: ErrOutOfBounds},
		{name: "retention a year", mod: func(p *Policy) { p.Retention = 365 * 24 * time.Hour }},
		{name: "retention a day", mod: func(p *Policy) { p.Retention = 24 * time.Hour }},
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
	for _, name := range []string{"hub.policy", "device-wide.policy", "hub-retention.policy"} {
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

// A validly signed older policy put back in the file is refused once the
// terminal remembers the newer one it applied; the default is then in
// force and says how long records are kept.
func TestLoadRefusesRollback(t *testing.T) {
	ctx := context.Background()
	hub := key(t, "hub")
	path := FileFor(filepath.Join(t.TempDir(), "terminal.db"))
	old, err := SignWithKey(hubPolicy(), hub)
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(ctx, path, old); err != nil {
		t.Fatal(err)
	}
	p, err := Load(ctx, path, Keys{Hub: hub.Public(), HubSeq: 3})
	if err != nil || p.Seq != 3 || p.KeepRecords() != DefaultRetention {
		t.Fatalf("at the floor: %v %+v", err, p)
	}
	p, err = Load(ctx, path, Keys{Hub: hub.Public(), HubSeq: 4})
	if !errors.Is(err, ErrRollback) || p != Default() {
		t.Fatalf("below the floor: %v %+v", err, p)
	}
	if Default().KeepRecords() != 30*24*time.Hour || hubPolicyRetention().KeepRecords() != 14*24*time.Hour {
		t.Fatal("KeepRecords")
	}
}
