package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// BenchmarkVerdictScreen builds and lays out the full-screen verdict of a
// vehicle licence at 1280×800 (the part of decode → paint the GUI spends
// before the GL driver draws).
func BenchmarkVerdictScreen(b *testing.B) {
	fa := test.NewTempApp(b)
	fa.Settings().SetTheme(newTheme(PaletteLight))
	c, err := loadCatalog()
	if err != nil {
		b.Fatal(err)
	}
	res := vehicleResult()
	for b.Loop() {
		v := buildVerdictScreen(c, res, nil, verdictActions{})
		w := test.NewWindow(v.root)
		w.Resize(fyne.NewSize(1280, 800))
		w.Close()
	}
}
