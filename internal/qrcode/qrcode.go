package qrcode

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// ErrTooLong means the text does not fit a version-40 symbol at the level.
var ErrTooLong = errors.New("qrcode: text does not fit a QR code")

// Level is the error-correction level.
type Level int

// Levels RTC1 allows.
const (
	LevelM Level = iota
	LevelQ
)

func (l Level) zxing() decoder.ErrorCorrectionLevel {
	if l == LevelQ {
		return decoder.ErrorCorrectionLevel_Q
	}
	return decoder.ErrorCorrectionLevel_M
}

// Symbol is an encoded QR code.
type Symbol struct {
	Version int // 1–40
	Size    int // modules per side
	matrix  *encoder.ByteMatrix
}

// Encode encodes text (alphanumeric mode when the text allows it, as RTC1
// texts do) at level l.
func Encode(text string, l Level) (*Symbol, error) {
	code, err := encoder.Encoder_encode(text, l.zxing(), map[gozxing.EncodeHintType]any{})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTooLong, err)
	}
	m := code.GetMatrix()
	return &Symbol{Version: code.GetVersion().GetVersionNumber(), Size: m.GetWidth(), matrix: m}, nil
}

// Image renders the symbol with modulePx pixels per module and the standard
// quiet zone of 4 modules, black on white.
func (s *Symbol) Image(modulePx int) *image.Gray {
	if modulePx < 1 {
		modulePx = 1
	}
	const quiet = 4
	side := (s.Size + 2*quiet) * modulePx
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < s.Size; y++ {
		for x := 0; x < s.Size; x++ {
			if s.matrix.Get(x, y) != 1 {
				continue
			}
			for dy := 0; dy < modulePx; dy++ {
				for dx := 0; dx < modulePx; dx++ {
					img.SetGray((x+quiet)*modulePx+dx, (y+quiet)*modulePx+dy, color.Gray{})
				}
			}
		}
	}
	return img
}
