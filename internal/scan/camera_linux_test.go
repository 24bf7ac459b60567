//go:build linux

package scan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenCameraAbsent(t *testing.T) {
	dir := t.TempDir()
	notDevice := filepath.Join(dir, "video0")
	if err := os.WriteFile(notDevice, []byte("not a device"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		device  string
		wantErr error
	}{
		{name: "missing path", device: filepath.Join(dir, "video9"), wantErr: ErrNoCamera},
		{name: "regular file", device: notDevice, wantErr: ErrNoCamera},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cam, err := OpenCamera(context.Background(), CameraOptions{Device: tt.device})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("OpenCamera error = %v, want %v", err, tt.wantErr)
			}
			if cam != nil {
				cam.Close()
			}
		})
	}
}
