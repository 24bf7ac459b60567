//go:build !cgo || android || ios

package imagecodec

import (
	"context"
	"errors"
	"testing"
)

// TestWithoutCgo: a build without the C libraries says so, and package
// scan decodes with image/jpeg and image/png instead.
func TestWithoutCgo(t *testing.T) {
	if Available {
		t.Fatal("Available in a build without cgo")
	}
	jpegStart := []byte{0xff, 0xd8, 0xff, 0xd9}
	if _, err := Grey(context.Background(), jpegStart, Options{MinPixels: 1, MaxMemory: 1 << 20}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("error = %v, want ErrUnsupported", err)
	}
}
