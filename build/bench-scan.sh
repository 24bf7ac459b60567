#!/usr/bin/env bash
# bench-scan.sh: the scan decoder against zbar on a synthetic corpus.
#
# Generates a deterministic corpus of camera-like frames of RTC1 codes into
# a temporary folder and decodes every frame with the project's decoder
# under its real per-frame budget and with zbarimg (Debian zbar-tools,
# installed by `build/deps.sh scan`), then prints the decode rate of both
# per family and overall, and the decoder's median and p95 time per frame
# by frame size. Two groups of families:
#
#   classic  13 families (blur, motion, noise, rotation, perspective, glare,
#            low contrast, uneven light, JPEG, inverted, moiré, all at
#            once), codes of versions 12–17, at 640x480, 1280x720 and
#            1920x1080;
#   hard     7 physically modelled families of real-length codes (versions
#            13–25): curved surfaces, keystone, overexposed screens, lamp
#            glare over a finder, small codes in 720p/1080p frames, glass
#            and mirrors, dark-mode screens tilted or with glare — every
#            frame proved readable in principle by the generator's oracle
#            (200 frames at PER=10).
#
# Environment: SEED (corpus seed), PER (frames per family and size),
# SIZES (comma-separated), FAMILIES (all, classic, hard or a list),
# BUDGET (per-frame budget, e.g. 35ms), CPUTIME=1 (budget and time by the
# decoding thread's CPU time instead of the wall clock: for a machine busy
# with other work), OUT (also write the JSON summary there), KEEP=1 (keep
# the corpus).
set -euo pipefail
cd "$(dirname "$0")/.."

SEED=${SEED:-20261127}
PER=${PER:-10}
SIZES=${SIZES:-640x480,1280x720,1920x1080}
FAMILIES=${FAMILIES:-all}
BUDGET=${BUDGET:-35ms}

if ! command -v zbarimg >/dev/null 2>&1; then
	bash build/deps.sh scan
fi
bash build/deps.sh image # package scan's C decoders

work=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then
	echo "bench-scan: corpus kept in $work" >&2
else
	trap 'rm -rf "$work"' EXIT
fi

go build -o "$work/corpusgen" ./internal/scan/internal/corpusgen
go build -o "$work/scanbench" ./internal/scan/internal/scanbench

echo "bench-scan: generating corpus (seed $SEED, $PER per family and size, $FAMILIES, $SIZES)" >&2
"$work/corpusgen" -out "$work/corpus" -seed "$SEED" -per "$PER" -sizes "$SIZES" -conds "$FAMILIES"

cpu=()
clock="wall clock"
if [ "${CPUTIME:-0}" = 1 ]; then
	cpu=(-cputime)
	clock="CPU time of the decoding thread"
fi
echo "bench-scan: decoding with the project decoder (budget $BUDGET, $clock) and $(zbarimg --version 2>/dev/null | head -1 | sed 's/^/zbarimg /')" >&2
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown), $(go version | cut -d' ' -f3)"
"$work/scanbench" -dir "$work/corpus" -zbar zbarimg -budget "$BUDGET" "${cpu[@]}" -json "${OUT:-$work/summary.json}"
