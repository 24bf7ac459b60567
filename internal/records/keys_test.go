package records

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/roadcheck/roadcheck/internal/storage"
)

// Each officer has a slot of their own, named after the officer ID; every
// slot unlocks the same data key, and PeekDevice lists them without a key.
func TestOfficerSlots(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, storage.Options{NoSync: true})
	r := mustAppend(t, f.store, sampleCheck(1))
	for _, ks := range []KeySource{OfficerPIN("9001", "900190"), OfficerPIN("1001", "100110")} {
		if err := f.store.AddKeySource(ctx, ks); err != nil {
			t.Fatal(err)
		}
	}
	d, err := PeekDevice(ctx, f.db)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"keyfile", "officer/1001", "officer/9001"}; d.ID != "T-TEST-1" || !slices.Equal(d.Slots, want) {
		t.Fatalf("PeekDevice = %+v, want slots %v", d, want)
	}
	if !d.HasSlot("officer/1001") || d.HasSlot("officer/2001") {
		t.Errorf("HasSlot wrong for %v", d.Slots)
	}
	tests := []struct {
		name    string
		ks      KeySource
		wantErr error
	}{
		{name: "supervisor", ks: OfficerPIN("9001", "900190")},
		{name: "inspector", ks: OfficerPIN("1001", "100110")},
		{name: "another officer's PIN", ks: OfficerPIN("1001", "900190"), wantErr: ErrWrongKey},
		{name: "officer without slot", ks: OfficerPIN("2001", "200120"), wantErr: ErrWrongKey},
		{name: "unnamed PIN slot", ks: Passphrase("100110"), wantErr: ErrWrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, f.db, tt.ks, Options{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if e, err := s.Get(ctx, r.ID); err != nil || e.Plate != "粤B12345" {
					t.Fatalf("get: %v %+v", err, e)
				}
			}
		})
	}
	if err := f.store.RemoveKeySource(ctx, "keyfile"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.store.KeySlots(ctx); err != nil || !slices.Equal(got, []string{"officer/1001", "officer/9001"}) {
		t.Fatalf("KeySlots = %v, %v", got, err)
	}
}

// A database without a device peeks as the zero Device.
func TestPeekDeviceEmpty(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, t.TempDir()+"/empty.db", storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if d, err := PeekDevice(ctx, db); err != nil || d.ID != "" || d.Slots != nil {
		t.Fatalf("PeekDevice = %+v, %v", d, err)
	}
}
