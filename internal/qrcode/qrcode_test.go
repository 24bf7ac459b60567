package qrcode

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func TestEncodeRoundTrip(t *testing.T) {
	raw, err := os.ReadFile("../credential/testdata/example/code.txt")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	s, err := Encode(text, LevelM)
	if err != nil {
		t.Fatal(err)
	}
	// The specification's worked example: 526 characters are version 14 at M.
	if s.Version != 14 || s.Size != 73 {
		t.Fatalf("version %d size %d, want 14 and 73", s.Version, s.Size)
	}
	img := s.Image(4)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetText() != text {
		t.Fatal("decoded text differs")
	}
}

func TestEncodeTooLong(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		wantErr error
	}{
		{name: "alphanumeric capacity exceeded", text: strings.Repeat("A", 4000), wantErr: ErrTooLong},
		{name: "fits", text: strings.Repeat("A", 3000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tt.text, LevelM)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
