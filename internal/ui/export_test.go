package ui

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// TestExportDefusesHiddenFormulas: the GUI's CSV and XLSX exports defuse a
// cell by its first visible character (records.DefuseCell), so a formula
// behind a space, a line feed, a zero-width space or typed as a full-width
// ＝ is shown as text, in every text column.
func TestExportDefusesHiddenFormulas(t *testing.T) {
	c := newCatalog(t, LangZH)
	row := Row{
		At:         demoTime(),
		Verdict:    verify.Valid,
		Officer:    " =1+1",
		Holder:     "\n=HYPERLINK(\"http://x\")",
		Plate:      "\u200b=1+1",
		Notes:      "＝1+1",
		Number:     "\u3000@SUM(A1)",
		ActionText: "plain text",
	}
	want := map[string]string{
		"检查员":  "' =1+1",
		"持证主体": "'\n=HYPERLINK(\"http://x\")",
		"车牌号码": "'\u200b=1+1",
		"备注":   "'＝1+1",
		"证照编号": "'\u3000@SUM(A1)",
	}
	check := func(format string, head, line []string) {
		t.Helper()
		for col, w := range want {
			i := slices.Index(head, col)
			if i < 0 {
				t.Fatalf("%s: no column %q in %q", format, col, head)
			}
			if line[i] != w {
				t.Errorf("%s: column %s = %q, want %q", format, col, line[i], w)
			}
		}
		if !slices.Contains(line, "plain text") {
			t.Errorf("%s: a plain cell was changed: %q", format, line)
		}
	}

	var buf bytes.Buffer
	if err := writeCSV(&buf, c, []Row{row}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\uFEFF")))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("CSV: %d rows, err %v", len(recs), err)
	}
	check("csv", recs[0], recs[1])

	buf.Reset()
	if err := writeXLSX(&buf, c, []Row{row}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(c.T("export.sheet"))
	if err != nil || len(rows) != 2 {
		t.Fatalf("XLSX: %d rows, err %v", len(rows), err)
	}
	check("xlsx", rows[0], rows[1])
}
