package storage

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	secret := []byte("0123456789abcdef")
	path := filepath.Join(dir, "terminal.db.key")
	if err := WriteKeyFile(path, secret); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode().Perm(), err)
	}
	raw, _ := os.ReadFile(path)
	if string(raw) != "30313233343536373839616263646566\n" {
		t.Fatalf("file holds %q", raw)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// A second writer finds the file and leaves it alone.
	if err := WriteKeyFile(path, []byte("another secret!!")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write: %v, want fs.ErrExist", err)
	}

	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		size    int
		want    []byte
		wantErr error
	}{
		{name: "written by WriteKeyFile", path: path, size: 16, want: secret},
		{name: "without newline, upper case", path: write("upper.key", "30313233343536373839414243444546", 0o600), size: 16, want: []byte("0123456789ABCDEF")},
		{name: "missing", path: filepath.Join(dir, "none.key"), size: 16, wantErr: fs.ErrNotExist},
		{name: "readable by others", path: write("loose.key", "30313233343536373839616263646566\n", 0o644), size: 16, wantErr: ErrKeyFile},
		{name: "writable by group", path: write("group.key", "30313233343536373839616263646566\n", 0o620), size: 16, wantErr: ErrKeyFile},
		{name: "not hex", path: write("text.key", "not a key\n", 0o600), size: 16, wantErr: ErrKeyFile},
		{name: "wrong size", path: path, size: 32, wantErr: ErrKeyFile},
		{name: "a directory", path: dir, size: 16, wantErr: ErrKeyFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadKeyFile(tt.path, tt.size)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("secret %x, want %x", got, tt.want)
			}
		})
	}
}

func TestWriteKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{name: "no such directory", path: filepath.Join(dir, "missing", "x.key"), wantErr: ErrKeyFile},
		{name: "exists", path: dir, wantErr: fs.ErrExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := WriteKeyFile(tt.path, []byte{1, 2}); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
