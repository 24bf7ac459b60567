package records

import (
	"context"
	"errors"
	"testing"

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
