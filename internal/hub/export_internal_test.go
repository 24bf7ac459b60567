package hub

import (
	"testing"

	"github.com/roadcheck/roadcheck/internal/hub/wire"
)

// TestExportRowDefusesCells: the hub's CSV and XLSX exports defuse every
// cell by its first visible character, as the terminal's do.
func TestExportRowDefusesCells(t *testing.T) {
	v := &wire.RecordView{ID: "01J", Device: "T1", Officer: " =1+1", Holder: "\n=2", Plate: "\u200b=3", Notes: "＝4", ActionText: "@5", Number: "AB12"}
	cells := exportRow(v)
	want := map[string]string{"officer": "' =1+1", "holder": "'\n=2", "plate": "'\u200b=3", "notes": "'＝4", "action_text": "'@5", "number": "AB12", "id": "01J"}
	for i, col := range ExportColumns {
		if w, ok := want[col]; ok && cells[i] != w {
			t.Errorf("%s = %q, want %q", col, cells[i], w)
		}
	}
}
