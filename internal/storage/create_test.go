package storage

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCreateBuckets: buckets are made once (again: no change, no error);
// a read-only database answers ErrReadOnly, a cancelled context its error.
func TestCreateBuckets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := [][]byte{[]byte("a"), []byte("b")}
	for range 2 {
		if err := db.CreateBuckets(ctx, names...); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.View(func(tx *bolt.Tx) error {
		for _, n := range names {
			if tx.Bucket(n) == nil {
				return errors.New("missing bucket " + string(n))
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.CreateBuckets(cancelled, []byte("c")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	db.Close()
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.CreateBuckets(ctx, names...); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only: %v", err)
	}
}

func TestMillis(t *testing.T) {
	at := time.Date(2026, 11, 27, 2, 0, 0, 123e6, time.UTC)
	for _, c := range []struct {
		t  time.Time
		ms int64
	}{{time.Time{}, 0}, {at, at.UnixMilli()}} {
		if got := Millis(c.t); got != c.ms {
			t.Errorf("Millis(%v) = %d, want %d", c.t, got, c.ms)
		}
		if got := FromMillis(c.ms); !got.Equal(c.t) {
			t.Errorf("FromMillis(%d) = %v, want %v", c.ms, got, c.t)
		}
	}
}

// TestGetAndAllDecoded: a stored value decodes, a missing key is the
// caller's not-found error naming it, a decode error comes back, and All
// decodes every pair in key order.
func TestGetAndAllDecoded(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bucket := []byte("things")
	if err := db.CreateBuckets(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		for _, kv := range [][2]string{{"b", "2"}, {"a", "1"}, {"z", "bad"}} {
			if err := b.Put([]byte(kv[0]), []byte(kv[1])); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	errNotFound, errBad := errors.New("not found"), errors.New("bad value")
	decode := func(k string, v []byte) (string, error) {
		if string(v) == "bad" {
			return "", errBad
		}
		return k + "=" + string(v), nil
	}
	tests := []struct {
		key, want string
		wantErr   error
	}{
		{key: "a", want: "a=1"},
		{key: "missing", wantErr: errNotFound},
		{key: "z", wantErr: errBad},
	}
	for _, tt := range tests {
		got, err := GetDecoded(ctx, db, bucket, tt.key, "thing", errNotFound, decode)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("GetDecoded(%q) = %q, %v; want %q, %v", tt.key, got, err, tt.want, tt.wantErr)
		}
	}
	all, err := AllDecoded(ctx, db, bucket, decode)
	if !errors.Is(err, errBad) || len(all) != 3 || all[0] != "a=1" || all[1] != "b=2" {
		t.Fatalf("AllDecoded = %q, %v", all, err)
	}
}
