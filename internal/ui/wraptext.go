package ui

import (
	"image/color"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// wrapText is a block of text wrapped by the rules of Chinese typesetting
// rather than fyne's word wrap: it breaks between two Chinese characters,
// never before closing punctuation (no "。" at the start of a line) or
// after opening punctuation, never inside a run of letters and digits (a
// licence number, a plate such as 粤B·D1234, an ID), and in Chinese text
// at a Latin space only when nothing else fits ("PIN / 解锁后" stays whole).
// Only a run wider than the whole line is cut, at the last character that
// fits.
type wrapText struct {
	widget.BaseWidget
	Text      string
	TextSize  float32 // 0: the theme's text size
	Bold      bool
	Align     fyne.TextAlign
	Color     color.Color         // nil: ColorName
	ColorName fyne.ThemeColorName // "": the foreground
	// Pad adds the theme's inner padding around the text, as a Label has.
	Pad bool
}

func newWrapText(text string, size float32) *wrapText {
	t := &wrapText{Text: text, TextSize: size, Pad: true}
	t.ExtendBaseWidget(t)
	return t
}

// SetText changes the text.
func (t *wrapText) SetText(s string) {
	t.Text = s
	t.Refresh()
}

func (t *wrapText) textSize() float32 {
	if t.TextSize > 0 {
		return t.TextSize
	}
	return theme.TextSize()
}

func (t *wrapText) ink() color.Color {
	if t.Color != nil {
		return t.Color
	}
	n := t.ColorName
	if n == "" {
		n = theme.ColorNameForeground
	}
	return theme.Color(n)
}

func (t *wrapText) pad() float32 {
	if t.Pad {
		return theme.InnerPadding()
	}
	return 0
}

func (t *wrapText) CreateRenderer() fyne.WidgetRenderer {
	return &wrapTextRenderer{t: t}
}

type wrapTextRenderer struct {
	t     *wrapText
	texts []*canvas.Text
	// The last breaking, reused while text, size, style and width stay:
	// layouts ask for MinSize many times per frame.
	key   wrapKey
	lines []string
	seg   float32 // the widest unbreakable segment of key's text
	segOf wrapKey
	// Whether the bold face covers boldText.
	boldText          string
	boldOK, boldKnown bool
}

type wrapKey struct {
	text  string
	size  float32
	bold  bool
	width float32
}

func (r *wrapTextRenderer) Destroy() {}

func (r *wrapTextRenderer) Objects() []fyne.CanvasObject {
	objs := make([]fyne.CanvasObject, len(r.texts))
	for i, t := range r.texts {
		objs[i] = t
	}
	return objs
}

// style is bold when asked and when the bold face has every character
// (a rare character of a name is drawn regular rather than as a box).
func (r *wrapTextRenderer) style() fyne.TextStyle {
	if !r.t.Bold {
		return fyne.TextStyle{}
	}
	if r.boldText != r.t.Text || !r.boldKnown {
		r.boldText, r.boldOK, r.boldKnown = r.t.Text, boldCovers(r.t.Text), true
	}
	return fyne.TextStyle{Bold: r.boldOK}
}

// measure is the width of s as drawn.
func (r *wrapTextRenderer) measure(s string) float32 {
	return fyne.MeasureText(s, r.t.textSize(), r.style()).Width
}

func (r *wrapTextRenderer) lineHeight() float32 {
	return fyne.MeasureText("国Ag", r.t.textSize(), r.style()).Height
}

// breakFor breaks the text for an inner width w (≤ 0: no limit).
func (r *wrapTextRenderer) breakFor(w float32) []string {
	k := wrapKey{text: r.t.Text, size: r.t.textSize(), bold: r.style().Bold, width: max(w, 0)}
	if k == r.key && r.lines != nil {
		return r.lines
	}
	var out []string
	for _, para := range strings.Split(r.t.Text, "\n") {
		if w <= 0 {
			out = append(out, para)
			continue
		}
		out = append(out, wrapLines(para, w, r.measure)...)
	}
	r.key, r.lines = k, out
	return out
}

func (r *wrapTextRenderer) MinSize() fyne.Size {
	p := r.t.pad()
	inner := r.t.Size().Width - 2*p
	lines := r.breakFor(inner)
	if r.t.Size().Width <= 0 {
		lines = r.breakFor(0)
	}
	// The narrowest width that never cuts a run: the widest unbreakable
	// segment (at most a modest cap, so a layout can always shrink).
	if k := (wrapKey{text: r.t.Text, size: r.t.textSize(), bold: r.style().Bold}); k != r.segOf {
		r.seg, r.segOf = 0, k
		for _, para := range strings.Split(r.t.Text, "\n") {
			for _, s := range segments(para) {
				r.seg = max(r.seg, r.measure(strings.TrimSpace(s)))
			}
		}
	}
	return fyne.NewSize(min(r.seg, 12*r.t.textSize())+2*p, float32(len(lines))*r.lineHeight()+2*p)
}

func (r *wrapTextRenderer) Layout(size fyne.Size) {
	p := r.t.pad()
	r.rebuild(size.Width - 2*p)
	lh := r.lineHeight()
	for i, t := range r.texts {
		t.Move(fyne.NewPos(p, p+float32(i)*lh))
		t.Resize(fyne.NewSize(max(0, size.Width-2*p), lh))
	}
}

// rebuild breaks the lines for inner width w and makes their texts.
func (r *wrapTextRenderer) rebuild(w float32) {
	lines := r.breakFor(w)
	for len(r.texts) < len(lines) {
		r.texts = append(r.texts, canvas.NewText("", nil))
	}
	r.texts = r.texts[:len(lines)]
	for i, l := range lines {
		t := r.texts[i]
		t.Text = l
		t.TextSize = r.t.textSize()
		t.TextStyle = r.style()
		t.Alignment = r.t.Align
		t.Color = r.t.ink()
	}
}

func (r *wrapTextRenderer) Refresh() {
	r.Layout(r.t.Size())
	for _, t := range r.texts {
		t.Refresh()
	}
}

// closing are characters that never start a line; opening never end one.
const (
	closing = "。，、；：？！）」』”’》〉】〕…—～％‰·・,.;:!?)]}%"
	opening = "（「『“‘《〈【〔([{"
)

// isWide reports whether r is a Chinese (or other East Asian wide)
// character between which lines may break.
func isWide(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF01 && r <= 0xFF60)
}

