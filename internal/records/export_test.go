package records

import "testing"

// TestDefuseCell: formulas are defused by their first visible character,
// whatever invisible characters come before it (the finding: only the
// first byte was looked at).
func TestDefuseCell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: ""},
		{name: "text", in: "粤B5D832", want: "粤B5D832"},
		{name: "number", in: "12.5", want: "12.5"},
		{name: "equals", in: "=1+1", want: "'=1+1"},
		{name: "plus", in: "+86 138", want: "'+86 138"},
		{name: "minus", in: "-2", want: "'-2"},
		{name: "at", in: "@SUM(A1)", want: "'@SUM(A1)"},
		{name: "leading space", in: " =1+1", want: "' =1+1"},
		{name: "leading spaces and ideographic space", in: "  \u3000=HYPERLINK(\"x\")", want: "'  \u3000=HYPERLINK(\"x\")"},
		{name: "leading tab", in: "\t=1", want: "'\t=1"},
		{name: "leading LF", in: "\n=1", want: "'\n=1"},
		{name: "leading CR", in: "\r=1", want: "'\r=1"},
		{name: "tab before text", in: "\tabc", want: "'\tabc"},
		{name: "zero width space", in: "\u200b=1+1", want: "'\u200b=1+1"},
		{name: "byte order mark", in: "\ufeff+1", want: "'\ufeff+1"},
		{name: "word joiner and LRM", in: "\u2060\u200e@x", want: "'\u2060\u200e@x"},
		{name: "fullwidth equals", in: "＝1+1", want: "'＝1+1"},
		{name: "fullwidth plus", in: "＋1", want: "'＋1"},
		{name: "fullwidth minus", in: "－1", want: "'－1"},
		{name: "fullwidth at", in: "＠x", want: "'＠x"},
		{name: "small equals", in: "\ufe66x", want: "'\ufe66x"},
		{name: "minus sign", in: "\u22121", want: "'\u22121"},
		{name: "formula later", in: "a=1", want: "a=1"},
		{name: "space then text", in: " a", want: " a"},
		{name: "only spaces", in: "  ", want: "  "},
		{name: "invalid UTF-8 then equals", in: "\xff=1", want: "'\xff=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefuseCell(tt.in); got != tt.want {
				t.Fatalf("DefuseCell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
