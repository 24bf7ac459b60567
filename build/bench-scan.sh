#!/usr/bin/env bash
# bench-scan.sh: the scan decoder against zbar on a synthetic corpus.
#
# Generates a deterministic corpus of camera-like frames of RTC1 codes (13
# condition families × 640x480, 1280x720, 1920x1080; PNG, JPEG for the
# jpeg and mixed families) into a temporary folder, decodes every frame with the
# project's decoder under its real per-frame budget and with
# `zbarimg --quiet --raw`, and prints the decode rate of both per condition
# and overall, and the decoder's median and p95 time per frame by size.
#
# Environment: SEED (corpus seed), PER (frames per condition and size),
# SIZES (comma-separated), BUDGET (per-frame budget, e.g. 35ms),
# OUT (also write the JSON summary there), KEEP=1 (keep the corpus).
set -euo pipefail
cd "$(dirname "$0")/.."

SEED=${SEED:-20261127}
PER=${PER:-10}
SIZES=${SIZES:-640x480,1280x720,1920x1080}
BUDGET=${BUDGET:-35ms}

if ! command -v zbarimg >/dev/null 2>&1; then
	echo "bench-scan: zbarimg missing, installing zbar-tools" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zbar-tools >/dev/null
fi

work=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then
	echo "bench-scan: corpus kept in $work" >&2
else
	trap 'rm -rf "$work"' EXIT
fi

go build -o "$work/corpusgen" ./internal/scan/internal/corpusgen
go build -o "$work/scanbench" ./internal/scan/internal/scanbench

echo "bench-scan: generating corpus (seed $SEED, $PER per condition and size, $SIZES)" >&2
"$work/corpusgen" -out "$work/corpus" -seed "$SEED" -per "$PER" -sizes "$SIZES"

echo "bench-scan: decoding with the project decoder (budget $BUDGET) and $(zbarimg --version 2>/dev/null | head -1 | sed 's/^/zbarimg /')" >&2
echo "machine: $(nproc) cores, $(go version | cut -d' ' -f3)"
"$work/scanbench" -dir "$work/corpus" -zbar zbarimg -budget "$BUDGET" -json "${OUT:-$work/summary.json}"