// canBreak reports whether a line may break between a and b (a space is
// handled by the caller).
func canBreak(a, b rune) bool {
	switch {
	case strings.ContainsRune(closing, b), strings.ContainsRune(opening, a):
		return false
	case strings.ContainsRune(closing, a) && (isWide(a) || isWide(b)):
		return true // after 。，、” and the like, before Chinese
	case strings.ContainsRune(opening, b) && (isWide(b) || isWide(a)):
		return true // before （「《“ after Chinese
	}
	return isWide(a) && isWide(b)
}

// segments splits s into its unbreakable pieces (spaces stay at the end
// of the piece before them). Concatenated they are s.
func segments(s string) []string {
	rs := []rune(s)
	var out []string
	start := 0
	for i := 1; i < len(rs); i++ {
		if rs[i-1] == ' ' && rs[i] != ' ' || canBreak(rs[i-1], rs[i]) {
			out = append(out, string(rs[start:i]))
			start = i
		}
	}
	if start < len(rs) {
		out = append(out, string(rs[start:]))
	}
	return out
}

// wrapLines breaks one paragraph for width w. Text with Chinese in it
// breaks at a space only when a line has no other place to break.
func wrapLines(para string, w float32, measure func(string) float32) []string {
	rs := []rune(para)
	if len(rs) == 0 || measure(para) <= w {
		return []string{para}
	}
	han := strings.IndexFunc(para, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
	// strong[i]: a break before rune i keeps the rules; spaceAt[i]: it is
	// after a space.
	strong := make([]bool, len(rs)+1)
	space := make([]bool, len(rs)+1)
	for i := 1; i < len(rs); i++ {
		if rs[i-1] == ' ' && rs[i] != ' ' {
			space[i] = true
		} else if canBreak(rs[i-1], rs[i]) {
			strong[i] = true
		}
	}
	fits := func(a, b int) bool { return measure(strings.TrimRight(string(rs[a:b]), " ")) <= w }
	var out []string
	s := 0
	for s < len(rs) {
		if fits(s, len(rs)) {
			out = append(out, string(rs[s:]))
			break
		}
		best, bestSpace := -1, -1
		for i := s + 1; i < len(rs); i++ {
			if !strong[i] && !space[i] {
				continue
			}
			if !fits(s, i) {
				break
			}
			if space[i] {
				bestSpace = i
			} else {
				best = i
			}
		}
		if !han && bestSpace > best {
			best = bestSpace
		}
		if best < 0 {
			best = bestSpace
		}
		if best < 0 {
			// A run wider than the line: cut it at the last character that
			// fits, never leaving closing punctuation at the next start.
			best = s + 1
			for i := s + 2; i <= len(rs); i++ {
				if !fits(s, i) {
					break
				}
				if i == len(rs) || !strings.ContainsRune(closing, rs[i]) {
					best = i
				}
			}
		}
		out = append(out, strings.TrimRight(string(rs[s:best]), " "))
		s = best
		for s < len(rs) && rs[s] == ' ' {
			s++
		}
	}
	return out
}
