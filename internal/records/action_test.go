package records

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
	"github.com/roadcheck/roadcheck/internal/policy"
	"github.com/roadcheck/roadcheck/internal/storage"
)

func TestParseAction(t *testing.T) {
	tests := []struct {
		in      string
		want    Action
		wantErr error
	}{
		{in: "release", want: ActionRelease},
		{in: "放行", want: ActionRelease},
		{in: "other", want: ActionOther},
		{in: "none", want: ActionNone},
		{in: "NONE", want: ActionNone},
		{in: "未处置", want: ActionNone},
		{in: "nothing", wantErr: ErrInvalidCheck},
		{in: "", wantErr: ErrInvalidCheck},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAction(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseAction(%q): %v, want %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Fatalf("ParseAction(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	if ActionNone.String() != "none" || ActionNone.Chinese() != "未处置" || !ActionNone.Valid() || Action(8).Valid() {
		t.Fatalf("ActionNone: %q %q %v", ActionNone.String(), ActionNone.Chinese(), ActionNone.Valid())
	}
}

func TestReadAction(t *testing.T) {
	tests := []struct {
		name     string
		a        Action
		text     string
		want     Action
		wantText string
	}{
		{name: "none", a: ActionNone, want: ActionNone},
		{name: "legacy none (other + 未处置)", a: ActionOther, text: "未处置", want: ActionNone},
		{name: "other with another text", a: ActionOther, text: "未处置，已口头提醒", want: ActionOther, wantText: "未处置，已口头提醒"},
		{name: "release", a: ActionRelease, want: ActionRelease},
		{name: "release with the text stays release", a: ActionRelease, text: "未处置", want: ActionRelease, wantText: "未处置"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, text := ReadAction(tt.a, tt.text)
			if got != tt.want || text != tt.wantText {
				t.Fatalf("ReadAction(%v, %q) = %v, %q; want %v, %q", tt.a, tt.text, got, text, tt.want, tt.wantText)
			}
		})
	}
}

// A check left without an outcome is stored, signed and read back as
// ActionNone; one written the old way still reads as 未处置.
func TestActionNoneRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	c := sampleCheck(1)
	c.Action = ActionNone
	r := mustAppend(t, f.store, c)
	old := sampleCheck(2)
	old.Action, old.ActionText = ActionOther, "未处置"
	r2 := mustAppend(t, f.store, old)
	f.reopen(t, storage.Options{NoSync: true})
	got, err := f.store.Get(ctx, r.ID)
	if err != nil || got.Damaged != nil {
		t.Fatalf("get: %v %v", err, got.Damaged)
	}
	if got.Action != ActionNone || got.ActionText != "" {
		t.Fatalf("action %v %q", got.Action, got.ActionText)
	}
	canon, err := got.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := DecodeCanonical(canon)
	if err != nil || dec.Action != ActionNone {
		t.Fatalf("decode: %v %v", err, dec)
	}
	got2, err := f.store.Get(ctx, r2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a, text := ReadAction(got2.Action, got2.ActionText); a != ActionNone || text != "" {
		t.Fatalf("legacy record reads as %v %q", a, text)
	}
	rep, err := f.store.Audit(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %v %+v", err, rep)
	}
}

// Every check record carries the policy in force inside its signed bytes;
// records without one still read (nil).
func TestPolicyRefRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	ref := policy.Ref{Source: policy.SourceHub, Seq: 4, Digest: gm.SM3([]byte("a signed policy")),
		ClockSkew: 120*time.Second + 400*time.Millisecond, MaxTrustAge: 72 * time.Hour}
	c := sampleCheck(1)
	c.Action, c.Policy = ActionNone, &ref
	r := mustAppend(t, f.store, c)
	if r.Policy == &ref || r.Policy.ClockSkew != 120*time.Second {
		t.Fatalf("Append kept %+v (want a copy to the second)", r.Policy)
	}
	def := policy.Default().Ref()
	c2 := sampleCheck(2)
	c2.Policy = &def
	r2 := mustAppend(t, f.store, c2)
	r3 := mustAppend(t, f.store, sampleCheck(3)) // no policy: as before records carried it
	bad := sampleCheck(4)
	bad.Policy = &policy.Ref{Source: policy.SourceDevice, Seq: 1, ClockSkew: time.Second}
	if _, err := f.store.Append(ctx, bad); !errors.Is(err, ErrInvalidCheck) {
		t.Fatalf("a device policy without digest: %v", err)
	}
	f.reopen(t, storage.Options{NoSync: true})
	want := ref
	want.ClockSkew = 120 * time.Second
	for _, tt := range []struct {
		id   ID
		want *policy.Ref
	}{{r.ID, &want}, {r2.ID, &def}, {r3.ID, nil}} {
		got, err := f.store.Get(ctx, tt.id)
		if err != nil || got.Damaged != nil {
			t.Fatalf("get: %v %v", err, got.Damaged)
		}
		if (got.Policy == nil) != (tt.want == nil) || got.Policy != nil && *got.Policy != *tt.want {
			t.Fatalf("policy %+v, want %+v", got.Policy, tt.want)
		}
	}
	got, _ := f.store.Get(ctx, r.ID)
	if got.Policy.String() != "hub#4 120s/72h" || def.String() != "default 300s/168h" {
		t.Fatalf("String: %q %q", got.Policy.String(), def.String())
	}
	rep, err := f.store.Audit(ctx)
	if err != nil || !rep.OK() || rep.Records != 3 {
		t.Fatalf("audit: %v %+v", err, rep)
	}
}

// The highest policy sequence applied only rises, per signer; the hub's
// pinned policy key comes back as a key.
func TestPolicyKeysAndFloors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	k, err := f.store.PolicyKeys(ctx)
	if err != nil || k.Hub != nil || k.Device == nil || k.DeviceID != "T-TEST-1" || k.HubSeq != 0 || k.DeviceSeq != 0 {
		t.Fatalf("fresh: %v %+v", err, k)
	}
	hubKey, err := gm.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := hubKey.Public().MarshalPKIX()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.UpdateSyncState(ctx, func(st *SyncState) { st.HubPolicyKey = der }); err != nil {
		t.Fatal(err)
	}
	for _, p := range []policy.Policy{
		{Source: policy.SourceHub, Seq: 5}, {Source: policy.SourceHub, Seq: 3}, {Source: policy.SourceDevice, Seq: 2},
		{Source: policy.SourceDefault, Seq: 9},
	} {
		if err := f.store.NotePolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	f.reopen(t, storage.Options{NoSync: true})
	k, err = f.store.PolicyKeys(ctx)
	if err != nil || k.Hub == nil || !k.Hub.Equal(hubKey.Public()) || k.HubSeq != 5 || k.DeviceSeq != 2 {
		t.Fatalf("after: %v %+v", err, k)
	}
}
