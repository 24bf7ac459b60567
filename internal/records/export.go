package records

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// formulaStarts are the characters that make a spreadsheet (Excel, WPS,
// LibreOffice) read a cell as a formula when they start it, in ASCII and
// in the full-width and small forms an input method types, which the
// spreadsheets normalise.
const formulaStarts = "=+-@\uFF1D\uFF0B\uFF0D\uFF20\uFE66\uFE62\uFE63\u2212"

// DefuseCell is THE rule for every cell of a CSV or XLSX export (rcctl,
// the GUI, the hub): a cell whose first visible character would start a
// formula gets a leading apostrophe, which spreadsheets show as text.
// "Visible" skips what a person does not see at the start of a cell:
// spaces and other white space (tab, CR, LF, U+3000), control characters
// and format characters such as U+200B ZERO WIDTH SPACE and U+FEFF, so
// " =1+1", "\n=1+1", "\u200b=1+1" and "＝1+1" are defused like "=1+1". A
// cell starting with a tab, CR or LF is defused too (some spreadsheets
// run what follows). Other cells are returned as they are.
//
// WARNING: the apostrophe protects spreadsheets, not programs that read
// the CSV as data: they see it as part of the value.
func DefuseCell(s string) string {
	if s == "" {
		return s
	}
	if strings.ContainsRune("\t\r\n", rune(s[0])) {
		return "'" + s
	}
	for _, r := range s {
		switch {
		case r == utf8.RuneError, unicode.IsSpace(r), unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune(formulaStarts, r):
			return "'" + s
		}
		return s
	}
	return s
}
