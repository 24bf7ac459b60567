package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "sub", "terminal.db")
	db, err := Open(ctx, good, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not a bbolt file, just text that is long enough to look like a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.db")
	full, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, full[:100], 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{name: "locked by another handle", path: good, wantErr: ErrLocked},
		{name: "not a database", path: garbage, wantErr: ErrDamaged},
		{name: "truncated file", path: truncated, wantErr: ErrDamaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db2, err := Open(ctx, tt.path, Options{LockTimeout: 50 * time.Millisecond})
			if err == nil {
				db2.Close()
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestPanicBecomesDamaged(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error { panic("corrupt page") })
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("err = %v", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(BucketAnchors)
		return err
	}); err != nil {
		t.Fatalf("db unusable after recovered panic: %v", err)
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := Open(context.Background(), path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.Update(func(tx *bolt.Tx) error { return nil })
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("err = %v", err)
	}
}
