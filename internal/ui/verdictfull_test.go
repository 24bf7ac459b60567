package ui

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// The full-screen verdict at 1280×800 and 800×1280, in both palettes: the
// band spans the width and at least a third of the height, the scan panel
// gives way, the reasons are at least 28 dp, and the key fields of the
// licence are on screen without scrolling (above the outcome panel). Its
// markup is kept as a golden for each.
func TestFullScreenVerdict(t *testing.T) {
	for _, pal := range []Palette{PaletteLight, PaletteDark} {
		for _, size := range []fyne.Size{{Width: 1280, Height: 800}, {Width: 800, Height: 1280}} {
			for _, smp := range []struct {
				name string
				keys []string
			}{
				{"valid-vehicle", []string{"field.plate", "field.operator", "field.number", "field.validUntil"}},
				{"valid-practitioner", []string{"field.holder", "field.holderId", "field.number", "field.validUntil"}},
			} {
				orient := "landscape"
				if size.Height > size.Width {
					orient = "portrait"
				}
				name := fmt.Sprintf("%s_%s_%s", smp.name, pal, orient)
				t.Run(name, func(t *testing.T) {
					e := newEnv(t)
					e.signIn(t, "1001", "1234")
					set := e.app.set
					set.Palette = pal
					e.app.applySettings(set)
					e.app.tabs.Select(e.app.tabCheck)
					e.app.win.Resize(size)
					e.tapSample(t, smp.name)
					// A second layout pass, as the GL driver makes once text
					// has wrapped at its real width.
					e.app.win.Content().Refresh()
					v := e.app.check.shown
					d := fyne.CurrentApp().Driver()
					tab := e.app.checkBox
					if e.app.scanScr.root.Visible() {
						t.Error("the scan panel did not give way")
					}
					bandPos, bandSize := d.AbsolutePositionForObject(v.layout.band), v.layout.band.Size()
					if bandSize.Width < tab.Size().Width || bandSize.Height < tab.Size().Height/3 {
						t.Errorf("band %v in a tab of %v: want full width, a third of the height", bandSize, tab.Size())
					}
					panelTop := d.AbsolutePositionForObject(v.layout.bottom).Y
					for _, k := range smp.keys {
						l := v.fields[k]
						if l == nil {
							t.Fatalf("no field %s", k)
						}
						pos := d.AbsolutePositionForObject(l)
						if !l.Visible() || pos.Y < bandPos.Y+bandSize.Height || pos.Y+l.MinSize().Height > panelTop+1 {
							t.Errorf("%s at y %.0f–%.0f: not on screen between the band (to %.0f) and the outcomes (from %.0f)",
								k, pos.Y, pos.Y+l.MinSize().Height, bandPos.Y+bandSize.Height, panelTop)
						}
					}
					for _, r := range v.reasons {
						if r.textSize() < 28 {
							t.Errorf("reason %q at %.0f dp", r.Text, r.textSize())
						}
					}
					if v.symbol.symbolName() != "✓" || v.ident.Text == "" {
						t.Errorf("symbol %q, identifying line %q", v.symbol.symbolName(), v.ident.Text)
					}
					assertCanvasMarkup(t, "full_"+name+".xml", e.app.win.Canvas())
					test.NewTempApp(t) // a fresh theme for the next run
				})
			}
		}
	}
}
