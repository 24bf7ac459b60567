package ui

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A fake measure: each rune one unit wide, so widths are rune counts.
func runes(s string) float32 { return float32(utf8.RuneCountInString(s)) }

func TestWrapLines(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		width float32
		want  []string
	}{
		{name: "fits", text: "证照已超过有效期。", width: 20, want: []string{"证照已超过有效期。"}},
		{name: "no 。 at a line start", text: "证照已超过有效期。请核对。", width: 8,
			want: []string{"证照已超过有效", "期。请核对。"}},
		{name: "licence number kept whole", text: "经营许可证号为粤交运管许可深字440300001234号，不符", width: 16,
			want: []string{"经营许可证号为粤交运管许可深", "字440300001234号，不", "符"}},
		{name: "plate kept whole", text: "车牌号码为“粤B·D1234”的车辆", width: 12,
			want: []string{"车牌号码为", "“粤B·D1234”的车", "辆"}},
		{name: "no break at a Latin space in Chinese", text: "请输入 PIN / 解锁后再扫码", width: 12,
			want: []string{"请输入 PIN / 解锁", "后再扫码"}},
		{name: "English breaks at spaces", text: "The licence has expired today", width: 12,
			want: []string{"The licence", "has expired", "today"}},
		{name: "opening bracket stays with its text", text: "发证机关深圳市交通运输局（440300）", width: 13,
			want: []string{"发证机关深圳市交通运输局", "（440300）"}},
		{name: "an over-long run is cut, never before punctuation", text: "ABCDEFGHIJKLMNOP。", width: 6,
			want: []string{"ABCDEF", "GHIJKL", "MNOP。"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrapLines(tt.text, tt.width, runes)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("wrapLines(%q, %v) = %q, want %q", tt.text, tt.width, got, tt.want)
			}
			for _, l := range got {
				if runes(l) > tt.width {
					t.Errorf("line %q wider than %v", l, tt.width)
				}
				if r, _ := utf8.DecodeRuneInString(l); strings.ContainsRune(closing, r) {
					t.Errorf("line %q starts with closing punctuation", l)
				}
			}
			if strings.ReplaceAll(strings.Join(got, ""), " ", "") != strings.ReplaceAll(tt.text, " ", "") {
				t.Errorf("text lost: %q", got)
			}
		})
	}
}
