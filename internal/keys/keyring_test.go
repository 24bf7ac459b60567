package keys

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func TestLegacySlots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "terminal.db"))
	kf := KeyFile(filepath.Join(dir, "terminal.db.key"))
	k, err := Create(ctx, db, kf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := AddSlot(ctx, db, k, Passphrase("correct horse")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		src  Source
		want error
	}{
		{kf, nil}, {Passphrase("correct horse"), nil}, {Passphrase("wrong"), ErrWrongKey},
		{OfficerPIN("1001", "123456"), ErrWrongKey}, {Unlocked(k), nil},
	} {
		got, err := Load(ctx, db, tt.src)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.src.Slot(), err, tt.want)
		}
		if err == nil && string(got.PublicDER()) != string(k.PublicDER()) {
			t.Errorf("%s: another keyring", tt.src.Slot())
		}
	}
	if *update {
		s, _ := sealSlot(Passphrase("x"), make([]byte, 16), false)
		sl, _ := cbor.Marshal(s)
		os.WriteFile(filepath.Join("testdata", "slot-pin.cbor"), sl, 0o644)
	}
	if err := RemoveSlot(ctx, db, "pin"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveSlot(ctx, db, "keyfile"); !errors.Is(err, ErrSlot) {
		t.Errorf("removing the last slot: %v", err)
	}
	sealed, err := k.Seal([]byte("粤B12345"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k.Open(sealed, []byte("ad")); err != nil || string(pt) != "粤B12345" {
		t.Errorf("open: %q %v", pt, err)
	}
	if _, err := k.Open(sealed, []byte("other")); err == nil {
		t.Error("opened with another ad")
	}
	if a, b := k.Index("plate", "粤B12345"), k.Index("plate", "粤B12345"); string(a) != string(b) || len(a) != IndexSize {
		t.Error("index not deterministic")
	}
	if string(k.Index("plate", "x")) == string(k.Index("number", "x")) {
		t.Error("index does not separate fields")
	}
}
