package scan

import (
	"context"
	"os"
	"testing"
)

func TestZZDebugOne(t *testing.T) {
	path := os.Getenv("SCAN_DEBUG_FILE")
	if path == "" {
		return
	}
	debugf = t.Logf
	defer func() { debugf = nil }()
	img, err := LoadFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewDecoder(Options{Budget: -1}).Decode(context.Background(), img)
	t.Logf("res=%+v err=%v", res, err)
}
