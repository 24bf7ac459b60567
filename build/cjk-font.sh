#!/usr/bin/env bash
# Extracts the bold CJK face the GUI draws bold text with:
#   assets/fonts/NotoSansCJKsc-Bold-subset.otf
# from Debian's fonts-noto-cjk (NotoSansCJK-Bold.ttc, face "Noto Sans CJK SC
# Bold"; fyne refuses .ttc collections, so one face is extracted), subset
# to Latin, general and CJK punctuation, full-width forms, every GB 2312
# character and every character of the GUI's texts and the demo worlds.
# Characters outside it (rare characters in names) are drawn in the
# regular face rather than as boxes (internal/ui/fontcover.go).
#
# Licence: SIL Open Font License 1.1 (assets/fonts/LICENSE-NotoSansCJK-OFL.txt).
# Needs: apt-get install -y fonts-noto-cjk python3-fonttools
# Usage: build/cjk-font.sh
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc
out=assets/fonts/NotoSansCJKsc-Bold-subset.otf
[ -f "$src" ] || { echo "cjk-font: $src missing: apt-get install -y fonts-noto-cjk" >&2; exit 1; }
# Debian's python3 has fontTools (python3-fonttools); another python3 on PATH may not.
/usr/bin/python3 - "$src" "$out" <<'PY'
import glob, sys
from fontTools.ttLib import TTCollection
from fontTools import subset

src, out = sys.argv[1], sys.argv[2]
coll = TTCollection(src)
face = next(f for f in coll.fonts if f['name'].getDebugName(4) == 'Noto Sans CJK SC Bold')

cps = set(range(0x20, 0x7F)) | set(range(0xA0, 0x180))      # Latin
cps |= set(range(0x2000, 0x2070)) | set(range(0x2190, 0x2200))  # punctuation, arrows
cps |= set(range(0x2460, 0x2474)) | set(range(0x2500, 0x2580))  # ①…, box drawing
cps |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))  # CJK punctuation, full-width forms
for b1 in range(0xA1, 0xF8):                                   # GB 2312
    for b2 in range(0xA1, 0xFF):
        try:
            cps.add(ord(bytes([b1, b2]).decode('gb2312')))
        except UnicodeDecodeError:
            pass
texts = glob.glob('assets/i18n/*.json') + glob.glob('assets/demo/**/*', recursive=True) \
    + glob.glob('internal/demo/**/*.go', recursive=True) + glob.glob('internal/*/*.go')
for p in texts:
    try:
        cps |= {ord(ch) for ch in open(p, encoding='utf-8').read() if ord(ch) >= 0x2E80}
    except (UnicodeDecodeError, IsADirectoryError):
        pass

opts = subset.Options()
opts.layout_features = ['kern', 'liga', 'locl', 'palt', 'halt']
opts.name_IDs = ['*']
opts.name_languages = ['*']
opts.hinting = False
opts.notdef_outline = True
s = subset.Subsetter(opts)
s.populate(unicodes=sorted(cps))
s.subset(face)
face.save(out)
print(f"cjk-font: {out}: {len(cps)} code points")
PY
ls -l "$out"
