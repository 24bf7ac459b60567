package hub_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/hub"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/storage"
)

// The hub's policy key lives in its keyring beside its other keys: the
// same after every opening, its own (not the encryption or audit key);
// a legacy key file derives one, the same on every replica.
func TestPolicyKeyInKeyring(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	kr, err := hub.OpenKeyring(path, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	pk := kr.Keys.PolicyKey()
	if pk == nil || pk.Equal(kr.Keys.EncryptionKey()) || pk.Equal(kr.Keys.SigningKey()) {
		t.Fatalf("policy key %v", pk)
	}
	again, err := hub.OpenKeyring(path, nil, false)
	if err != nil || !again.Keys.PolicyKey().Equal(pk) {
		t.Fatalf("reopened: %v", err)
	}
	legacy := filepath.Join(t.TempDir(), "hub.db.key")
	k1, err := hub.LoadKeys(legacy, true)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := hub.LoadKeys(legacy, false)
	if err != nil || k1.PolicyKey() == nil || !k1.PolicyKey().Equal(k2.PolicyKey()) || k1.PolicyKey().Equal(k1.SigningKey()) {
		t.Fatalf("derived policy keys differ: %v", err)
	}
}

func openPolicyHub(t *testing.T) (*hub.BoltStore, *hub.Keys) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := storage.Open(ctx, path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := hub.NewBoltStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := hub.OpenKeyring(path, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return st, kr.Keys
}

func TestSetPolicy(t *testing.T) {
	ctx := context.Background()
	st, keys := openPolicyHub(t)
	at := time.Date(2026, 12, 1, 8, 30, 15, 500e6, time.UTC)
	if _, _, err := hub.PublishedPolicy(ctx, st, keys.PolicyKey()); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("before any: %v", err)
	}
	want := policy.Policy{ClockSkew: 120 * time.Second, MaxTrustAge: 72 * time.Hour, AutoLock: 5 * time.Minute, Retention: 14 * 24 * time.Hour}
	tests := []struct {
		name    string
		p       policy.Policy
		wantSeq uint64
		wantErr error
	}{
		{name: "first", p: want, wantSeq: 1},
		{name: "second", p: want, wantSeq: 2},
		{name: "skew beyond the default without a supervisor", p: policy.Policy{ClockSkew: 600 * time.Second, MaxTrustAge: time.Hour, AutoLock: time.Minute}, wantErr: policy.ErrOutOfBounds},
		{name: "retention of two years", p: policy.Policy{ClockSkew: time.Second, MaxTrustAge: time.Hour, AutoLock: time.Minute, Retention: 730 * 24 * time.Hour}, wantErr: policy.ErrOutOfBounds},
		{name: "auto-lock off", p: policy.Policy{ClockSkew: time.Second, MaxTrustAge: time.Hour}, wantErr: policy.ErrOutOfBounds},
		{name: "wider with a supervisor", p: policy.Policy{Supervisor: "9001", ClockSkew: 900 * time.Second, MaxTrustAge: 10 * 24 * time.Hour, AutoLock: time.Minute}, wantSeq: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := st.Manifest(ctx)
			got, m, err := hub.SetPolicy(ctx, st, keys, tt.p, at)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SetPolicy: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if after, _ := st.Manifest(ctx); after.Seq != before.Seq {
					t.Fatal("a refused policy changed the manifest")
				}
				return
			}
			if got.Source != policy.SourceHub || got.Seq != tt.wantSeq || !got.Issued.Equal(at.Truncate(time.Second)) ||
				got.ClockSkew != tt.p.ClockSkew || m.Policy == nil || m.Policy.Seq != tt.wantSeq || m.Seq != before.Seq+1 {
				t.Fatalf("published %+v, manifest %+v", got, m.Policy)
			}
			pub, data, err := hub.PublishedPolicy(ctx, st, keys.PolicyKey())
			if err != nil || pub != got || pub.Digest != m.Policy.Digest {
				t.Fatalf("PublishedPolicy: %v %+v", err, pub)
			}
			if _, err := policy.Verify(data, policy.Keys{Hub: keys.EncryptionKey()}); !errors.Is(err, policy.ErrBadSignature) {
				t.Fatalf("verifies with another key: %v", err)
			}
			j := hub.ManifestJSON(&m)
			if j.Policy == nil || j.Policy.Seq != tt.wantSeq || j.Policy.Digest != m.Policy.Digest.String() {
				t.Fatalf("manifest JSON policy %+v", j.Policy)
			}
			obj, err := st.Object(ctx, m.Policy.Digest)
			if err != nil || obj.Type != wire.ObjectPolicy {
				t.Fatalf("object: %v", err)
			}
			obj.Close()
		})
	}
	// A policy signed with another key (not the one terminals pinned) is
	// published, but PublishedPolicy, like the terminals, refuses it.
	other, err := hub.OpenKeyring(filepath.Join(t.TempDir(), "other.db"), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := hub.SetPolicy(ctx, st, other.Keys, want, at); err != nil {
		t.Fatal(err)
	}
	if _, _, err := hub.PublishedPolicy(ctx, st, keys.PolicyKey()); !errors.Is(err, policy.ErrBadSignature) {
		t.Fatalf("a policy signed by another key is published as valid: %v", err)
	}
}
