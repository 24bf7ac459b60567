package assets

import (
	"embed"
	_ "embed" // the font and icon are embedded as bytes
)

// UIFontName is the file name of the bundled CJK font (see
// fonts/LICENSE-DroidSansFallbackFull.txt for its origin and licence).
const UIFontName = "DroidSansFallbackFull.ttf"

// UIFont is the single-face TrueType font every GUI text is drawn with:
// fyne's own font has no CJK glyphs and fyne refuses .ttc collections.
//
//go:embed fonts/DroidSansFallbackFull.ttf
var UIFont []byte

// UIBoldFontName is the file name of the bundled bold CJK face (see
// fonts/LICENSE-NotoSansCJK-OFL.txt; build/cjk-font.sh extracts it).
const UIBoldFontName = "NotoSansCJKsc-Bold-subset.otf"

// UIBoldFont is the single-face OpenType font bold text is drawn with:
// Noto Sans CJK SC Bold, subset to Latin, punctuation, GB 2312 and the
// GUI's own texts, so that a Chinese heading is bold in every character.
//
//go:embed fonts/NotoSansCJKsc-Bold-subset.otf
var UIBoldFont []byte

// AppIcon is the 512×512 PNG application icon.
//
//go:embed icons/roadcheck.png
var AppIcon []byte

// I18n holds the GUI translations, one go-i18n / fyne lang JSON file per
// language in the directory "i18n": zh-Hans.json (the default) and en.json.
//
//go:embed i18n/*.json
var I18n embed.FS
